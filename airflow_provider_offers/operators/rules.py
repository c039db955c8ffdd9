"""The operator for decision rules: PQL conditions on the profile that offers and decisions name.

`CreateOfferRuleOperator` makes sure a rule with a given name exists in the sandbox and carries
the given fields, exactly like `CreateFallbackOfferOperator` does for offers (the same
`api.reconcile` logic, the same `if_exists` modes, the same XCom), so a retry, a cleared task or
a backfill never creates a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeDecisionRuleLink
from airflow_provider_offers.operators._base import CreateByNameOperator


class CreateOfferRuleOperator(CreateByNameOperator):
    """Make sure a decision rule (a PQL condition on the profile) with this name exists.

    Personalized offers name it in `selectionConstraint.eligibilityRule`; a decision's
    criterion can use it as its `profileConstraint`.

    :param rule: Adobe's rule JSON (`name`, `condition`; templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "offer-rules"
    field = "rule"
    template_fields: Sequence[str] = ("rule", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"rule": "json"}
    operator_extra_links = (AdobeDecisionRuleLink(),)

    def __init__(self, *, rule: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
