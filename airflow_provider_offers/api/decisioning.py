"""pydantic models of the hub Decisioning API's answer (offer-library-api.md 16.1).

Decisioning bodies use `xdm:`/`repo:`/`dc:` prefixed keys; attributes drop the prefix. Read
only: what we send is built by `calls.Calls.decision`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DecisionOption", "DecisionRef", "DecisionResponse", "Proposition"]


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
