"""The catalog sync on a shared sandbox, through `dag.test()` against the emulator: it applies
only the values approved, renames in place, never deletes what something references, never
takes over, marks or deletes what it did not create, sees every offer once while others edit,
and defers on a long rate limit. Under both answer styles."""

from __future__ import annotations

import json

from airflow_compat import needs_airflow_3_3

from airflow_provider_offers.api.catalog import MARKER

DPS = "/data/core/dps"
DPS_OFFERS = f"{DPS}/offers"


def dag_source(dag_id: str, tasks: str) -> str:
    return f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator, SyncOffersOperator

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
{tasks}
"""


def writes(requests) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in requests if r.path.startswith(DPS) and r.method != "GET"]


def sync_task(catalog: list, **options) -> str:
    given = ", ".join(f"{key}={value!r}" for key, value in options.items())
    return f"""
    SyncFallbackOffersOperator(task_id="sync", offers={catalog!r}, catalog="c", {given})
"""


def test_an_apply_writes_only_the_values_approved(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    placement = dps.create_placement()
    dps.create_offer(dps.offer_body("Existing", placement, description="v1"))
    approved = [dps.offer_body("Existing", placement, description="v2")]
    planned = run_dag(dag_source("approve", sync_task(approved, dry_run=True)), "approve")
    entry = planned.xcom("sync")["plan"][0]
    assert entry["changes"] == {"description": {"old": "v1", "new": "v2"}}

    edited = [dps.offer_body("Existing", placement, description="v3")]  # a later commit
    before = len(offer_library_emulator.requests)
    source = dag_source("apply", sync_task(edited, expected_plan=planned.xcom("sync")))
    run = run_dag(source, "apply")

    assert run.task_states() == {"sync": "failed"}
    assert writes(offer_library_emulator.requests[before:]) == []
    assert (
        "the plan changed since it was approved, for 'Existing' ('Existing': description "
        'approved {"new": "v2", "old": "v1"}, now {"new": "v3", "old": "v1"}); nothing was written'
    ) in task_output()
    assert [o.get("description") for o in dps.offers()] == ["v1"]


def test_an_offer_a_collection_lists_by_id_is_never_deleted(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    placement = dps.create_placement()
    body = dps.offer_body("Listed", placement, characteristics={MARKER: "c"})
    listed = dps.create_offer(body, "personalized")["id"]
    collection = dps.create(
        "/offer-collections", {"name": "Spring picks", "filterType": "offers", "ids": [listed]}
    )["id"]
    keep = [dps.offer_body("Keep", placement)]
    tasks = f"""
    SyncOffersOperator(
        task_id="sync", offer_type="personalized", offers={keep!r}, catalog="c", prune=True
    )
"""
    before = len(offer_library_emulator.requests)

    run = run_dag(dag_source("collections", tasks), "collections")

    assert run.task_states() == {"sync": "failed"}
    assert writes(offer_library_emulator.requests[before:]) == []
    assert (
        f"offer 'Listed' ({listed}) is listed by collection(s) 'Spring picks' ({collection}); "
        "not deleting it"
    ) in task_output()
    assert [o["id"] for o in dps.offers("personalized")] == [listed]


def test_a_rename_is_one_patch_of_the_name_and_keeps_the_id(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    placement = dps.create_placement()
    old = dps.create_offer(dps.offer_body("Old name", placement, characteristics={MARKER: "c"}))
    renamed = [{**dps.offer_body("New name", placement), "renamed_from": "Old name"}]
    before = len(offer_library_emulator.requests)

    run = run_dag(dag_source("rename", sync_task(renamed, prune=True)), "rename")

    assert run.task_states() == {"sync": "success"}
    requests = offer_library_emulator.requests[before:]
    sent = [r for r in requests if r.path.startswith(DPS) and r.method != "GET"]
    assert [(r.method, r.path) for r in sent] == [("PATCH", f"{DPS_OFFERS}/{old['id']}")]
    assert {"op": "replace", "path": "/name", "value": "New name"} in sent[0].json
    assert "renamed_from" not in json.dumps(sent[0].json)
    (stored,) = dps.offers()
    assert (stored["id"], stored["name"]) == (old["id"], "New name")
    assert run.xcom("sync")["plan"][0]["renamed_from"] == "Old name"

    before = len(offer_library_emulator.requests)
    again = run_dag(dag_source("rename", sync_task(renamed, prune=True)), "rename")
    assert again.xcom("sync")["counts"]["unchanged"] == 1
    assert writes(offer_library_emulator.requests[before:]) == []


def test_a_catalog_entry_carrying_the_marker_cannot_take_over_a_hand_made_offer(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    placement = dps.create_placement()
    hand_made = dps.create_offer(dps.offer_body("Hand made", placement))["id"]
    claim = [dps.offer_body("Hand made", placement, characteristics={MARKER: "c"})]
    before = len(offer_library_emulator.requests)

    run = run_dag(dag_source("takeover", sync_task(claim)), "takeover")

    assert run.task_states() == {"sync": "failed"}
    assert writes(offer_library_emulator.requests[before:]) == []
    assert f"characteristics.{MARKER}: the sync sets this marker" in task_output()
    assert "characteristics" not in dps.get_offer(hand_made)


def test_a_namesake_made_by_hand_around_a_create_is_never_deleted_nor_marked(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    """Someone creates the same name by hand just before our create lands (older: ours goes,
    theirs is left as it is), or just after it (newer: the clean-up must leave it alone)."""
    emulator = offer_library_emulator
    placement = dps.create_placement()
    catalog = [dps.offer_body("Spring", placement, description="the catalog's")]
    by_hand = dps.offer_body("Spring", placement, description="by hand")
    made: list[str] = []

    def make_by_hand() -> None:
        made.append(dps.create_offer(by_hand)["id"])

    # Older: made just before our POST is handled.
    emulator.before_request("POST", DPS_OFFERS, make_by_hand)
    run = run_dag(dag_source("namesake", sync_task(catalog)), "namesake")

    assert run.task_states() == {"sync": "success"}
    (stored,) = dps.offers()  # ours deleted
    assert stored["id"] == made[0]
    assert stored["description"] == "by hand" and "characteristics" not in stored

    # Newer: made just before the clean-up's listing (the plan's listing of fallback offers
    # is the first; the guardrail reads the total of personalized ones in between).
    dps.delete_offer(made[0])
    emulator.before_request("GET", DPS_OFFERS, make_by_hand, nth=2, query_has="offer-type=fallback")
    run = run_dag(dag_source("namesake", sync_task(catalog)), "namesake")

    assert run.task_states() == {"sync": "success"}
    stored_by_id = {o["id"]: o for o in dps.offers()}
    assert made[1] in stored_by_id and len(stored_by_id) == 2
    assert stored_by_id[made[1]]["description"] == "by hand"
    assert "characteristics" not in stored_by_id[made[1]]


def test_an_offer_edited_between_two_pages_of_the_listing_is_not_created_again(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    emulator = offer_library_emulator
    placement = dps.create_placement()
    names = [f"Offer {i:03}" for i in range(105)]  # more than one page (100)
    ids = [
        dps.create_offer(dps.offer_body(n, placement, characteristics={MARKER: "c"}))["id"]
        for n in names
    ]
    catalog = [dps.offer_body(n, placement) for n in names]
    # The least recently modified offer is on the second page of Adobe's default order; an edit
    # while the first page is read moves it to the first one.
    edit = [{"op": "add", "path": "/description", "value": "edited meanwhile"}]
    interlude = emulator.before_request(
        "GET", DPS_OFFERS, lambda: dps.patch_offer(ids[0], edit), query_has="start="
    )
    before = len(emulator.requests)

    run = run_dag(dag_source("paging", sync_task(catalog, max_concurrency=4)), "paging")

    assert interlude.error is None and interlude.nth == 0  # the edit was made between pages
    assert run.task_states() == {"sync": "success"}
    assert writes(emulator.requests[before:]) == [
        ("PATCH", f"{DPS_OFFERS}/{ids[0]}")  # the edit, by the interlude
    ]
    assert run.xcom("sync")["counts"]["unchanged"] == 105
    assert dps.get("/offers", **{"offer-type": "fallback", "limit": "1"})["total"] == 105


@needs_airflow_3_3  # dag.test() keeps the deferral count only in 3.3's task state store
def test_a_long_retry_after_during_the_apply_defers_then_applies_what_is_left(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    emulator = offer_library_emulator
    placement = dps.create_placement()
    catalog = [dps.offer_body(f"Offer {i}", placement) for i in range(4)]
    emulator.inject_fault("POST", DPS_OFFERS, status=429, retry_after=2, times=1)
    options = {"max_retry_after": 0.5, "max_concurrency": 1}

    run = run_dag(dag_source("deferral", sync_task(catalog, **options)), "deferral")

    assert run.task_states() == {"sync": "success"}
    assert sorted(o["name"] for o in dps.offers()) == [f"Offer {i}" for i in range(4)]
    posts = [r.status for r in emulator.requests if r.method == "POST" and r.path == DPS_OFFERS]
    assert posts.count(429) == 1 and len(posts) == 5  # the refused one sent again, once
    output = task_output()
    assert "the server asked to wait 2 s (Retry-After), longer than this task waits" in output
    assert "deferral 1 of at most 3" in output

    more = [*catalog, dps.offer_body("Offer 4", placement)]
    emulator.inject_fault("POST", DPS_OFFERS, status=429, retry_after=2, times=2)
    options["max_rate_limit_deferrals"] = 1
    run = run_dag(dag_source("deferral", sync_task(more, **options)), "deferral")

    assert run.task_states() == {"sync": "failed"}
    assert (
        "rate limited after 1 deferral(s), the most max_rate_limit_deferrals=1 allows"
    ) in task_output()
