"""Adobe's Decision Management guardrails, enforced on every write (the emulator's own reading).

Source: "Decision management guardrails & limitations", `AdobeDocs/journey-optimizer.en`
`help/using/offers/decision-management-guardrails.md` at commit
04e844c8e97afb70ac2884c95ef2ab0e81319f9f. The limits are `EmulatorConfig.guardrails` (Adobe's
values unless a test sets smaller ones, `config.ADOBE_GUARDRAILS`). A write past one is the
kind's validation problem (400 on create, 422 on patch) naming the member, the count and the
limit; per-sandbox totals refuse only a write that adds one more object to the count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ..config import EmulatorConfig
    from .store import Record

Entity = Mapping[str, Any]
#: (where, how many, the guardrail's name in `EmulatorConfig.guardrails`, what is counted)
Count = tuple[str, int, str, str]


def _offer(body: Entity) -> Iterator[Count]:
    yield "tags", len(body.get("tags", [])), "qualifiers_per_offer_or_collection", "tags"
    caps = body.get("frequencyCappingConstraints")  # a list where the kind has the member
    if isinstance(caps, list):
        yield "frequencyCappingConstraints", len(caps), "capping_rules_per_offer", "capping rules"


def _collection(body: Entity) -> Iterator[Count]:
    if body["filterType"] == "offers":
        yield "ids", len(body["ids"]), "offers_per_collection", "offers"
    else:  # the ids are tags: collection qualifiers
        yield "ids", len(body["ids"]), "qualifiers_per_offer_or_collection", "tags"


def _decision(body: Entity) -> Iterator[Count]:
    placements = {p for c in body["criteria"] for p in c["placements"]}
    collections = {c["optionSelection"]["filter"] for c in body["criteria"]}
    yield "criteria", len(placements), "placements_per_decision", "distinct placements"
    yield "criteria", len(collections), "collections_per_decision", "distinct collections"


def _pql(member: str, guardrail: str) -> Callable[[Entity], Iterator[Count]]:
    def count(body: Entity) -> Iterator[Count]:
        size = len(body[member]["value"].encode("utf-8"))
        yield f"{member}.value", size, guardrail, "bytes of PQL"

    return count


#: Each kind's per-object counts, read from a body whose shape is already valid.
PER_OBJECT: dict[str, Callable[[Entity], Iterator[Count]]] = {
    "fallback-offer": _offer,
    "personalized-offer": _offer,
    "offer-collection": _collection,
    "offer-decision": _decision,
    "offer-rule": _pql("condition", "rule_pql_bytes"),
    "ranking-formula": _pql("expression", "ranking_formula_pql_bytes"),
}


def _every(entity: Entity) -> bool:
    return True


def _live(entity: Entity) -> bool:
    return entity.get("status") == "live"


#: Per-sandbox totals: (guardrail, the kinds counted together, which of them count, noun).
TOTALS: tuple[tuple[str, tuple[str, ...], Callable[[Entity], bool], str], ...] = (
    ("offers", ("fallback-offer", "personalized-offer"), _every, "offers"),
    ("decisions", ("offer-decision",), _every, "decisions"),
    ("live_decisions", ("offer-decision",), _live, "live decisions"),
    ("placements", ("placement",), _every, "placements"),
    ("collections", ("offer-collection",), _every, "collections"),
    ("collection_qualifiers", ("tag",), _every, "collection qualifiers (tags)"),
    ("rules_and_ranking_formulas", ("offer-rule", "ranking-formula"), _every, "rules and formulas"),
)


def check_object(
    config: EmulatorConfig, kind: str, body: Entity, fail: Callable[[str, str], NoReturn]
) -> None:
    """Refuse a body over one of its kind's per-object guardrails."""
    counter = PER_OBJECT.get(kind)
    for where, count, guardrail, counted in counter(body) if counter else ():
        limit = config.guardrails[guardrail]
        if count > limit:
            fail(where, f"{count} {counted}; at most {limit} (Adobe's guardrail {guardrail})")


def check_totals(
    config: EmulatorConfig,
    records: Mapping[str, Mapping[str, Record]],
    kind: str,
    body: Entity,
    before: Entity | None,
    fail: Callable[[str, str], NoReturn],
) -> None:
    """Refuse a create (`before` None) or patch (`before`: the stored entity) that would add
    one object to a per-sandbox total already at its limit."""
    for guardrail, kinds, counts, noun in TOTALS:
        if kind not in kinds or not counts(body) or (before is not None and counts(before)):
            continue
        held = sum(1 for k in kinds for record in records[k].values() if counts(record.entity))
        limit = config.guardrails[guardrail]
        if held >= limit:
            where = "status" if counts is _live else "body"
            fail(
                where,
                f"the sandbox holds {held} {noun}; at most {limit} (Adobe's guardrail {guardrail})",
            )
