"""SyncFallbackOffersOperator through `dag.test()` against the emulator over loopback.

Each test runs one DAG (a few at most) and checks what a user would look at: task states,
the XCom (counts and plan), the task log, and what the Offer Library received and holds.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_offers.api.catalog import MARKER

DPS = "/data/core/dps"
DPS_OFFERS = f"{DPS}/offers"


def dag_source(dag_id: str, tasks: str) -> str:
    return f"""
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
{tasks}
"""


def writes(requests) -> list:
    return [r for r in requests if r.path.startswith(DPS) and r.method != "GET"]


def answered(requests) -> list:
    """Requests answered other than with a 401 (a stale token from an earlier test, replayed)."""
    return [r for r in requests if r.status is not None and r.status != 401]


def counts(**given: int) -> dict[str, int]:
    """The `counts` of a sync result: zero unless given."""
    return dict.fromkeys(("created", "updated", "unchanged", "deleted", "blocked"), 0) | given


@pytest.fixture
def placement(dps) -> str:
    return dps.create_placement("Homepage banner")


def offers_named(dps) -> dict[str, dict]:
    return {offer["name"]: offer for offer in dps.offers()}


def test_create_into_empty_then_unchanged_resync_lists_only_then_one_guarded_patch(
    run_dag, tmp_dags, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    folder = tmp_dags / "spring_catalog"
    folder.mkdir(exist_ok=True)
    offers = [dps.offer_body(f"Spring {i}", placement, description=f"v1 {i}") for i in range(3)]
    # A directory of catalog files, one YAML and one JSON, relative to the DAG file.
    (folder / "a.yaml").write_text(json.dumps({"offers": offers[:2]}))  # JSON is YAML too
    (folder / "b.json").write_text(json.dumps(offers[2]))
    tasks = """
    SyncFallbackOffersOperator(
        task_id="sync", offers_file="spring_catalog", catalog="spring", max_concurrency=2
    )
"""
    try:
        run = run_dag(dag_source("sync_lifecycle", tasks), "sync_lifecycle")
        assert run.task_states() == {"sync": "success"}
        stored = offers_named(dps)
        assert sorted(stored) == ["Spring 0", "Spring 1", "Spring 2"]
        assert {o["characteristics"][MARKER] for o in stored.values()} == {"spring"}
        result = run.xcom("sync")
        assert result["counts"] == counts(created=3)
        assert [(e["name"], e["action"], e["id"]) for e in result["plan"]] == [
            (f"Spring {i}", "create", None) for i in range(3)
        ]
        assert "fields" in result["plan"][0] and "description" in result["plan"][0]["fields"]

        before = len(emulator.requests)
        again = run_dag(dag_source("sync_lifecycle", tasks), "sync_lifecycle")
        assert again.xcom("sync")["counts"]["unchanged"] == 3
        sent = answered(emulator.requests[before:])
        assert {(r.method, r.path) for r in sent} == {
            ("GET", DPS_OFFERS),
            ("GET", f"{DPS}/placements"),
        }

        offers[1]["description"] = "v2 1"
        (folder / "a.yaml").write_text(json.dumps({"offers": offers[:2]}))
        before = len(emulator.requests)
        changed = run_dag(dag_source("sync_lifecycle", tasks), "sync_lifecycle")
        (patch,) = writes(emulator.requests[before:])
        target = stored["Spring 1"]
        assert (patch.method, patch.path) == ("PATCH", f"{DPS_OFFERS}/{target['id']}")
        assert patch.json == [
            {"op": "test", "path": "/description", "value": "v1 1"},
            {"op": "replace", "path": "/description", "value": "v2 1"},
        ]
        entry = next(e for e in changed.xcom("sync")["plan"] if e["action"] == "update")
        assert entry == {
            "name": "Spring 1",
            "id": target["id"],
            "action": "update",
            "fields": ["description"],
            "etag": target["etag"],
            "changes": {"description": {"old": "v1 1", "new": "v2 1"}},
        }
        assert dps.get_offer(target["id"])["description"] == "v2 1"
        output = task_output()
        assert "Plan for catalog 'spring' in sandbox 'prod': 1 updated, 2 unchanged" in output
        assert f"update  Spring 1  {target['id']}  description  {target['etag']}" in output
        assert "Applied 1/1 writes" in output
    finally:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


@pytest.fixture
def decision_using(dps, placement):
    """`decision_using(offer_id)`: a live decision serving that offer as its fallback."""

    def make(offer_id: str) -> dict:
        tag = dps.create("/tags", {"name": "Spring"})["id"]
        collection = dps.create(
            "/offer-collections", {"name": "Spring", "filterType": "any-tags", "ids": [tag]}
        )["id"]
        criteria = [{"placements": [placement], "optionSelection": {"filter": collection}}]
        body = {"name": "Homepage decision", "status": "live", "fallback": offer_id}
        return dps.create("/offer-decisions", {**body, "criteria": criteria})

    return make


def test_prune_deletes_only_its_own_offers_and_never_a_decisions_fallback(
    run_dag, adobe_connection, offer_library_emulator, dps, placement, decision_using, task_output
):
    emulator = offer_library_emulator

    def marked(name: str, catalog: str) -> str:
        body = dps.offer_body(name, placement, characteristics={MARKER: catalog})
        return dps.create_offer(body)["id"]

    hand_made = dps.create_offer(dps.offer_body("Hand made", placement))["id"]
    other = marked("Other catalog's", "autumn")
    served = marked("Served", "spring")
    unwanted = marked("Unwanted", "spring")
    decision = decision_using(served)
    keep = [dps.offer_body("Keep", placement)]
    tasks = f"""
    strict = SyncFallbackOffersOperator(
        task_id="strict", offers={keep!r}, catalog="spring", prune=True
    )
    skipping = SyncFallbackOffersOperator(
        task_id="skipping", offers={keep!r}, catalog="spring", prune=True, skip_blocked=True,
        trigger_rule="all_done",
    )
    strict >> skipping
"""
    before = len(emulator.requests)

    run = run_dag(dag_source("sync_prune", tasks), "sync_prune")

    assert run.task_states() == {"strict": "failed", "skipping": "success"}
    output = task_output()
    assert (
        f"offer 'Served' ({served}) is the fallback of decision(s) "
        f"'Homepage decision' ({decision['id']})"
    ) in output
    assert [(r.method, r.path) for r in writes(emulator.requests[before:])] == [
        ("POST", DPS_OFFERS),  # "Keep", by the second task only
        ("DELETE", f"{DPS_OFFERS}/{unwanted}"),
    ]
    stored = offers_named(dps)
    assert sorted(stored) == ["Hand made", "Keep", "Other catalog's", "Served"]
    assert {stored["Hand made"]["id"], stored["Other catalog's"]["id"]} == {hand_made, other}
    result = run.xcom("skipping")
    assert result["counts"] == counts(created=1, deleted=1, blocked=1)
    blocked = next(e for e in result["plan"] if e["action"] == "blocked")
    assert blocked["decisions"] == [f"'Homepage decision' ({decision['id']})"]


def test_dry_run_writes_nothing_and_a_drifted_plan_is_refused(
    run_dag, tmp_path, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    existing = dps.create_offer(dps.offer_body("Existing", placement, description="v1"))["id"]
    catalog = [
        dps.offer_body("Existing", placement, description="v2"),
        dps.offer_body("New", placement),
    ]
    # The plan reads the catalog from an object storage URL (a local one: only with the
    # opt-in); the placement id, which differs between sandboxes, comes from `values`.
    templated = [dps.offer_body(o["name"], {"$value": "placement"}) for o in catalog]
    templated[0]["description"] = "v2"
    (tmp_path / "catalog.json").write_text(json.dumps(templated))
    plan_task = f"""
    SyncFallbackOffersOperator(
        task_id="plan",
        offers_file="file://{tmp_path}/catalog.json",
        allow_outside_dag_folder=True,
        values={{"placement": "{{{{ params.placement }}}}"}},
        params={{"placement": {placement!r}}},
        catalog="c",
        dry_run=True,
    )
"""
    before = len(emulator.requests)
    planned = run_dag(dag_source("sync_plan", plan_task), "sync_plan").xcom("plan")

    assert writes(emulator.requests[before:]) == []
    assert planned["dry_run"] is True
    assert [(e["name"], e["action"]) for e in planned["plan"]] == [
        ("Existing", "update"),
        ("New", "create"),
    ]

    dps.patch_offer(existing, [{"op": "add", "path": "/description", "value": "by hand"}])
    apply_tasks = f"""
    SyncFallbackOffersOperator(
        task_id="apply", offers={catalog!r}, catalog="c", expected_plan={planned!r}
    )
"""
    before = len(emulator.requests)
    run = run_dag(dag_source("sync_apply", apply_tasks), "sync_apply")

    assert run.task_states() == {"apply": "failed"}
    assert writes(emulator.requests[before:]) == []
    assert (
        "the plan changed since it was approved, for 'Existing' ('Existing': etag approved "
        f"{json.dumps(planned['plan'][0]['etag'])}, now "
    ) in task_output()
    assert "nothing was written" in task_output()


def test_bad_catalogs_fail_before_any_write_each_named(
    run_dag, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    good = dps.offer_body("Fine", placement)
    typo = dps.offer_body("Typo", placement, stauts="approved")
    elsewhere = dps.offer_body("Elsewhere", "dps:offer-placement:0000000000000000")
    tasks = f"""
    SyncFallbackOffersOperator(task_id="duplicates", offers={[good, good]!r}, catalog="c")
    SyncFallbackOffersOperator(task_id="invalid", offers={[good, typo]!r}, catalog="c")
    SyncFallbackOffersOperator(task_id="placement", offers={[good, elsewhere]!r}, catalog="c")
"""
    before = len(emulator.requests)

    run = run_dag(dag_source("sync_bad", tasks), "sync_bad")

    assert set(run.task_states().values()) == {"failed"}
    sent = emulator.requests[before:]
    assert writes(sent) == []
    assert {r.method for r in sent if r.path.startswith(DPS)} == {"GET"}  # "placement" only
    output = task_output()
    assert "the name 'Fine' is used 2 times (offers[0], offers[1])" in output
    assert "offers[1] ('Typo'): unknown field(s) 'stauts'" in output
    assert (
        "offer 'Elsewhere': representations[0].placement 'dps:offer-placement:0000000000000000' "
        "is not a placement of this sandbox"
    ) in output


class ArrivalClock:
    """When each request reached the emulator (polled every millisecond)."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        seen = len(self.emulator.requests)
        while not self.stop.is_set():
            count = len(self.emulator.requests)
            self.times.extend([time.monotonic()] * (count - seen))
            seen = count
            time.sleep(0.001)

    def close(self) -> list[float]:
        self.stop.set()
        self.thread.join()
        return self.times


def test_a_429_holds_every_worker_and_a_lost_create_is_not_duplicated(
    run_dag, adobe_connection, offer_library_emulator, dps, placement
):
    emulator = offer_library_emulator
    catalog = [dps.offer_body(f"Offer {i}", placement) for i in range(8)]
    tasks = f"""
    SyncFallbackOffersOperator(task_id="sync", offers={catalog!r}, catalog="c", max_concurrency=4)
"""
    emulator.inject_fault("POST", DPS_OFFERS, status=429, retry_after=2, times=1)
    emulator.inject_fault("POST", DPS_OFFERS, drop_after_commit=True, times=1)
    before = len(emulator.requests)
    clock = ArrivalClock(emulator)
    try:
        run = run_dag(dag_source("sync_faults", tasks), "sync_faults")
    finally:
        arrivals = clock.close()

    assert run.task_states() == {"sync": "success"}
    assert sorted(offers_named(dps)) == [f"Offer {i}" for i in range(8)]  # none twice
    sent = emulator.requests[before:]
    posts = [i for i, r in enumerate(sent) if r.method == "POST" and r.path == DPS_OFFERS]
    assert [sent[i].status for i in posts].count(429) == 1
    assert len(posts) == 9  # eight offers and the refused one again; the lost one not resent
    refused = arrivals[posts[0]]
    in_window = [i for i in posts[1:] if refused < arrivals[i] < refused + 1.8]
    assert len(in_window) <= 3  # only the requests already under way when the 429 came back
    assert run.xcom("sync")["counts"]["created"] == 8
