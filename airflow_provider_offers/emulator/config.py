"""Emulator settings: every choice made where Adobe's documentation is silent is a field here.

Where Adobe's pages show several forms of one answer, each form is a field too (an answer
style); `ANSWER_STYLES` names the two sets the test suites run under. docs/emulator.md says
which page shows which form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

DEFAULT_CLIENT_ID = "offers-emulator-client"
DEFAULT_CLIENT_SECRET = "offers-emulator-secret"
DEFAULT_ORG_ID = "EMULATOR0000000000000000@AdobeOrg"
DEFAULT_SCOPES = frozenset(
    {
        "openid",
        "AdobeID",
        "read_organizations",
        "additional_info.projectedProductContext",
        "additional_info.roles",
        "session",
    }
)
NEXT_LINK_FORMS = ("relative", "path", "absolute")
#: Adobe's Decision Management guardrails on writes ("Decision management guardrails &
#: limitations": AdobeDocs/journey-optimizer.en help/using/offers/
#: decision-management-guardrails.md, commit 04e844c8e97afb70ac2884c95ef2ab0e81319f9f), by
#: the names `EmulatorConfig.guardrails` takes; `models/guardrails.py` enforces them.
ADOBE_GUARDRAILS = {
    # per object
    "placements_per_decision": 30,
    "collections_per_decision": 30,
    "offers_per_collection": 500,
    "qualifiers_per_offer_or_collection": 20,
    "capping_rules_per_offer": 10,
    "rule_pql_bytes": 15_000,  # "15K (UTF-8)"
    "ranking_formula_pql_bytes": 8_000,  # "8K (UTF-8)"
    # per sandbox
    "offers": 10_000,
    "decisions": 10_000,
    "live_decisions": 1_000,
    "placements": 1_000,
    "collections": 10_000,
    "collection_qualifiers": 1_000,
    "rules_and_ranking_formulas": 10_000,
}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves; docs/emulator.md gives the why of each field."""

    client_id: str = DEFAULT_CLIENT_ID
    #: Several secrets may be valid at once (Adobe allows two, for rotation).
    client_secrets: tuple[str, ...] = (DEFAULT_CLIENT_SECRET,)
    org_id: str = DEFAULT_ORG_ID
    token_lifetime_seconds: int = 86399
    allowed_scopes: frozenset[str] = DEFAULT_SCOPES
    #: Adobe accepts IMS parameters in the query string but advises against it; we refuse.
    reject_query_credentials: bool = True
    default_sandbox: str = "prod"
    list_default_limit: int = 20
    #: Adobe documents no maximum `limit`; a number here refuses larger ones (400).
    list_max_limit: int | None = None
    offer_statuses: tuple[str, ...] = ("draft", "approved", "archived")
    decision_statuses: tuple[str, ...] = ("draft", "live", "completed", "archived")
    component_types: tuple[str, ...] = ("imagelink", "html", "text", "component-text", "json")
    reject_unknown_fields: bool = True
    reject_unknown_query_params: bool = True
    #: `~` filters must match the whole value (Java `String.matches`), not a substring.
    regex_full_match: bool = True
    #: The "fallback covers placements" UI rule (Journey Optimizer's decision editor, not the
    #: API): a decision's fallback offer needs a representation for every placement of the
    #: decision. Off: the API pages' own decision example (two placements, a fallback with one
    #: representation) is accepted; docs/emulator.md lists the pages.
    ui_rule_fallback_covers_placements: bool = False
    #: Refuse to delete an object another object still references (409). Off: Adobe is silent.
    referential_integrity_on_delete: bool = False
    #: Decisioning API: `x-request-id` must be present.
    require_request_id: bool = True
    #: Decisioning API: `Accept` must name the decision-response XDM media type.
    require_xdm_accept: bool = True
    #: Decisioning API: content fields only when `xdm:responseFormat.xdm:includeContent` is true.
    include_content_by_default: bool = False
    max_item_count: int = 30
    #: Adobe's guardrails (`ADOBE_GUARDRAILS`); the names given replace Adobe's values, the
    #: others keep them: `guardrails={"placements_per_decision": 2}` for a test.
    guardrails: dict[str, int] = field(default_factory=lambda: dict(ADOBE_GUARDRAILS))
    #: Every create/patch in a sandbox gets a `modified` later than the one before it.
    strictly_increasing_timestamps: bool = True
    #: Seconds added before every API and IMS answer, to stand in for the network (benchmarks).
    latency_seconds: float = 0.0
    #: Random faults: the share of API requests (IMS excluded) that get each named fault kind
    #: (`faults.FAULT_KINDS`), e.g. `{"unavailable": 0.05, "dropped_after_commit": 0.02}`.
    fault_rates: dict[str, float] = field(default_factory=dict)
    #: Seed of the random faults' draws: one seed, one sequence of faults for one sequence of
    #: requests. None: a fresh seed (see `EmulatorServer.fault_seed`).
    fault_seed: int | None = None
    #: How long the `slow_before_commit` / `slow_after_commit` faults hold a request.
    slow_seconds: float = 2.0
    #: Batch decisioning (`workloads.py`): seconds a workload spends QUEUED once it has one of
    #: its dataset's slots, then PROCESSING, then INGESTING (zeros: done at the next read).
    workload_step_seconds: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: What a workload started from now on ends in: COMPLETED, ERROR, or stuck (PROCESSING).
    workload_outcome: str = "COMPLETED"
    workload_error_detail: str = "Injected error: the decision workload failed"
    #: Adobe: "up to five batch jobs can be run at a time, per dataset"; more are queued, or
    #: (`workload_limit_answer="429"`) refused with a 429 and `workload_limit_retry_after`.
    workload_dataset_limit: int = 5
    workload_limit_answer: str = "queue"
    workload_limit_retry_after: float = 1.0
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    # -- answer styles: the forms Adobe's pages disagree on ------------------------------
    #: HTTP status of a successful create (undocumented; 201 or 200).
    create_status: int = 201
    #: Representations' `created`/`modified` and stored date members (offer and decision
    #: `startDate`/`endDate`) as `2022-06-10T00:30:00.000+00:00`; off: server stamps end in
    #: `Z` and date members are kept exactly as sent.
    normalise_dates: bool = False
    #: `_links` hrefs: `relative` to the DPS base (`/offers?...`), the full `path`
    #: (`/data/core/dps/offers?...`) or `absolute` on the server's own host.
    next_link_form: str = "relative"
    #: Representations carry members no client knows (`repo:createdDate`, `_experience`, ...)
    #: and update receipts a `datasetId`.
    extra_members: bool = False
    #: `"etag": "3"` instead of `"etag": 3` in representations and receipts.
    string_etags: bool = False
    #: List links' `start` is Adobe's form, the sort value of the last object shown
    #: (`start=2024-10-18T22:22:35.048Z`, `~<id>` added on a tie), instead of the emulator's
    #: own cursor. Both forms are accepted back in every style.
    start_as_sort_value: bool = False
    #: Decisioning answers name objects `dps:activity:`, `dps:placement:`,
    #: `dps:personalized-option:`, `dps:fallback:` (the hex part unchanged).
    documented_decisioning_prefixes: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.client_secrets, str):
            object.__setattr__(self, "client_secrets", (self.client_secrets,))
        else:
            object.__setattr__(self, "client_secrets", tuple(self.client_secrets))
        if not self.client_secrets:
            raise ValueError("client_secrets: at least one secret is required")
        object.__setattr__(self, "allowed_scopes", frozenset(self.allowed_scopes))
        for name in ("offer_statuses", "decision_statuses", "component_types"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.next_link_form not in NEXT_LINK_FORMS:
            raise ValueError(f"next_link_form: one of {', '.join(NEXT_LINK_FORMS)}")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds: zero or more")
        object.__setattr__(self, "fault_rates", _fault_rates(self.fault_rates))
        object.__setattr__(self, "guardrails", _guardrails(self.guardrails))
        if self.slow_seconds < 0:
            raise ValueError("slow_seconds: zero or more")
        if self.create_status not in (200, 201):
            raise ValueError("create_status: 200 or 201")
        from .models.workloads import check_config

        check_config(self)

    @classmethod
    def from_options(cls, *, answer_style: str | None = None, **changes: Any) -> EmulatorConfig:
        """`EmulatorConfig(**changes)` on top of a named answer style (`strict` by default)."""
        return cls().with_changes(answer_style=answer_style, **changes)

    @classmethod
    def as_adobe_examples(cls, **changes: Any) -> EmulatorConfig:
        """Every answer style in the form Adobe's examples show."""
        return cls.from_options(answer_style="adobe-examples", **changes)

    @property
    def client_secret(self) -> str:
        return self.client_secrets[0]

    @property
    def answer_style(self) -> str:
        """The named style whose forms this config answers in, or `custom`."""
        for name, style in ANSWER_STYLES.items():
            if all(getattr(self, key) == value for key, value in style.items()):
                return name
        return "custom"

    def with_changes(self, *, answer_style: str | None = None, **changes: Any) -> EmulatorConfig:
        """A copy with `changes`; `answer_style` first sets every style field to that style."""
        if answer_style is not None:
            if answer_style not in ANSWER_STYLES:
                raise ValueError(f"answer_style: one of {', '.join(ANSWER_STYLES)}")
            changes = {**ANSWER_STYLES[answer_style], **changes}
        return replace(self, **changes)


def _fault_rates(rates: Any) -> dict[str, float]:
    from .faults import FAULT_KINDS

    if not isinstance(rates, dict):
        raise ValueError("fault_rates: a mapping of fault kind to rate")
    checked = {}
    for kind, rate in rates.items():
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault_rates: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"fault_rates.{kind}: a rate between 0 and 1")
        checked[kind] = float(rate)
    if sum(checked.values()) > 1:
        raise ValueError("fault_rates: the rates add up to more than 1")
    return checked


def _guardrails(limits: Any) -> dict[str, int]:
    if not isinstance(limits, dict):
        raise ValueError("guardrails: a mapping of guardrail name to limit")
    for name, limit in limits.items():
        if name not in ADOBE_GUARDRAILS:
            raise ValueError(f"guardrails: {name!r} is not one of {', '.join(ADOBE_GUARDRAILS)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"guardrails.{name}: a whole number, 0 or more")
    return {**ADOBE_GUARDRAILS, **limits}


#: The style fields' strict (default) values.
STRICT_STYLE: dict[str, Any] = {
    f.name: f.default
    for f in fields(EmulatorConfig)
    if f.name
    in (
        "create_status",
        "normalise_dates",
        "next_link_form",
        "extra_members",
        "string_etags",
        "start_as_sort_value",
        "documented_decisioning_prefixes",
    )
}

#: Named sets of answer styles: the strict default, and every form as Adobe's examples show it.
ANSWER_STYLES: dict[str, dict[str, Any]] = {
    "strict": STRICT_STYLE,
    "adobe-examples": {
        "create_status": 200,
        "normalise_dates": True,
        "next_link_form": "absolute",
        "extra_members": True,
        "string_etags": True,
        "start_as_sort_value": True,
        "documented_decisioning_prefixes": True,
    },
}
