"""Emulator settings: every choice made where Adobe's documentation is silent is a field here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves; see the table in the package docstring for the why."""

    client_id: str = DEFAULT_CLIENT_ID
    #: Several secrets may be valid at once (Adobe allows two, for rotation).
    client_secrets: tuple[str, ...] = (DEFAULT_CLIENT_SECRET,)
    org_id: str = DEFAULT_ORG_ID
    token_lifetime_seconds: int = 86399
    allowed_scopes: frozenset[str] = DEFAULT_SCOPES
    #: Adobe accepts IMS parameters in the query string but advises against it; we refuse.
    reject_query_credentials: bool = True
    default_sandbox: str = "prod"
    create_status: int = 201
    list_default_limit: int = 20
    list_max_limit: int = 100
    offer_statuses: tuple[str, ...] = ("draft", "approved", "archived")
    decision_statuses: tuple[str, ...] = ("draft", "live", "completed", "archived")
    component_types: tuple[str, ...] = ("imagelink", "html", "text", "component-text", "json")
    reject_unknown_fields: bool = True
    reject_unknown_query_params: bool = True
    #: `~` filters must match the whole value (Java `String.matches`), not a substring.
    regex_full_match: bool = True
    #: Adobe's UI: the fallback offer needs a representation for every placement of the decision.
    fallback_must_cover_decision_placements: bool = True
    #: Refuse to delete an object another object still references (409). Off: Adobe is silent.
    referential_integrity_on_delete: bool = False
    #: Decisioning API: `x-request-id` must be present.
    require_request_id: bool = True
    #: Decisioning API: `Accept` must name the decision-response XDM media type.
    require_xdm_accept: bool = True
    #: Decisioning API: content fields only when `xdm:responseFormat.xdm:includeContent` is true.
    include_content_by_default: bool = False
    max_item_count: int = 30
    #: Every create/patch in a sandbox gets a `modified` later than the one before it.
    strictly_increasing_timestamps: bool = True
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.client_secrets, str):
            object.__setattr__(self, "client_secrets", (self.client_secrets,))
        else:
            object.__setattr__(self, "client_secrets", tuple(self.client_secrets))
        if not self.client_secrets:
            raise ValueError("client_secrets: at least one secret is required")
        object.__setattr__(self, "allowed_scopes", frozenset(self.allowed_scopes))

    @property
    def client_secret(self) -> str:
        return self.client_secrets[0]

    def with_changes(self, **changes) -> EmulatorConfig:
        return replace(self, **changes)
