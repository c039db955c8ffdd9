"""The operators for decisions: making one, and asking one which offer a profile gets.

`CreateDecisionOperator` makes sure a decision with a given name exists in the sandbox and
carries the given fields, exactly like `CreateFallbackOfferOperator` does for offers (the same
`api.reconcile` logic, the same `if_exists` modes, the same XCom), so a retry, a cleared task or
a backfill never creates a second one. `DecisionRequestOperator` asks the hub Decisioning API
which offer a profile gets and returns the propositions.

What a decision is made of has its own modules: `operators.placements`, `operators.rules`,
`operators.collections` (collections and tags). Their operators used to live here; the old
import path still works, with a `DeprecationWarning`.

Heavy imports (httpx, pydantic, api/) happen inside `execute` so parsing a DAG stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeDecisionLink
from airflow_provider_offers.operators._base import (
    CreateByNameOperator,
    OfferLibraryOperator,
    as_json_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.lineage import Touched


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


#: Moved to their own modules; `from operators.decisions import ...` still finds them.
_MOVED = {
    "CreatePlacementOperator": "placements",
    "CreateOfferRuleOperator": "rules",
    "CreateTagOperator": "collections",
    "CreateOfferCollectionOperator": "collections",
}


def __getattr__(name: str) -> Any:
    """The old import path of the operators that moved out (`_MOVED`), with a warning."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new = f"airflow_provider_offers.operators.{_MOVED[name]}"
    warnings.warn(
        f"{name} moved to {new}; import it from there (this import path is deprecated)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(new), name)
