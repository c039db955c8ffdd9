"""api/catalog's pure parts: the desired catalog, the plan, drift, tables, progress."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_provider_offers.api import catalog
from airflow_provider_offers.api.catalog import apply as catalog_apply
from airflow_provider_offers.api.catalog import plan as catalog_plan
from airflow_provider_offers.api.catalog.plan import MARKER, CatalogError, compute_plan, drift
from airflow_provider_offers.api.errors import InvalidInputError, RequestValidationError
from airflow_provider_offers.api.models import Receipt
from airflow_provider_offers.api.retry import RetryPolicy

WEB = "https://ns.adobe.com/xdm/channel-types/web"


def offer(name: str, **fields) -> dict:
    return {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": WEB,
                "placement": "dps:offer-placement:1",
                "components": [
                    {"type": "imagelink", "format": "image/png", "deliveryURL": "https://cdn/u.png"}
                ],
            }
        ],
        **fields,
    }


def listed(name: str, offer_id: str, etag: int = 1, **fields) -> dict:
    """An offer as the server lists it."""
    return {**offer(name, **fields), "id": offer_id, "etag": etag, "modified": "2026-01-01T00:00Z"}


def actions(plan) -> list[tuple[str, str]]:
    return [(e["name"], e["action"]) for e in plan.entries]


# -- the desired catalog ------------------------------------------------------------------------


def test_every_problem_of_a_catalog_is_named_at_once():
    offers = [offer("A"), offer("B", stauts="x"), offer("A"), {"status": "approved"}]
    with pytest.raises(InvalidInputError) as raised:
        catalog.parse_catalog(offers, "fallback", "c")
    message = str(raised.value)
    assert "offers[1] ('B'): unknown field(s) 'stauts'" in message
    assert "offers[3].name: Field required" in message
    assert "the name 'A' is used 2 times (offers[0], offers[2])" in message
    assert message.startswith("offers: 3 problem(s), nothing was sent")


def test_the_marker_is_the_syncs_to_set():
    mine = offer("A", characteristics={MARKER: "c", "season": "spring"})
    assert catalog.parse_catalog([mine], "fallback", "c")[0]["characteristics"][MARKER] == "c"
    with pytest.raises(InvalidInputError, match="'other' is not this catalog"):
        catalog.parse_catalog([offer("A", characteristics={MARKER: "other"})], "fallback", "c")


@pytest.mark.parametrize("value", ["A", {"name": "A"}, None, 3])
def test_offers_must_be_a_list(value):
    with pytest.raises(InvalidInputError, match="expected a list of offers"):
        catalog.parse_catalog(value, "fallback", "c")


@pytest.mark.parametrize(
    ("source", "text", "names"),
    [
        ("a.yaml", "- name: A\n- name: B\n", ["A", "B"]),
        ("a.yml", "offers:\n  - name: A\n", ["A"]),
        ("a.json", json.dumps({"name": "A"}), ["A"]),
        ("a.yaml", "", []),
    ],
)
def test_catalog_files_hold_a_list_a_mapping_of_offers_or_one_offer(source, text, names):
    assert [o["name"] for o in catalog.offers_from_text(text, source)] == names


@pytest.mark.parametrize(
    ("source", "text", "problem"),
    [
        ("a.json", "{", "a.json: not valid JSON"),
        ("a.yaml", "a: [", "a.yaml: not valid YAML"),
        ("a.yaml", "just text", "a.yaml: expected a list of offers, got str"),
    ],
)
def test_unreadable_catalog_files_are_named(source, text, problem):
    with pytest.raises(InvalidInputError, match=problem):
        catalog.offers_from_text(text, source)


def test_unknown_placements_are_named_per_representation():
    bodies = [offer("A"), offer("B")]
    bodies[1]["representations"][0]["placement"] = "dps:offer-placement:gone"
    assert catalog_plan.unknown_placements(bodies, {"dps:offer-placement:1"}) == [
        "offer 'B': representations[0].placement 'dps:offer-placement:gone' is not a placement "
        "of this sandbox"
    ]


# -- the plan -----------------------------------------------------------------------------------


def test_creates_carry_the_marker_and_unchanged_offers_send_nothing():
    existing = [listed("Same", "id-1", characteristics={MARKER: "c"})]
    plan = compute_plan("c", [offer("Same"), offer("New")], existing)

    assert actions(plan) == [("New", "create"), ("Same", "unchanged")]
    assert plan.work["New"][1]["characteristics"] == {MARKER: "c"}
    assert plan.entries[1] == {
        "name": "Same",
        "id": "id-1",
        "action": "unchanged",
        "fields": [],
        "etag": 1,
    }
    assert plan.counts() == {
        "created": 1,
        "updated": 0,
        "unchanged": 1,
        "deleted": 0,
        "blocked": 0,
    }


def test_an_offer_made_by_hand_is_updated_but_never_marked():
    existing = [listed("Hand", "id-1", etag=4, characteristics={"season": "spring"})]
    plan = compute_plan("c", [offer("Hand", description="new")], existing)

    assert plan.entries == [
        {"name": "Hand", "id": "id-1", "action": "update", "fields": ["description"], "etag": 4}
    ]
    assert MARKER not in plan.work["Hand"][1].get("characteristics", {})


def test_own_offers_keep_their_marker_when_the_catalog_sets_characteristics():
    existing = [listed("Mine", "id-1", characteristics={MARKER: "c"})]
    plan = compute_plan("c", [offer("Mine", characteristics={"season": "autumn"})], existing)

    assert plan.entries[0]["fields"] == ["characteristics"]
    assert plan.work["Mine"][1]["characteristics"] == {"season": "autumn", MARKER: "c"}


def test_another_catalogs_offer_or_two_offers_of_one_name_are_refused():
    theirs = [listed("Theirs", "id-1", characteristics={MARKER: "other"})]
    with pytest.raises(CatalogError, match="offer 'Theirs' \\(id-1\\) belongs to catalog 'other'"):
        compute_plan("c", [offer("Theirs")], theirs)
    twins = [listed("Twin", "id-1"), listed("Twin", "id-2")]
    with pytest.raises(CatalogError, match="2 offers are named 'Twin' \\(id-1, id-2\\)"):
        compute_plan("c", [offer("Twin")], twins)


def test_prune_deletes_only_own_offers_and_is_blocked_by_a_decisions_fallback():
    existing = [
        listed("Hand", "id-hand"),
        listed("Theirs", "id-theirs", characteristics={MARKER: "other"}),
        listed("Old", "id-old", characteristics={MARKER: "c"}),
        listed("Served", "id-served", characteristics={MARKER: "c"}),
    ]
    decisions = [{"id": "d1", "name": "Home", "fallback": "id-served"}, {"id": "d2", "name": "X"}]

    assert actions(compute_plan("c", [], existing, decisions=decisions)) == []
    plan = compute_plan("c", [], existing, prune=True, decisions=decisions)

    assert actions(plan) == [("Old", "delete"), ("Served", "blocked")]
    assert plan.blocked()[0]["decisions"] == ["'Home' (d1)"]
    assert catalog_plan.prune_candidates(existing, {"Old"}, "c") == [existing[3]]


# -- approval: drift ----------------------------------------------------------------------------


def test_drift_names_what_changed_since_the_approved_plan():
    existing = [listed("A", "id-a", characteristics={MARKER: "c"}), listed("B", "id-b")]
    approved = compute_plan("c", [offer("A", description="x"), offer("B")], existing).entries

    assert (
        drift(approved, compute_plan("c", [offer("A", description="x"), offer("B")], existing))
        == []
    )
    moved = [existing[0], {**existing[1], "etag": 2}]
    assert drift(approved, compute_plan("c", [offer("A", description="x"), offer("B")], moved)) == [
        "B"
    ]
    more = compute_plan("c", [offer("A", description="x"), offer("B"), offer("C")], existing)
    assert drift(approved, more) == ["C"]


def test_writes_an_earlier_run_of_the_approved_plan_made_are_not_drift():
    existing = [
        listed("Upd", "id-u", characteristics={MARKER: "c"}),
        listed("Gone", "id-g", characteristics={MARKER: "c"}),
    ]
    desired = [offer("Upd", description="x"), offer("New")]
    approved = compute_plan("c", desired, existing, prune=True).entries
    assert [e["action"] for e in approved] == ["delete", "create", "update"]

    after = [
        listed("Upd", "id-u", etag=2, description="x", characteristics={MARKER: "c"}),
        listed("New", "id-n", characteristics={MARKER: "c"}),
    ]
    assert drift(approved, compute_plan("c", desired, after, prune=True)) == []


@pytest.mark.parametrize(
    "given",
    [
        [{"name": "A", "action": "create"}],
        {"plan": [{"name": "A", "action": "create"}], "counts": {}},
        json.dumps({"plan": [{"name": "A", "action": "create"}]}),
    ],
)
def test_an_expected_plan_is_entries_a_result_or_its_json(given):
    assert catalog.plan_entries(given) == [{"name": "A", "action": "create"}]


@pytest.mark.parametrize("given", ["{", "a plan", {"counts": {}}, [1]])
def test_a_malformed_expected_plan_is_refused(given):
    with pytest.raises(InvalidInputError, match="expected_plan"):
        catalog.plan_entries(given)


# -- what a person reads ------------------------------------------------------------------------


def test_plan_as_text_and_markdown_tables_show_what_changes():
    entries = [
        {"name": "A|B", "id": None, "action": "create", "fields": ["name", "status"], "etag": None},
        {"name": "C", "id": "id-c", "action": "blocked", "fields": [], "etag": 3,
         "decisions": ["'Home' (d1)"]},
        {"name": "D", "id": "id-d", "action": "unchanged", "fields": [], "etag": 1},
    ]  # fmt: skip
    assert catalog.plan_table(entries).splitlines() == [
        "1 created, 1 unchanged, 1 blocked",
        "action   name  id    fields                   etag",
        "-------  ----  ----  -----------------------  ----",
        "create   A|B   -     name, status             -",
        "blocked  C     id-c  fallback of 'Home' (d1)  3",
    ]
    assert catalog.plan_markdown(entries).splitlines() == [
        "**1 created, 1 unchanged, 1 blocked**",
        "",
        "| action | name | id | fields | etag |",
        "| --- | --- | --- | --- | --- |",
        "| create | A\\|B | - | name, status | - |",
        "| blocked | C | id-c | fallback of 'Home' (d1) | 3 |",
    ]
    assert catalog.plan_table(entries[2:]) == "1 unchanged: nothing to change"
    assert catalog.plan_markdown([]) == "**no offers**: nothing to change."


def test_progress_is_logged_at_most_every_few_seconds_and_at_the_end(caplog):
    now = [100.0]
    progress = catalog_apply.Progress(5, every=5.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger=catalog_apply.__name__)
    for moment in (101.0, 104.0, 106.0, 107.0, 108.0):
        now[0] = moment
        progress.step()

    assert [r.getMessage() for r in caplog.records] == [
        "Applied 3/5 writes (0.5/s)",
        "Applied 5/5 writes (0.6/s)",
    ]


# -- the apply ----------------------------------------------------------------------------------


def test_a_wait_one_worker_is_told_holds_every_worker(monkeypatch):
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(catalog_apply.asyncio, "sleep", fake_sleep)
    gate = catalog.BackoffGate(clock=lambda: now[0])
    policy = gate.policy(RetryPolicy(max_attempts=3))
    assert (policy.max_attempts, policy.async_sleep) == (3, gate.sleep)

    asyncio.run(policy.async_sleep(2.0))  # one worker's 429 said "Retry-After: 2"
    now[0] = 0.5  # another worker, about to send, half a second after the 429
    asyncio.run(gate.wait())
    now[0] = 3.0  # once the time is up nobody waits
    asyncio.run(gate.wait())

    assert slept == [2.0, 1.5]


def test_a_failed_write_does_not_stop_the_others_and_is_named(mocker):
    async def create(resource, body):
        if body["name"] == "Refused":
            raise RequestValidationError("POST /offers failed with HTTP 400", status=400)
        return Receipt(id=f"id-{body['name']}", etag=1)

    client = mocker.Mock(create=create)
    plan = compute_plan("c", [offer("Fine"), offer("Refused"), offer("Also fine")], [])

    with pytest.raises(catalog.ApplyError) as raised:
        asyncio.run(
            catalog.apply_plan(
                client, plan, offer_type="fallback", gate=catalog.BackoffGate(), max_concurrency=2
            )
        )

    assert list(raised.value.failures) == ["Refused"]
    assert raised.value.counts["created"] == 2
    assert "'Refused': POST /offers failed with HTTP 400" in str(raised.value)
