"""The operator for placements: the channel + content-type slots a decision fills.

`CreatePlacementOperator` makes sure a placement with a given name exists in the sandbox and
carries the given fields, exactly like `CreateFallbackOfferOperator` does for offers (the same
`api.reconcile` logic, the same `if_exists` modes, the same XCom), so a retry, a cleared task or
a backfill never creates a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobePlacementLink
from airflow_provider_offers.operators._base import CreateByNameOperator


class CreatePlacementOperator(CreateByNameOperator):
    """Make sure a placement (a channel + content-type slot) with this name exists.

    :param placement: Adobe's placement JSON (a dict or `api.models.Placement`; templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "placements"
    field = "placement"
    template_fields: Sequence[str] = ("placement", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"placement": "json"}
    operator_extra_links = (AdobePlacementLink(),)

    def __init__(self, *, placement: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placement = placement
