"""Adobe's Decision Management guardrails that a write can break, and the checks for them.

One table (`Guardrails`, Adobe's values in `ADOBE`) transcribed from Adobe's page
"Decision management guardrails & limitations" (`PAGE`; source
`AdobeDocs/journey-optimizer.en` `help/using/offers/decision-management-guardrails.md`,
commit 04e844c8e97afb70ac2884c95ef2ab0e81319f9f). The input rules (`models.parse_input`) check
the limits of one object before any request; the catalog plan checks the per-sandbox total of
offers before its first write (`api.catalog.plan`). Every refusal names the page.

"15K (UTF-8)" is read as 15,000 bytes of UTF-8, the stricter of its two readings (15,360).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from airflow_provider_offers.api.errors import InvalidInputError

__all__ = ["ADOBE", "PAGE", "Guardrail", "Guardrails", "check_body", "sandbox_total_problem"]

PAGE = (
    "https://experienceleague.adobe.com/en/docs/journey-optimizer/using/decisioning/"
    "offer-decisioning/get-started-decision/decision-management-guardrails"
)


@dataclasses.dataclass(frozen=True)
class Guardrail:
    """At most `limit` `counted` per `per`, as the page states it."""

    limit: int
    counted: str  # "placements"
    per: str  # "decision"

    def problem(self, subject: str, count: int, detail: str = "") -> str:
        """`subject` (e.g. "decision 'Home' has") `count` `counted`, and Adobe's limit."""
        return (
            f"{subject} {count:,} {self.counted}{detail}; Adobe allows at most {self.limit:,} "
            f"{self.counted} per {self.per} ({PAGE})"
        )


@dataclasses.dataclass(frozen=True)
class Guardrails:
    """The page's write limits, section by section; `with_limits` makes a smaller table."""

    # "Decisions": placements per decision; total decisions; live decisions.
    placements_per_decision: Guardrail = Guardrail(30, "placements", "decision")
    decisions_per_sandbox: Guardrail = Guardrail(10_000, "decisions", "sandbox")
    live_decisions_per_sandbox: Guardrail = Guardrail(1_000, "live decisions", "sandbox")
    # "Collections": offers per collection; collections; collections per decision.
    offers_per_collection: Guardrail = Guardrail(500, "offers", "collection")
    collections_per_sandbox: Guardrail = Guardrail(10_000, "collections", "sandbox")
    collections_per_decision: Guardrail = Guardrail(30, "collections", "decision")
    # "Collection qualifiers": per offer or collection.
    qualifiers_per_offer_or_collection: Guardrail = Guardrail(
        20, "collection qualifiers", "offer or collection"
    )
    # "Offers": total offers (fallback and personalized alike).
    offers_per_sandbox: Guardrail = Guardrail(10_000, "offers", "sandbox")
    # "Eligibility rules": max size of PQL rule, 15K (UTF-8).
    rule_pql_bytes: Guardrail = Guardrail(15_000, "bytes of PQL (UTF-8)", "rule")
    # "Others": placements; capping rules per offer.
    placements_per_sandbox: Guardrail = Guardrail(1_000, "placements", "sandbox")
    capping_rules_per_offer: Guardrail = Guardrail(10, "capping rules", "offer")

    def with_limits(self, **limits: int) -> Guardrails:
        """This table with other limits (a test's small sandbox), e.g. `offers_per_sandbox=3`."""
        changed = {
            name: dataclasses.replace(getattr(self, name), limit=limit)
            for name, limit in limits.items()
        }
        return dataclasses.replace(self, **changed)


ADOBE = Guardrails()

JsonDict = Mapping[str, Any]
#: (the member counted, how many it holds, the guardrail) for one object's JSON body.
Counts = Iterator[tuple[str, int, Guardrail]]


def _offer(body: JsonDict, rails: Guardrails) -> Counts:
    yield "tags", len(body.get("tags") or ()), rails.qualifiers_per_offer_or_collection
    caps = body.get("frequencyCappingConstraints") or ()
    yield "frequencyCappingConstraints", len(caps), rails.capping_rules_per_offer


def _collection(body: JsonDict, rails: Guardrails) -> Counts:
    """`ids` are offers (`filterType: offers`) or collection qualifiers (the tag filters)."""
    ids = body.get("ids") or ()
    if body.get("filterType") == "offers":
        yield "ids", len(ids), rails.offers_per_collection
    else:
        yield "ids", len(ids), rails.qualifiers_per_offer_or_collection


def _decision(body: JsonDict, rails: Guardrails) -> Counts:
    """Distinct ids: a placement (or collection) named by two criteria is one placement."""
    criteria = body.get("criteria") or ()
    placements = {p for c in criteria for p in c.get("placements") or ()}
    collections = {(c.get("optionSelection") or {}).get("filter") for c in criteria} - {None}
    yield "criteria", len(placements), rails.placements_per_decision
    yield "criteria", len(collections), rails.collections_per_decision


def _rule(body: JsonDict, rails: Guardrails) -> Counts:
    pql = (body.get("condition") or {}).get("value") or ""
    yield "condition.value", len(pql.encode()), rails.rule_pql_bytes


#: The objects with per-object guardrails, by the noun their messages use.
_COUNTED: dict[str, Callable[[JsonDict, Guardrails], Counts]] = {
    "offer": _offer,
    "collection": _collection,
    "decision": _decision,
    "offer rule": _rule,
}


def check_body(noun: str, body: JsonDict, field: str, limits: Guardrails = ADOBE) -> None:
    """Refuse a body (the JSON we would send) over a per-object guardrail, naming the object,
    the member (`{field}.{member}`), the count, the limit and the page."""
    for member, count, rail in _COUNTED[noun](body, limits):
        if count > rail.limit:
            subject = f"{noun} {body.get('name')!r} has"
            raise InvalidInputError(f"{field}.{member}", rail.problem(subject, count))


def sandbox_total_problem(rail: Guardrail, now: int, created: int, deleted: int) -> str | None:
    """Why a sandbox holding `now` objects cannot take `created` more and `deleted` fewer, or
    None. A change that does not grow the sandbox is never refused (one already over the
    limit may still shrink)."""
    after = now + created - deleted
    if created <= deleted or after <= rail.limit:
        return None
    detail = f" after this apply ({now:,} now, {created:,} created, {deleted:,} deleted)"
    return rail.problem("the sandbox would hold", after, detail)
