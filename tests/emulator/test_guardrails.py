"""The emulator enforces Adobe's Decision Management guardrails at its configured limits
(`EmulatorConfig.guardrails`): the limit is stored, one more is a problem naming the member
(400 on create, 422 on patch), and a per-sandbox total refuses only a write that adds one."""

from __future__ import annotations

import pytest
from emulator_helpers import examples

from airflow_provider_offers.emulator.config import ADOBE_GUARDRAILS, EmulatorConfig

FALLBACK = {"offer-type": "fallback"}
PERSONALIZED = {"offer-type": "personalized"}


def refused(response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["detail"].startswith(detail), body["detail"]
    assert "Adobe's guardrail" in body["detail"]


@pytest.fixture
def sandbox(api):
    """Three placements, two tags, two collections and a fallback offer covering them."""
    placements = [api.placement(name=f"P{i}") for i in range(3)]
    tags = [api.create("tags", {**examples.tag(), "name": f"T{i}"})["id"] for i in range(2)]
    collections = [api.create("offer-collections", examples.collection(t))["id"] for t in tags]
    fallback = api.fallback_offer(placements)
    return {"placements": placements, "tags": tags, "collections": collections, "fb": fallback}


def decision(sandbox, placements: int = 1, collections: int = 1, **changes) -> dict:
    body = examples.decision(sandbox["fb"], sandbox["placements"][:placements], "")
    first = body["criteria"][0]
    body["criteria"] = [
        {**first, "optionSelection": {"filter": c}} for c in sandbox["collections"][:collections]
    ]
    return {**body, **changes}


def test_placements_and_collections_per_decision(emulator, api, sandbox):
    emulator.configure(guardrails={"placements_per_decision": 2, "collections_per_decision": 1})
    api.create("offer-decisions", decision(sandbox, placements=2))
    refused(
        api.call("POST", "/offer-decisions", json=decision(sandbox, placements=3)),
        400,
        "criteria: 3 distinct placements; at most 2",
    )
    refused(
        api.call("POST", "/offer-decisions", json=decision(sandbox, collections=2)),
        400,
        "criteria: 2 distinct collections; at most 1",
    )


def test_ids_of_a_collection_are_offers_or_qualifiers(emulator, api, sandbox):
    emulator.configure(
        guardrails={"offers_per_collection": 1, "qualifiers_per_offer_or_collection": 1}
    )
    offers = [api.personalized_offer(sandbox["placements"][0]) for _ in range(2)]
    listed = {"name": "Listed", "filterType": "offers", "ids": offers[:1]}
    api.create("offer-collections", listed)
    refused(
        api.call("POST", "/offer-collections", json={**listed, "ids": offers}),
        400,
        "ids: 2 offers; at most 1",
    )
    tagged = {"name": "Tagged", "filterType": "any-tags", "ids": sandbox["tags"]}
    refused(api.call("POST", "/offer-collections", json=tagged), 400, "ids: 2 tags; at most 1")


def test_tags_and_capping_rules_per_offer(emulator, api, sandbox):
    emulator.configure(
        guardrails={"qualifiers_per_offer_or_collection": 1, "capping_rules_per_offer": 1}
    )
    placement = sandbox["placements"][0]
    body = examples.personalized_offer(placement)
    api.create("offers", {**body, "tags": sandbox["tags"][:1]}, **PERSONALIZED)
    refused(
        api.call("POST", "/offers", json={**body, "tags": sandbox["tags"]}, params=PERSONALIZED),
        400,
        "tags: 2 tags; at most 1",
    )
    two_caps = body["frequencyCappingConstraints"] * 2
    refused(
        api.call(
            "POST",
            "/offers",
            json={**body, "frequencyCappingConstraints": two_caps},
            params=PERSONALIZED,
        ),
        400,
        "frequencyCappingConstraints: 2 capping rules; at most 1",
    )


@pytest.mark.parametrize(
    ("resource", "member", "body", "guardrail"),
    [
        ("offer-rules", "condition", examples.offer_rule, "rule_pql_bytes"),
        ("ranking-formulas", "expression", examples.ranking_formula, "ranking_formula_pql_bytes"),
    ],
)
def test_pql_length_counts_utf8_bytes(emulator, api, resource, member, body, guardrail):
    emulator.configure(guardrails={guardrail: 10})
    at_limit = body()
    at_limit[member]["value"] = "é" * 5  # 10 bytes
    api.create(resource, at_limit)
    over = body()
    over[member]["value"] = "é" * 5 + "x"
    refused(api.call("POST", f"/{resource}", json=over), 400, f"{member}.value: 11 bytes of PQL")


def test_at_adobes_defaults_thirty_placements_pass_and_thirty_one_do_not(api):
    placements = [api.placement(name=f"P{i}") for i in range(31)]
    tag = api.create("tags", examples.tag())["id"]
    collection = api.create("offer-collections", examples.collection(tag))["id"]
    fallback = api.fallback_offer(placements)
    api.create("offer-decisions", examples.decision(fallback, placements[:30], collection))
    over = examples.decision(fallback, placements, collection)
    refused(api.call("POST", "/offer-decisions", json=over), 400, "criteria: 31 distinct")


def test_offers_per_sandbox_count_both_types_and_a_delete_makes_room(emulator, api, sandbox):
    emulator.configure(guardrails={"offers": 2})  # the fixture's fallback offer is one
    personalized = api.personalized_offer(sandbox["placements"][0])
    body = examples.personalized_offer(sandbox["placements"][0])
    refused(
        api.call("POST", "/offers", json=body, params=PERSONALIZED),
        400,
        "body: the sandbox holds 2 offers; at most 2",
    )
    rename = [{"op": "replace", "path": "/name", "value": "N"}]
    patched = api.patch("offers", personalized, rename, **PERSONALIZED)
    assert patched.status_code == 200, patched.text  # a patch adds no offer
    assert api.call("DELETE", f"/offers/{personalized}", params=PERSONALIZED).status_code == 200
    api.create("offers", body, **PERSONALIZED)


def test_live_decisions_are_counted_on_create_and_on_patch(emulator, api, sandbox):
    emulator.configure(guardrails={"live_decisions": 1})
    live = api.create("offer-decisions", decision(sandbox))["id"]
    refused(
        api.call("POST", "/offer-decisions", json=decision(sandbox)),
        400,
        "status: the sandbox holds 1 live decisions; at most 1",
    )
    draft = api.create("offer-decisions", decision(sandbox, status="draft"))["id"]
    to_live = [{"op": "replace", "path": "/status", "value": "live"}]
    refused(api.patch("offer-decisions", draft, to_live), 422, "status: the sandbox holds 1")
    renamed = api.patch("offer-decisions", live, [{"op": "replace", "path": "/name", "value": "N"}])
    assert renamed.status_code == 200, renamed.text  # already live: counted once


@pytest.mark.parametrize(
    ("guardrail", "resource", "body"),
    [
        ("placements", "placements", examples.placement),
        ("collection_qualifiers", "tags", examples.tag),
        ("rules_and_ranking_formulas", "offer-rules", examples.offer_rule),
    ],
)
def test_other_per_sandbox_totals(emulator, api, guardrail, resource, body):
    emulator.configure(guardrails={guardrail: 1})
    api.create(resource, body())
    refused(api.call("POST", f"/{resource}", json=body()), 400, "body: the sandbox holds 1")


def test_rules_and_ranking_formulas_share_one_total(emulator, api):
    emulator.configure(guardrails={"rules_and_ranking_formulas": 1})
    api.create("offer-rules", examples.offer_rule())
    refused(api.call("POST", "/ranking-formulas", json=examples.ranking_formula()), 400, "body:")


def test_the_limits_are_adobes_unless_a_name_is_given():
    assert EmulatorConfig().guardrails == ADOBE_GUARDRAILS
    assert ADOBE_GUARDRAILS["placements_per_decision"] == 30
    assert ADOBE_GUARDRAILS["offers"] == 10_000
    small = EmulatorConfig().with_changes(guardrails={"offers": 3})
    assert small.guardrails == {**ADOBE_GUARDRAILS, "offers": 3}
    with pytest.raises(ValueError, match="'offer' is not one of"):
        EmulatorConfig(guardrails={"offer": 3})
    with pytest.raises(ValueError, match=r"guardrails\.offers: a whole number"):
        EmulatorConfig(guardrails={"offers": -1})
