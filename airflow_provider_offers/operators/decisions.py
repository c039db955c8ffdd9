"""Operators for what a decision needs around its fallback offer, and for asking for a decision.

`CreatePlacementOperator`, `CreateTagOperator`, `CreateOfferRuleOperator`,
`CreateOfferCollectionOperator` and `CreateDecisionOperator` make sure an Offer Library object
with a given name exists in the sandbox and carries the given fields, exactly like
`CreateFallbackOfferOperator` does for offers (the same `api.reconcile` logic, the same
`if_exists` modes, the same XCom), so a retry, a cleared task or a backfill never creates a
second one. `DecisionRequestOperator` asks the hub Decisioning API which offer a profile gets
and returns the propositions.

Heavy imports (httpx, pydantic, api/) happen inside `execute` so parsing a DAG stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import (
    AdobeCollectionLink,
    AdobeCollectionQualifierLink,
    AdobeDecisionLink,
    AdobeDecisionRuleLink,
    AdobePlacementLink,
)
from airflow_provider_offers.operators._base import (
    CreateByNameOperator,
    OfferLibraryOperator,
    as_json_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.lineage import Touched


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


class CreateTagOperator(CreateByNameOperator):
    """Make sure a collection qualifier (tag) with this name exists.

    :param tag: Adobe's tag JSON (``{"name": ...}``; templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "tags"
    field = "tag"
    template_fields: Sequence[str] = ("tag", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"tag": "json"}
    operator_extra_links = (AdobeCollectionQualifierLink(),)

    def __init__(self, *, tag: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tag = tag


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


class CreateOfferCollectionOperator(CreateByNameOperator):
    """Make sure a collection (offers picked by tag, or listed by id) with this name exists.

    :param collection: Adobe's collection JSON (`name`, `filterType` with `ids` or `labels`;
        templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "offer-collections"
    field = "collection"
    template_fields: Sequence[str] = ("collection", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"collection": "json"}
    operator_extra_links = (AdobeCollectionLink(),)

    def __init__(self, *, collection: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.collection = collection


class CreateDecisionOperator(CreateByNameOperator):
    """Make sure a decision with this name exists: its criteria and its fallback offer.

    `decision` is Adobe's decision JSON (`status`, `fallback`, `criteria[]` with `placements`
    and `optionSelection.filter`), templated, so ids can come from upstream XComs.

    :param decision: Adobe's decision JSON (templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "offer-decisions"
    field = "decision"
    template_fields: Sequence[str] = ("decision", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"decision": "json"}
    operator_extra_links = (AdobeDecisionLink(),)

    def __init__(self, *, decision: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decision = decision


class DecisionRequestOperator(OfferLibraryOperator):
    """Ask the hub Decisioning API which offer one profile gets for a decision and placement.

    The profile is `profile_id` in `identity_namespace` (default ECID), or a whole
    `identity_map` (`{"Email": ["a@example.com"]}`). Asking changes nothing in the Offer
    Library, so a retry is harmless (on Adobe it may count towards frequency caps).

    Returns Adobe's response as JSON (`xdm:propositions`: per placement, the ranked
    `xdm:options`, or the decision's `xdm:fallback` when no personalized offer qualified).

    :param decision_id: the decision (activity) to ask (templated).
    :param placement_id: the placement to fill (templated).
    :param profile_id: the visitor's id in `identity_namespace` (templated); give it or
        `identity_map`.
    :param identity_namespace: the namespace of `profile_id` (default ``ECID``; templated).
    :param identity_map: a whole identity map instead of `profile_id` (templated).
    :param item_count: how many options to return, 1 to 30 (templated).
    :param include_content: return each option's content (its representations).
    :param include_metadata: return each option's metadata.
    :param context_data: XDM context items sent with the request (templated).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    template_fields: Sequence[str] = (
        "decision_id",
        "placement_id",
        "profile_id",
        "identity_namespace",
        "identity_map",
        "item_count",
        "context_data",
        *TASK_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"identity_map": "json", "context_data": "json"}

    def __init__(
        self,
        *,
        decision_id: str,
        placement_id: str,
        profile_id: str | None = None,
        identity_namespace: str = "ECID",
        identity_map: Mapping[str, Any] | None = None,
        item_count: int | str = 1,
        include_content: bool = True,
        include_metadata: bool = False,
        context_data: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.decision_id = decision_id
        self.placement_id = placement_id
        self.profile_id = profile_id
        self.identity_namespace = identity_namespace
        self.identity_map = identity_map
        self.item_count = item_count
        self.include_content = include_content
        self.include_metadata = include_metadata
        self.context_data = context_data

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api.inputs import parse_item_count

        response = self.hook.request_decision(
            self.decision_id,
            self.placement_id,
            profile_id=self.profile_id or None,
            identity_namespace=self.identity_namespace,
            identity_map=as_json_value(self.identity_map, "identity_map") or None,
            item_count=parse_item_count(self.item_count),
            include_content=self.include_content,
            include_metadata=self.include_metadata,
            context_data=as_json_value(self.context_data, "context_data") or None,
        )
        for proposition in response.propositions:
            served = [option.id for option in proposition.served]
            self.log.info(
                "Decision %s, placement %s: %s %s",
                proposition.activity.id,
                proposition.placement.id,
                "fallback offer" if proposition.is_fallback else "offers",
                ", ".join(served) or "(nothing)",
            )
        return response.to_json()

    def _touched(self, result: Any) -> Touched:
        """Read: the decision and the placement asked about (asking writes nothing)."""
        from airflow_provider_offers.lineage import Touched, object_name

        sandbox = self.hook.sandbox_name
        return Touched(
            inputs=(
                object_name(sandbox, "offer-decisions", str(self.decision_id)),
                object_name(sandbox, "placements", str(self.placement_id)),
            )
        )
