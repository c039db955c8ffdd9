"""The Offer Library's collections: where each kind of object lives and which model reads it.

A `Resource` is generic in its model, so `client.get(PLACEMENTS, id)` is typed `Placement`;
callers that hold a kind name ("placements") get it back with `resolve_resource`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import OfferType, parse_offer_type
from airflow_provider_offers.api.models import (
    SERVER_FIELDS,
    FallbackOffer,
    OfferCollection,
    OfferDecision,
    OfferRule,
    PersonalizedOffer,
    Placement,
    RankingFormula,
    Tag,
    _Entity,
    _input_names,
    _Offer,
)

__all__ = [
    "FALLBACK_OFFERS",
    "OFFER_COLLECTIONS",
    "OFFER_DECISIONS",
    "OFFER_RULES",
    "PERSONALIZED_OFFERS",
    "PLACEMENTS",
    "RANKING_FORMULAS",
    "RESOURCES",
    "TAGS",
    "EntityT",
    "Resource",
    "offer_resource",
    "resolve_resource",
]

#: The model a resource reads; a kind given by name reads as the common base.
EntityT = TypeVar("EntityT", bound=_Entity, default=_Entity)
_ModelT_co = TypeVar("_ModelT_co", bound=_Entity, default=_Entity, covariant=True)


@dataclass(frozen=True)
class Resource(Generic[_ModelT_co]):
    """An Offer Library collection: its path under the DPS base and its model."""

    kind: str
    path: str
    model: type[_ModelT_co]
    noun: str  # what one of them is called in messages: "offer", "placement", "decision", ...
    offer_type: str | None = None
    #: Updated with `PUT` of the whole object (Adobe's ranking formulas), not JSON Patch.
    replaced_on_update: bool = False

    @property
    def params(self) -> list[tuple[str, str]]:
        return [("offer-type", self.offer_type)] if self.offer_type else []

    def sendable(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The members of `data` (the server's JSON) that a create or `PUT` may carry: the
        model's own, none the server assigns or keeps for itself (`_experience`, ...)."""
        names = _input_names(self.model) - SERVER_FIELDS
        return {key: value for key, value in data.items() if key in names}


FALLBACK_OFFERS = Resource("fallback-offers", "/offers", FallbackOffer, "offer", "fallback")
PERSONALIZED_OFFERS = Resource(
    "personalized-offers", "/offers", PersonalizedOffer, "offer", "personalized"
)
PLACEMENTS = Resource("placements", "/placements", Placement, "placement")
TAGS = Resource("tags", "/tags", Tag, "tag")
OFFER_RULES = Resource("offer-rules", "/offer-rules", OfferRule, "offer_rule")
RANKING_FORMULAS = Resource(
    "ranking-formulas",
    "/ranking-formulas",
    RankingFormula,
    "ranking_formula",
    replaced_on_update=True,
)
OFFER_COLLECTIONS = Resource(
    "offer-collections", "/offer-collections", OfferCollection, "offer_collection"
)
OFFER_DECISIONS = Resource("offer-decisions", "/offer-decisions", OfferDecision, "decision")
RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        FALLBACK_OFFERS,
        PERSONALIZED_OFFERS,
        PLACEMENTS,
        TAGS,
        OFFER_RULES,
        RANKING_FORMULAS,
        OFFER_COLLECTIONS,
        OFFER_DECISIONS,
    )
}


def resolve_resource(resource: Resource[EntityT] | str) -> Resource[EntityT]:
    """A `Resource`, or its kind name ("placements", "fallback-offers", ...)."""
    if isinstance(resource, Resource):
        return resource
    try:
        return cast("Resource[EntityT]", RESOURCES[resource])
    except (KeyError, TypeError):
        raise InvalidInputError("resource", f"expected one of {sorted(RESOURCES)}") from None


def offer_resource(offer_type: str) -> Resource[_Offer]:
    """FALLBACK_OFFERS or PERSONALIZED_OFFERS for `offer_type` (the rule: `inputs.OfferType`)."""
    if parse_offer_type(offer_type) is OfferType.FALLBACK:
        return FALLBACK_OFFERS
    return PERSONALIZED_OFFERS
