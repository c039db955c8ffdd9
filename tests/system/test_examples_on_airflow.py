"""The example DAGs on the real Airflow stack: scheduler, DAG processor, triggerer, API server.

What `dag.test()` cannot show: a run triggered through the REST API with a conf, as the UI's
trigger form does; `airflow backfill create` run twice over the same days; a deferred sensor
resumed by the real triggerer. Everything runs against the emulator in a subprocess, with
LocalExecutor on SQLite, in a temporary AIRFLOW_HOME; every process is stopped at the end.

`[scheduler] use_job_schedule = False`: the daily example has `catchup=True`, and unpausing it
would otherwise schedule every day since its start date; this way only the backfills run it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_stack import AirflowStack, EmulatorView, stack_on_emulator
from secrets_scan import SecretsScan

# The real stack is slow on a loaded 2-core machine; every wait inside is bounded anyway.
pytestmark = pytest.mark.timeout(900)

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
DPS = "/data/core/dps"


@dataclass
class System:
    stack: AirflowStack
    emulator: EmulatorView


@pytest.fixture(scope="module")
def system(tmp_path_factory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("airflow-system")
    dags = home / "dags"
    dags.mkdir()
    for path in EXAMPLE_DAGS.glob("example_*.py"):
        shutil.copy(path, dags / path.name)
    settings = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with stack_on_emulator(home, dags, settings) as (stack, url):
        for dag_id in (
            "example_fallback_offer_ui",
            "example_fallback_offer_setup",
            "example_fallback_offer_daily",
        ):
            stack.wait_for_dag(dag_id)
            stack.unpause(dag_id)
        view = EmulatorView(url)
        yield System(stack, view)
        view.dps.close()


def test_ui_dag_triggered_through_the_rest_api_with_a_conf(system: System):
    stack = system.stack
    conf = {
        "name": "Winter sale fallback",
        "description": "Triggered with a conf",
        "image_url": "https://cdn.example.com/banners/winter.png",
        "status": "approved",
        "sandbox": "",
    }

    refused = stack.api(
        "POST",
        "/dags/example_fallback_offer_ui/dagRuns",
        json={"logical_date": None, "conf": {**conf, "status": "live"}},
    )
    assert refused.status_code == 400, refused.text
    assert "status" in refused.text

    run_id = stack.trigger("example_fallback_offer_ui", conf)
    stack.wait_for_run("example_fallback_offer_ui", run_id)

    result = stack.xcom("example_fallback_offer_ui", run_id, "create_fallback_offer")
    assert result["action"] == "created"
    (offer,) = [o for o in system.emulator.fallback_offers() if o["name"] == conf["name"]]
    assert offer["id"] == result["id"]
    assert offer["description"] == conf["description"]
    assert offer["status"] == "approved"
    (component,) = offer["representations"][0]["components"]
    assert component["deliveryURL"] == conf["image_url"]


def test_setup_dag_sensor_defers_and_the_triggerer_completes_it(system: System):
    """The patch comes before the sensor, so its first look would already see the change;
    the emulator answers that look (each of the client's five attempts) with a 503 so the
    sensor cannot read the offer and defers, and the triggerer's next look completes it. (A
    long 429 would now defer until the time asked, not into the trigger.)"""
    stack, emulator = system.stack, system.emulator
    emulator.inject_fault(method="GET", path_prefix=f"{DPS}/offers/", status=503, times=5)

    run_id = stack.trigger("example_fallback_offer_setup")
    seen_states: set[str | None] = set()

    def sensor_done() -> bool:
        state = stack.task_states("example_fallback_offer_setup", run_id).get(
            "wait_for_offer_change"
        )
        seen_states.add(state)
        return state in ("success", "failed", "upstream_failed")

    stack.wait(sensor_done, timeout=300, what="wait_for_offer_change to finish")
    stack.wait_for_run("example_fallback_offer_setup", run_id)

    offer = stack.xcom("example_fallback_offer_setup", run_id, "create_fallback_offer")
    change = stack.xcom("example_fallback_offer_setup", run_id, "wait_for_offer_change")
    assert change["previous_etag"] == offer["etag"]
    assert change["etag"] == offer["etag"] + 1
    offer_reads = [
        r["status"]
        for r in emulator.requests()
        if r["method"] == "GET" and r["path"] == f"{DPS}/offers/{offer['id']}"
    ]
    assert offer_reads[:5] == [503] * 5, offer_reads  # the sensor's look before deferring
    assert 200 in offer_reads[1:], offer_reads  # the trigger's look, from the triggerer
    assert "deferred" in seen_states, seen_states
    served = stack.xcom("example_fallback_offer_setup", run_id, "check_fallback_served")
    assert served["id"] == offer["id"]
    assert served["deliveryURL"].endswith("homepage-fallback-v2.png")


def _backfill_and_wait(stack: AirflowStack, *, reprocess: str) -> None:
    def backfills() -> list[dict]:
        return stack.api(
            "GET", "/backfills", params={"dag_id": "example_fallback_offer_daily"}
        ).json()["backfills"]

    before = len(backfills())
    for attempt in range(3):
        try:
            stack.airflow_cli(
                "backfill",
                "create",
                "--dag-id",
                "example_fallback_offer_daily",
                "--from-date",
                "2026-11-01",
                "--to-date",
                "2026-11-03",
                "--reprocess-behavior",
                reprocess,
            )
            break
        except AssertionError as error:
            # SQLite shared by five processes can still refuse a write. The backfill row is
            # committed before its runs are made, so a refusal can leave a partial backfill:
            # cancel it (Airflow refuses a second active one), then try again.
            if "database is locked" not in str(error) or attempt == 2:
                raise
            for partial in backfills():
                if not partial["completed_at"]:
                    stack.api("PUT", f"/backfills/{partial['id']}/cancel").raise_for_status()
            before = len(backfills())

    def all_completed() -> bool:
        found = backfills()
        return len(found) > before and all(b["completed_at"] for b in found)

    stack.wait(all_completed, timeout=300, what="the daily backfill to complete")


def test_daily_dag_backfilled_twice_keeps_one_offer_per_day(system: System):
    stack, emulator = system.stack, system.emulator
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]

    _backfill_and_wait(stack, reprocess="none")
    # The second backfill re-runs the same three days (runs that already completed).
    _backfill_and_wait(stack, reprocess="completed")

    runs = stack.api("GET", "/dags/example_fallback_offer_daily/dagRuns").json()["dag_runs"]
    assert sorted(r["logical_date"][:10] for r in runs) == days
    assert {r["state"] for r in runs} == {"success"}, runs
    daily = [o for o in emulator.fallback_offers() if o["name"].startswith("Example daily")]
    assert sorted(o["name"] for o in daily) == [f"Example daily fallback {day}" for day in days]
    received = emulator.requests()
    creates = [r for r in received if r["method"] == "POST" and r["path"] == f"{DPS}/offers"]
    daily_creates = [r for r in creates if r["json"]["name"].startswith("Example daily")]
    assert len(daily_creates) == 3
    # Both backfills really ran every day: one look-up by name per run of the create task, and
    # each create looked once more, to keep the oldest if another writer created the name too.
    # A backfill refused by SQLite and retried clears a day once more: its try number is then
    # higher than the runs it made, hence a range.
    for run in runs:
        day = run["logical_date"][:10]
        tries = stack.api(
            "GET",
            f"/dags/example_fallback_offer_daily/dagRuns/{run['dag_run_id']}"
            "/taskInstances/create_daily_fallback_offer",
        ).json()["try_number"]
        lookups = [
            r
            for r in received
            if r["method"] == "GET"
            and r["path"] == f"{DPS}/offers"
            and any(f"Example daily fallback {day}" in p for p in r["query"].get("property", []))
        ]
        assert 2 + 1 <= len(lookups) <= tries + 1, (day, tries, lookups)


def test_no_secret_or_token_in_the_task_logs_or_any_file_the_stack_wrote(system: System):
    """After the runs above (this module's tests run in file order): neither the client
    secret nor any access token the emulator issued is in a task log file, a component's log,
    the metadata DB (XCom, rendered template fields) or any other file in the stack's home."""
    from airflow_provider_offers.emulator.config import DEFAULT_CLIENT_SECRET

    home = system.stack.home
    digests = system.emulator.issued_token_digests()
    tokens = {f"access token {i + 1}": d for i, d in enumerate(digests)}
    assert tokens, "no token was issued: run the whole module, the runs above make them"
    scan = SecretsScan({"client secret": DEFAULT_CLIENT_SECRET}, token_digests=tokens)

    scan.files(home)

    assert list((home / "logs").rglob("*.log")), "no task log file was written"
    print(scan.summary())
    scan.assert_clean()
