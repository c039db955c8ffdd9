"""pydantic models of the hub Decisioning API's request and answer (offer-library-api.md 16.1).

Decisioning bodies use `xdm:`/`repo:`/`dc:` prefixed keys; attributes drop the prefix. The
request models restate Adobe's schema (`decision-request-v1.0` in AdobeDocs/journey-optimizer-
apis, static/decision-management.yaml): its closed objects forbid extra members, so a body
`calls.Calls.decision` builds is checked before it is sent. The answer models read leniently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DecisionOption",
    "DecisionRef",
    "DecisionRequest",
    "DecisionResponse",
    "Proposition",
]

#: Adobe's schema: at most 30 proposition requests per decision request, 1-30 items each.
MAX_PROPOSITION_REQUESTS = 30


class _Closed(BaseModel):
    """A schema object with `additionalProperties: false`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class ContextItem(BaseModel):
    """`xdm:contextData` item: `@type` and `xdm:data` required, other members allowed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)
    type: Annotated[str, Field(alias="@type", min_length=1)]
    data: dict[str, Any] = Field(alias="xdm:data")


class ProfileReference(_Closed):
    identityMap: dict[str, Any] = Field(alias="xdm:identityMap")
    contextData: list[ContextItem] | None = Field(default=None, alias="xdm:contextData")
    decisionRequestId: str | None = Field(default=None, alias="xdm:decisionRequestId")


class PropositionRequest(_Closed):
    activityId: str = Field(alias="xdm:activityId")
    placementId: str = Field(alias="xdm:placementId")
    itemCount: Annotated[int | None, Field(alias="xdm:itemCount", ge=1, le=30)] = None


class IncludeMetadata(_Closed):
    activity: list[Literal["name"]] | None = Field(default=None, alias="xdm:activity")
    placement: list[Literal["name", "channel", "componentType"]] | None = Field(
        default=None, alias="xdm:placement"
    )
    option: list[Literal["name", "characteristics", "priority"]] | None = Field(
        default=None, alias="xdm:option"
    )


class ResponseFormat(_Closed):
    includeContent: bool | None = Field(default=None, alias="xdm:includeContent")
    includeMetadata: IncludeMetadata | None = Field(default=None, alias="xdm:includeMetadata")


class DecisionRequest(_Closed):
    """The members we send (the schema's top level is open; ours is not)."""

    propositionRequests: Annotated[
        list[PropositionRequest],
        Field(alias="xdm:propositionRequests", min_length=1, max_length=MAX_PROPOSITION_REQUESTS),
    ]
    profiles: Annotated[
        list[ProfileReference], Field(alias="xdm:profiles", min_length=1, max_length=1)
    ]
    responseFormat: ResponseFormat | None = Field(default=None, alias="xdm:responseFormat")

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class XdmModel(BaseModel):
    """Decisioning bodies use `xdm:`/`repo:`/`dc:` prefixed keys; attributes drop the prefix."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class DecisionRef(XdmModel):
    id: str = Field(alias="xdm:id")
    etag: int | str | None = Field(default=None, alias="repo:etag")
    name: str | None = Field(default=None, alias="xdm:name")


class DecisionOption(DecisionRef):
    """An offer served for a placement (a personalized option or the fallback)."""

    type: str | None = Field(default=None, alias="@type")
    content: str | None = Field(default=None, alias="xdm:content")
    deliveryURL: str | None = Field(default=None, alias="xdm:deliveryURL")
    format: str | None = Field(default=None, alias="dc:format")
    language: list[str] | str | None = Field(default=None, alias="dc:language")
    score: float | None = Field(default=None, alias="xdm:score")
    priority: float | None = Field(default=None, alias="xdm:priority")
    characteristics: dict[str, Any] | None = Field(default=None, alias="xdm:characteristics")


class Proposition(XdmModel):
    """The answer for one (decision, placement): ranked options, or else the fallback."""

    activity: DecisionRef = Field(alias="xdm:activity")
    placement: DecisionRef = Field(alias="xdm:placement")
    options: list[DecisionOption] = Field(default_factory=list, alias="xdm:options")
    fallback: DecisionOption | None = Field(default=None, alias="xdm:fallback")

    @property
    def is_fallback(self) -> bool:
        return not self.options and self.fallback is not None

    @property
    def served(self) -> list[DecisionOption]:
        """What the profile gets: the options, or the fallback when none qualified."""
        return list(self.options) or ([self.fallback] if self.fallback else [])


class DecisionResponse(XdmModel):
    propositionId: str | None = Field(default=None, alias="xdm:propositionId")
    propositions: list[Proposition] = Field(default_factory=list, alias="xdm:propositions")
    createDate: int | None = Field(default=None, alias="ode:createDate")  # epoch milliseconds

    def to_json(self) -> dict[str, Any]:
        """Adobe's XDM JSON again (for XCom)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
