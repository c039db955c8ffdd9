"""The Offer Library's object kinds: where each lives, its schema, its fields, its references.

The field lists repeat what `api/models.py` knows on purpose: the emulator is a second,
independent reading of Adobe's documentation (design.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import problem

NS = "https://ns.adobe.com/experience/offer-management"

#: Fields the server owns; a client can neither send them on create nor patch them.
SERVER_FIELDS = ("id", "etag", "created", "modified", "schemas", "createdBy", "lastModifiedBy")


@dataclass(frozen=True)
class Kind:
    """One kind of Offer Library object: where it lives and what it looks like."""

    name: str  # e.g. "fallback-offer"
    label: str  # for messages: "fallback offer"
    resource: str  # path segment under /data/core/dps
    id_kind: str  # `dps:<id_kind>:<hex>`
    schema: str
    fields: tuple[str, ...]


_OFFER_FIELDS = (
    "name",
    "description",
    "status",
    "representations",
    "selectionConstraint",
    "rank",
    "tags",
    "characteristics",
    "labels",
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "fallback-offer",
            "fallback offer",
            "offers",
            "fallback-offer",
            f"{NS}/fallback-offer;version=0.8",
            _OFFER_FIELDS,
        ),
        Kind(
            "personalized-offer",
            "personalized offer",
            "offers",
            "personalized-offer",
            f"{NS}/personalized-offer;version=0.15",
            (*_OFFER_FIELDS, "cappingConstraint", "frequencyCappingConstraints"),
        ),
        Kind(
            "placement",
            "placement",
            "placements",
            "offer-placement",
            f"{NS}/offer-placement;version=0.5",
            (
                "name",
                "description",
                "componentType",
                "channel",
                "itemCount",
                "allowDuplicatePlacements",
                "returnContent",
                "returnMetaData",
            ),
        ),
        Kind("tag", "tag", "tags", "tag", f"{NS}/tag;version=0.1", ("name", "description")),
        Kind(
            "offer-rule",
            "decision rule",
            "offer-rules",
            "eligibility-rule",
            f"{NS}/eligibility-rule;version=0.3",
            # `exdRule`: true for Experience Decisioning's rules, which share this endpoint.
            ("name", "description", "condition", "definedOn", "exdRule"),
        ),
        Kind(
            "offer-collection",
            "collection",
            "offer-collections",
            "offer-filter",
            f"{NS}/offer-filter;version=0.4",
            ("name", "description", "filterType", "ids", "labels"),
        ),
        Kind(
            # Experience Decisioning's formulas (`exdFunction: true`); Decision Management
            # documents none of its own. Created, listed, read, patched, replaced (PUT), deleted.
            "ranking-formula",
            "ranking formula",
            "ranking-formulas",
            "ranking-function",
            f"{NS}/ranking-function;version=0.3",
            (
                "name",
                "description",
                "exdFunction",
                "isPure",
                "returnType",
                "expression",
                "definedOn",
            ),
        ),
        Kind(
            "offer-decision",
            "decision",
            "offer-decisions",
            "offer-activity",
            f"{NS}/offer-activity;version=0.8",
            ("name", "description", "status", "startDate", "endDate", "fallback", "criteria"),
        ),
    )
}

OFFER_TYPES = {"fallback": "fallback-offer", "personalized": "personalized-offer"}


def _collection_target(entity: Mapping[str, Any]) -> str:
    return "tag" if entity.get("filterType") == "any-tags" else "personalized-offer"


_OFFER_REFERENCES = (
    ("representations[].placement", "placement"),
    ("tags[]", "tag"),
    ("selectionConstraint.eligibilityRule", "offer-rule"),
)
#: Where each kind points at other objects: a dot path (`[]` walks a list) and the kind it
#: names (a function of the entity where that depends on it). The validator checks every one
#: exists in the sandbox; `references()` reads the same table for referential integrity.
REFERENCES: dict[str, tuple[tuple[str, str | Callable[[Mapping[str, Any]], str]], ...]] = {
    "fallback-offer": _OFFER_REFERENCES,
    "personalized-offer": _OFFER_REFERENCES,
    "offer-collection": (("ids[]", _collection_target),),
    "offer-decision": (
        ("fallback", "fallback-offer"),
        ("criteria[].placements[]", "placement"),
        ("criteria[].optionSelection.filter", "offer-collection"),
        ("criteria[].profileConstraint.eligibilityRule", "offer-rule"),
    ),
}


def _walk(value: Any, steps: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not steps:
        yield where, value
        return
    step, rest = steps[0], steps[1:]
    name = step.removesuffix("[]")
    if not isinstance(value, Mapping) or name not in value:
        return
    path = f"{where}.{name}" if where else name
    if step.endswith("[]"):
        items = value[name] if isinstance(value[name], list) else []
        for i, item in enumerate(items):
            yield from _walk(item, rest, f"{path}[{i}]")
    else:
        yield from _walk(value[name], rest, path)


def reference_sites(kind: str, entity: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(where, kind pointed at, id) for every reference the entity holds, in table order."""
    for path, target in REFERENCES.get(kind, ()):
        target_kind = target if isinstance(target, str) else target(entity)
        for where, ident in _walk(entity, path.split("."), ""):
            yield where, target_kind, ident


def references(kind: str, entity: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, id) pairs an entity points at; used for referential integrity on delete."""
    return [(target, ident) for _, target, ident in reference_sites(kind, entity)]


def kind_for(resource: str, offer_type: str | None) -> Kind:
    """The kind a path segment (and, for /offers, the `offer-type` parameter) names."""
    if resource == "offers":
        if offer_type is None:
            raise problem(400, "Query parameter 'offer-type' is required on /offers")
        name = OFFER_TYPES.get(offer_type.lower())
        if name is None:
            raise problem(
                400,
                f"Query parameter 'offer-type' must be 'fallback' or 'personalized', "
                f"not {offer_type!r}",
            )
        return KINDS[name]
    for kind in KINDS.values():
        if kind.resource == resource:
            return kind
    raise problem(404, f"Unknown resource '/{resource}'", code=1004)
