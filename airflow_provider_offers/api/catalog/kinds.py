"""The kinds a whole-setup catalog holds, in the order they are applied, and where each one
points at another object (Adobe's references, offer-library-api.md section 2).

No I/O. A reference site is a dot path into an object (`[]` walks a list) and the kind it
names; wherever Adobe takes an id, a catalog may write `{"name": ...}` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_offers.api.resources import (
    FALLBACK_OFFERS,
    OFFER_COLLECTIONS,
    OFFER_DECISIONS,
    OFFER_RULES,
    PERSONALIZED_OFFERS,
    PLACEMENTS,
    RANKING_FORMULAS,
    TAGS,
    Resource,
)

#: The kind a reference site names, or how to tell it from the object holding it.
Target = str | Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class SetupKind:
    """One list of a whole-setup document: its key, its collection, its place in the order."""

    key: str  # the document's key: "placements", "fallback_offers", ...
    resource: Resource
    #: Creates and updates run tier by tier (what others point at first); deletes in reverse.
    tier: int
    references: tuple[tuple[str, Target], ...] = ()
    #: Offers carry the catalog's marker (`characteristics`); the only kind a prune deletes.
    marked: bool = False

    @property
    def noun(self) -> str:
        """One of them, in messages: "placement", "fallback offer", "ranking formula"."""
        return self.key.removesuffix("s").replace("_", " ")


def _collection_target(collection: Mapping[str, Any]) -> str:
    """A collection lists personalized offers (`filterType: offers`) or tags (`any-tags`,
    `all-tags`)."""
    return "personalized_offers" if collection.get("filterType") == "offers" else "tags"


_OFFER_REFERENCES: tuple[tuple[str, Target], ...] = (
    ("representations[].placement", "placements"),
    ("tags[]", "tags"),
    ("selectionConstraint.eligibilityRule", "rules"),
)

KINDS: tuple[SetupKind, ...] = (
    SetupKind("placements", PLACEMENTS, 0),
    SetupKind("tags", TAGS, 0),
    SetupKind("rules", OFFER_RULES, 0),
    SetupKind("ranking_formulas", RANKING_FORMULAS, 0),
    SetupKind("personalized_offers", PERSONALIZED_OFFERS, 1, _OFFER_REFERENCES, marked=True),
    SetupKind("fallback_offers", FALLBACK_OFFERS, 1, _OFFER_REFERENCES, marked=True),
    SetupKind("collections", OFFER_COLLECTIONS, 2, (("ids[]", _collection_target),)),
    SetupKind(
        "decisions",
        OFFER_DECISIONS,
        3,
        (
            ("fallback", "fallback_offers"),
            ("criteria[].placements[]", "placements"),
            ("criteria[].optionSelection.filter", "collections"),
            ("criteria[].profileConstraint.eligibilityRule", "rules"),
            # Inferred (offer-library-api.md section 11): a formula ranks by its id here.
            ("criteria[].rank.order.function", "ranking_formulas"),
        ),
    ),
)
BY_KEY = {kind.key: kind for kind in KINDS}
TIERS = sorted({kind.tier for kind in KINDS})


@dataclass
class Site:
    """One place in an object where Adobe takes another object's id."""

    where: str  # "criteria[0].placements[1]"
    target: str  # the kind it names: "placements"
    holder: Any  # the dict or list holding the value
    slot: str | int

    @property
    def value(self) -> Any:
        return self.holder[self.slot]

    def set(self, value: Any) -> None:
        self.holder[self.slot] = value


def reference_sites(kind: SetupKind, entity: Any) -> Iterator[Site]:
    """Every reference `entity` holds, in table order (`set` writes into `entity`)."""
    if not isinstance(entity, Mapping):
        return
    for path, target in kind.references:
        target_key = target if isinstance(target, str) else target(entity)
        yield from _walk(entity, path.split("."), "", target_key)


def _walk(node: Any, steps: list[str], where: str, target: str) -> Iterator[Site]:
    step, rest = steps[0], steps[1:]
    name = step.removesuffix("[]")
    if not isinstance(node, Mapping) or name not in node:
        return
    path = f"{where}.{name}" if where else name
    if step.endswith("[]"):
        items = node[name] if isinstance(node[name], list) else []
        for index in range(len(items)):
            yield from _step(items, index, rest, f"{path}[{index}]", target)
    else:
        yield from _step(node, name, rest, path, target)


def _step(holder: Any, slot: str | int, rest: list[str], where: str, target: str) -> Iterator[Site]:
    if rest:
        yield from _walk(holder[slot], rest, where, target)
    else:
        yield Site(where, target, holder, slot)


def name_of_reference(value: Any) -> str | None:
    """N for a reference by name `{"name": N}`; None for anything else (an id)."""
    if isinstance(value, Mapping) and list(value) == ["name"] and isinstance(value["name"], str):
        return value["name"]
    return None
