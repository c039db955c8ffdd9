"""example_offer_catalog_sync through `dag.test()`: plan, a person's answer, apply.

`dag.test()` keeps a human-in-the-loop task waiting until an answer is recorded in the
metadata DB; a reviewer process (`hitl_reviewer.py`) records it through the Airflow API
server's own handler for the "Required Actions" form (the call the UI makes).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from airflow_compat import needs_awaiting_input

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
REVIEWER = Path(__file__).with_name("hitl_reviewer.py")
DAG_ID = "example_offer_catalog_sync"
OFFERS = "/data/core/dps/offers"
NAMES = ["Example catalog homepage fallback", "Example catalog homepage fallback (night)"]


@pytest.fixture
def catalog_beside_the_dag(tmp_dags):
    """The example's catalog directory, where `run_dag` puts the DAG file."""
    target = tmp_dags / "offer_catalog"
    shutil.copytree(EXAMPLE_DAGS / "offer_catalog", target)
    yield target
    shutil.rmtree(target)


@pytest.fixture
def reviewer(tmp_path):
    """`reviewer(*answers)`: a person (another process) giving these answers to the approval
    of successive runs; returns the forms they saw once every answer was given."""
    started: list[subprocess.Popen] = []
    shown = tmp_path / "shown.json"

    def start(*answers: str) -> Callable[[], list[dict]]:
        command = [sys.executable, str(REVIEWER), DAG_ID, "approve", ",".join(answers), shown]
        started.append(subprocess.Popen([str(part) for part in command]))

        def forms() -> list[dict]:
            assert started[-1].wait(timeout=60) == 0
            return json.loads(shown.read_text())

        return forms

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def offer_writes(requests) -> list:
    return [r for r in requests if r.path.startswith(OFFERS) and r.method != "GET"]


@needs_awaiting_input
def test_rejected_plan_writes_nothing_and_approved_plan_is_applied(
    run_dag, reviewer, catalog_beside_the_dag, adobe_connection, offer_library_emulator, dps
):
    emulator = offer_library_emulator
    placement = dps.create_placement("Somewhere else")
    hand_made = dps.create_offer(dps.offer_body("Made by hand", placement))
    before = len(emulator.requests)
    forms = reviewer("Reject", "Approve")
    source = (EXAMPLE_DAGS / f"{DAG_ID}.py").read_text()

    rejected = run_dag(source, DAG_ID)

    assert rejected.task_states() == {
        "homepage_placement": "success",
        "plan": "success",
        "approve": "success",
        "apply": "skipped",
    }
    assert offer_writes(emulator.requests[before:]) == []
    assert [o["name"] for o in dps.offers()] == ["Made by hand"]

    approved = run_dag(source, DAG_ID)
    rejected_form, approved_form = forms()

    assert approved.state == "success", approved.task_states()
    assert approved.xcom("apply")["counts"]["created"] == 2
    stored = {o["name"]: o for o in dps.offers()}
    assert sorted(stored) == sorted([*NAMES, "Made by hand"])
    assert stored[NAMES[0]]["characteristics"] == {"airflow-offer-catalog": "example-homepage"}
    placement_ids = {o["representations"][0]["placement"] for n, o in stored.items() if n in NAMES}
    assert placement_ids == {approved.xcom("homepage_placement")["id"]}
    assert [r.method for r in offer_writes(emulator.requests[before:]) if r.status < 300] == [
        "POST",
        "POST",
    ]
    assert dps.get_offer(hand_made["id"])["etag"] == hand_made["etag"]
    # What the reviewer saw: the plan as a Markdown table, the same both times (the rejected
    # run wrote nothing).
    assert rejected_form == approved_form
    assert rejected_form["subject"] == "Apply offer catalog 'example-homepage' to sandbox prod?"
    assert rejected_form["body"].splitlines()[:4] == [
        "**2 created**",
        "",
        "| action | name | id | fields | etag |",
        "| --- | --- | --- | --- | --- |",
    ]
    assert f"| create | {NAMES[0]} | - |" in rejected_form["body"]
