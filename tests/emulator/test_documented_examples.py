"""Every documented request of Adobe's Offer Library pages, replayed against the emulator.

The examples are tests/data/adobe_documented_examples.json (copied from AdobeDocs/
journey-optimizer.en, each with the page and commit it came from); documented_replay.py holds
the placeholder-to-id rule. Each test runs under both answer styles, with the default config.
Entries marked `contradicted` (two pages disagree) must be handled as docs/emulator.md says.
"""

from __future__ import annotations

from pathlib import Path

import jsonpatch
import pytest
from documented_replay import (
    CREATION_ORDER,
    EXAMPLES,
    SERVER_MEMBERS,
    Replay,
    create_example,
    entries,
    etag,
    members,
    substitute,
)
from emulator_helpers import dps_url

EMULATOR_DOC = Path(__file__).parents[2] / "docs" / "emulator.md"
CONTRADICTIONS_HEADING = "## Contradictions between Adobe's pages"


def _cases(operation: str):
    return pytest.mark.parametrize("entry", entries(operation), ids=lambda entry: entry["id"])


@pytest.fixture
def emulator(offer_library_emulator_styles):
    return offer_library_emulator_styles


@pytest.fixture
def replay(emulator, api) -> Replay:
    """Every documented create body, in creation order, placeholders mapped to made ids."""
    api.create_status = emulator.config.create_status
    return Replay(api).create_all()


def _stored(replay: Replay, kind: str, ident: str) -> dict:
    response = replay.get(kind, ident)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_kind_and_operation_is_captured():
    captured = {(entry["kind"], entry["operation"]) for entry in EXAMPLES}
    operations = ("create", "update", "lookup", "list", "delete")
    assert captured == {(kind, op) for kind in CREATION_ORDER for op in operations}
    assert all(len(entry["commit"]) == 40 and entry["page"] for entry in EXAMPLES)


@_cases("create")
def test_documented_create_body_is_stored_as_sent(replay, entry):
    documented_receipt = entry["response"]
    for ident in replay.of_kind(entry["kind"]):
        receipt = replay.receipts[ident]
        assert set(documented_receipt) <= set(receipt)
        assert etag(receipt["etag"]) == 1
        stored = _stored(replay, entry["kind"], ident)
        assert members(stored) == replay.sent[ident]
        assert members(stored) == substitute(entry["body"], replay.ids)


def test_documented_decision_with_a_fallback_covering_one_placement_passes(emulator, replay):
    """The decision example names two placements; the fallback example covers the first.
    The UI's rule that a fallback covers every placement is optional and off by default."""
    assert emulator.config.ui_rule_fallback_covers_placements is False
    decision = _stored(replay, "offer-decisions", replay.ids["offerDecision1234"])
    fallback = _stored(replay, "fallback-offers", decision["fallback"])
    placements = decision["criteria"][0]["placements"]
    covered = [r["placement"] for r in fallback["representations"]]
    assert placements == [replay.ids["offerPlacement1234"], replay.ids["offerPlacement5678"]]
    assert covered == [replay.ids["offerPlacement1234"]]


@_cases("update")
def test_documented_update_takes_effect(replay, entry):
    kind = entry["kind"]
    ident = replay.target(entry)
    before = _stored(replay, kind, ident)
    response = replay.request(entry)
    after = _stored(replay, kind, ident)
    if entry["expected"] == "contradicted":
        assert response.status_code == 409, response.text
        assert after == before
        return
    assert response.status_code == 200, response.text
    assert set(entry["response"]) - {"datasetId"} <= set(response.json())
    assert etag(response.json()["etag"]) == etag(after["etag"]) == 2
    body = substitute(entry["body"], replay.ids)
    if entry["method"] == "PUT":  # the whole object replaced
        assert members(after) == body
    else:
        assert members(after) == jsonpatch.apply_patch(replay.sent[ident], body)
        assert [after[op["path"][1:]] for op in body] == [op["value"] for op in body]


@_cases("lookup")
def test_documented_lookup_answers_the_stored_object(replay, entry):
    response = replay.request(entry)
    assert response.status_code == 200, response.text
    stored = response.json()
    ident = replay.target(entry)
    assert stored["id"] == ident
    assert members(stored) == replay.sent[ident]
    documented = entry["response"]
    assert set(documented) & SERVER_MEMBERS <= set(stored)
    schema_name = documented["schemas"][0].split(";")[0]
    assert [s.split(";")[0] for s in stored["schemas"]] == [schema_name]


@_cases("list")
def test_documented_list_shows_every_object_of_the_kind(replay, entry):
    response = replay.request(entry)
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(entry["response"]) <= set(page)
    assert "self" in page["_links"]
    limit = int(entry["query"]["limit"])
    ours = replay.of_kind(entry["kind"])
    assert page["count"] == len(page["results"]) <= limit
    assert page["total"] == len(ours)
    listed = list(page["results"])
    while "next" in page["_links"]:  # followed verbatim, as the pages say a client must
        page = replay.api.http.get(
            dps_url(page["_links"]["next"]["href"]), headers=replay.api.headers
        ).json()
        listed += page["results"]
    assert sorted(item["id"] for item in listed) == sorted(ours)
    assert all(members(item) == replay.sent[item["id"]] for item in listed)


@_cases("delete")
def test_documented_delete_removes_only_that_object(replay, entry):
    kind = entry["kind"]
    ident = replay.target(entry)
    response = replay.request(entry)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert replay.get(kind, ident).status_code == 404
    others = [i for i in replay.sent if i != ident]
    kinds = {i: k for k in CREATION_ORDER for i in replay.of_kind(k)}
    assert all(replay.get(kinds[i], i).status_code == 200 for i in others)


@pytest.mark.parametrize(
    "entry",
    [entry for entry in EXAMPLES if entry["expected"] == "contradicted"],
    ids=lambda entry: entry["id"],
)
def test_contradicted_examples_are_listed_in_the_emulator_doc(entry):
    section = EMULATOR_DOC.read_text(encoding="utf-8").split(CONTRADICTIONS_HEADING)[1]
    section = section.split("\n## ")[0]
    row = next(line for line in section.splitlines() if entry["page"] in line)
    assert all(page in row for page in entry["contradiction"]["pages"])
    assert "409" in row


@pytest.mark.parametrize(
    "entry",
    [entry for entry in EXAMPLES if entry["expected"] == "contradicted"],
    ids=lambda entry: entry["id"],
)
def test_contradicted_patch_applies_once_its_target_exists(replay, entry):
    """The refusal is the missing target (RFC 6902), not the documented operations."""
    kind = entry["kind"]
    ident = replay.target(entry)
    add = [{"op": "add", "path": "/description", "value": "documented elsewhere"}]
    entry_path = create_example(kind)
    prepared = replay.api.patch(entry_path["path"].lstrip("/"), ident, add, **entry_path["query"])
    assert prepared.status_code == 200, prepared.text
    response = replay.request(entry)
    assert response.status_code == 200, response.text
    after = _stored(replay, kind, ident)
    assert [after[op["path"][1:]] for op in entry["body"]] == [op["value"] for op in entry["body"]]


def test_decision_create_curl_without_dps_is_not_the_api(replay):
    """The decision create page's curl drops `/dps`; its API format is the DPS path."""
    entry = create_example("offer-decisions")
    assert entry["url"] == "https://platform.adobe.io/data/core/offer-decisions"
    body = substitute(entry["body"], replay.ids)
    response = replay.api.http.post(
        "/data/core/offer-decisions", json=body, headers=replay.api.headers
    )
    assert response.status_code == 404


def test_ranking_formula_update_as_its_curl_sends_it_is_refused(replay):
    """The page's curl says `-X PATCH` with the whole object: not JSON Patch, so 400; the
    API format's `PUT` is the update (test_documented_update_takes_effect)."""
    entry = next(e for e in entries("update") if e["kind"] == "ranking-formulas")
    ident = replay.target(entry)
    before = _stored(replay, "ranking-formulas", ident)
    response = replay.request({**entry, "method": "PATCH"})
    assert response.status_code == 400, response.text
    assert "JSON Patch" in response.json()["detail"]
    assert _stored(replay, "ranking-formulas", ident) == before
