"""api/guardrails.py: each of Adobe's per-object limits at its boundary (the limit passes, one
more is refused before any request, naming the member, the count, the limit and the page), and
the catalog plan's per-sandbox total of offers (its limit table injected, the client mocked)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_offers.api import catalog, guardrails
from airflow_provider_offers.api.catalog.plan import MARKER, CatalogError
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.models import (
    FallbackOffer,
    OfferCollection,
    OfferDecision,
    OfferRule,
    PersonalizedOffer,
    parse_input,
)

PAGE = guardrails.PAGE
WEB = "https://ns.adobe.com/xdm/channel-types/web"


def offer(name: str = "Spring", **fields: Any) -> dict:
    component = {"type": "text", "format": "text/plain", "content": "Hello"}
    representation = {"channel": WEB, "placement": "dps:offer-placement:1"}
    representations = [{**representation, "components": [component]}]
    return {"name": name, "representations": representations, **fields}


def caps(count: int) -> list[dict]:
    return [{"enabled": True, "limit": 1, "scope": "global", "entity": "offer"}] * count


def decision(placements: int = 1, collections: int = 1) -> dict:
    criteria = [
        {
            "placements": [f"dps:offer-placement:{i}" for i in range(placements)],
            "optionSelection": {"filter": "dps:offer-filter:0"},
        }
    ]
    criteria += [
        {"placements": ["dps:offer-placement:0"], "optionSelection": {"filter": f"f{i}"}}
        for i in range(1, collections)
    ]
    return {"name": "Home", "fallback": "dps:fallback-offer:1", "criteria": criteria}


def collection(filter_type: str, count: int) -> dict:
    return {"name": "Spring", "filterType": filter_type, "ids": [f"id-{i}" for i in range(count)]}


def rule(pql: str) -> dict:
    return {"name": "Sales", "condition": {"type": "PQL", "format": "pql/text", "value": pql}}


# (model, the body holding n, the limit, the field named, the refusal's words)
BOUNDARIES = [
    (
        OfferDecision,
        lambda n: decision(placements=n),
        30,
        "decision.criteria",
        "decision 'Home' has 31 placements; Adobe allows at most 30 placements per decision",
    ),
    (
        OfferDecision,
        lambda n: decision(collections=n),
        30,
        "decision.criteria",
        "decision 'Home' has 31 collections; Adobe allows at most 30 collections per decision",
    ),
    (
        OfferCollection,
        lambda n: collection("offers", n),
        500,
        "collection.ids",
        "collection 'Spring' has 501 offers; Adobe allows at most 500 offers per collection",
    ),
    (
        OfferCollection,
        lambda n: collection("any-tags", n),
        20,
        "collection.ids",
        "collection 'Spring' has 21 collection qualifiers; Adobe allows at most 20 collection "
        "qualifiers per offer or collection",
    ),
    (
        FallbackOffer,
        lambda n: offer(tags=[f"dps:tag:{i}" for i in range(n)]),
        20,
        "offer.tags",
        "offer 'Spring' has 21 collection qualifiers; Adobe allows at most 20 collection "
        "qualifiers per offer or collection",
    ),
    (
        PersonalizedOffer,
        lambda n: offer(frequencyCappingConstraints=caps(n)),
        10,
        "offer.frequencyCappingConstraints",
        "offer 'Spring' has 11 capping rules; Adobe allows at most 10 capping rules per offer",
    ),
    (
        OfferRule,
        lambda n: rule("é" * (n // 2) + "x" * (n % 2)),
        15_000,
        "offer_rule.condition.value",
        "offer rule 'Sales' has 15,001 bytes of PQL (UTF-8); Adobe allows at most 15,000 "
        "bytes of PQL (UTF-8) per rule",
    ),
]
WHAT = {OfferDecision: "decision", OfferCollection: "collection", OfferRule: "offer_rule"}


@pytest.mark.parametrize(
    ("model", "body", "limit", "field", "words"),
    BOUNDARIES,
    ids=["placements", "collections", "offers", "qualifiers", "tags", "capping", "pql"],
)
def test_each_limit_passes_and_one_more_is_refused_naming_the_page(
    model, body, limit, field, words
):
    what = WHAT.get(model, "offer")
    parsed = parse_input(model, body(limit), what)
    assert parsed.name

    with pytest.raises(InvalidInputError) as refused:
        parse_input(model, body(limit + 1), what)
    assert refused.value.field == field
    assert str(refused.value) == f"{field}: {words} ({PAGE})"


def test_the_pql_limit_counts_utf8_bytes_not_characters():
    two_byte = "é" * 7_501  # 7,501 characters, 15,002 bytes
    with pytest.raises(InvalidInputError, match="15,002 bytes of PQL"):
        parse_input(OfferRule, rule(two_byte), "offer_rule")
    parse_input(OfferRule, rule("x" * 15_000), "offer_rule")


def test_one_placement_named_by_two_criteria_counts_once():
    body = decision(placements=30, collections=2)  # the second criterion reuses placement 0
    assert len(parse_input(OfferDecision, body, "decision").criteria or ()) == 2


def test_what_the_server_answers_is_never_refused():
    """Lenient on read: a listed decision over a guardrail (made elsewhere) is read."""
    read = OfferDecision.model_validate(decision(placements=31))
    assert len(read.criteria[0].placements or ()) == 31


def test_the_table_transcribes_adobes_page():
    limits = {name: rail.limit for name, rail in vars(guardrails.ADOBE).items()}
    assert limits == {
        "placements_per_decision": 30,
        "decisions_per_sandbox": 10_000,
        "live_decisions_per_sandbox": 1_000,
        "offers_per_collection": 500,
        "collections_per_sandbox": 10_000,
        "collections_per_decision": 30,
        "qualifiers_per_offer_or_collection": 20,
        "offers_per_sandbox": 10_000,
        "rule_pql_bytes": 15_000,
        "placements_per_sandbox": 1_000,
        "capping_rules_per_offer": 10,
    }
    smaller = guardrails.ADOBE.with_limits(offers_per_sandbox=3)
    assert smaller.offers_per_sandbox == guardrails.Guardrail(3, "offers", "sandbox")
    assert smaller.placements_per_decision == guardrails.ADOBE.placements_per_decision


# -- the catalog plan's total of offers ---------------------------------------------------------


class Sandbox:
    """A client whose listings are given per kind (the server's JSON); `total` is what the
    other offer type's first page says (None: the server said nothing)."""

    def __init__(self, total: int | None = 0, **by_kind: list[dict]) -> None:
        self.by_kind = by_kind
        self.total = total
        self.reads: list[tuple[str, dict]] = []

    async def list_json(self, resource, **query):
        self.reads.append((resource.kind, query))
        for value in self.by_kind.get(resource.kind, []):
            yield value

    async def list_page(self, resource, **query):
        self.reads.append((resource.kind, query))
        return SimpleNamespace(total=self.total)


def mine(name: str) -> dict:
    return {**offer(name), "id": f"id-{name}", "etag": 1, "characteristics": {MARKER: "c"}}


def plan(sandbox: Sandbox, bodies: list[dict], *, limit: int, prune: bool = False):
    limits = guardrails.ADOBE.with_limits(offers_per_sandbox=limit)
    return asyncio.run(
        catalog.plan_catalog(
            sandbox, bodies, offer_type="fallback", catalog="c", prune=prune, limits=limits
        )
    )


def placements() -> list[dict]:
    return [{"id": "dps:offer-placement:1"}]


def test_a_plan_filling_the_sandbox_to_its_limit_passes_and_one_more_is_refused():
    listed = [mine("A"), mine("B")]
    at_limit = Sandbox(total=1, **{"fallback-offers": listed, "placements": placements()})
    created = plan(at_limit, [offer("A"), offer("B"), offer("C")], limit=4)
    assert created.counts()["created"] == 1
    assert ("personalized-offers", {"limit": 1}) in at_limit.reads

    over = Sandbox(total=1, **{"fallback-offers": listed, "placements": placements()})
    with pytest.raises(CatalogError) as refused:
        plan(over, [offer("A"), offer("B"), offer("C"), offer("D")], limit=4)
    assert str(refused.value) == (
        "the sandbox would hold 5 offers after this apply (3 now, 2 created, 0 deleted); "
        f"Adobe allows at most 4 offers per sandbox ({PAGE}); nothing was written"
    )


def test_deletes_make_room_and_a_plan_that_does_not_grow_reads_no_total():
    listed = [mine("A"), mine("Old")]
    swap = Sandbox(
        total=99,
        **{
            "fallback-offers": listed,
            "placements": placements(),
            "offer-decisions": [],
            "offer-collections": [],
        },
    )
    done = plan(swap, [offer("A"), offer("New")], limit=2, prune=True)
    assert done.counts()["created"] == done.counts()["deleted"] == 1
    assert "personalized-offers" not in [kind for kind, _ in swap.reads]


def test_without_a_total_the_other_offer_type_is_counted_by_listing_it():
    others = [{"id": f"p{i}", "name": f"P{i}"} for i in range(2)]
    sandbox = Sandbox(
        total=None,
        **{"fallback-offers": [], "personalized-offers": others, "placements": placements()},
    )
    with pytest.raises(CatalogError, match="would hold 3 offers after this apply"):
        plan(sandbox, [offer("A")], limit=2)
