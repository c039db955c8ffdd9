"""BatchDecisioningOperator and BatchDecisioningWorkloadSensor through `dag.test()` against the
emulator (both answer styles): complete, ERROR, a retried try resuming the same workload, and a
mapped run over audiences held back by the 5-per-dataset limit.

What is asserted: the task states, the XComs, the asset events, the task log, and what the
emulator received and holds (how many workloads, with which x-request-id).
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from airflow_compat import needs_airflow_3_3

WORKLOADS = "/data/core/dwm/workloads/decisions"
DATASET = "6196b4a1a63bd118dafe093c"
AUDIENCES = [str(uuid.UUID(int=n)) for n in range(1, 5)]


@pytest.fixture
def live_decision(dps, decision_world) -> dict[str, str]:
    """A live decision for the placement (made by someone else over plain HTTP)."""
    decision = dps.create(
        "/offer-decisions",
        {
            "name": "Batch decision",
            "status": "live",
            "fallback": decision_world["fallback"],
            "criteria": [
                {
                    "placements": [decision_world["placement"]],
                    "rank": {"priority": 0},
                    "optionSelection": {"filter": decision_world["collection"]},
                }
            ],
        },
    )["id"]
    return {**decision_world, "decision": decision}


def _dag(world: dict[str, str], org_id: str, task: str, **dag_args: object) -> str:
    propositions = [{"decision": world["decision"], "placement": world["placement"]}]
    return f"""
from datetime import datetime, timedelta
from airflow.sdk import DAG
from airflow_provider_offers.operators.batch_decisioning import (
    BatchDecisioningOperator,
    platform_dataset_asset,
)

PROPOSITIONS = {json.dumps(propositions)}
OUTPUT = platform_dataset_asset(org_id={org_id!r}, sandbox_name="prod", dataset_id={DATASET!r})

ARGS = {dag_args!r}

with DAG("batch_dag", schedule=None, start_date=datetime(2026, 1, 1), default_args=ARGS) as dag:
{task}
"""


def _workloads(emulator) -> list:
    return emulator.backend.workloads.in_dataset(DATASET)


def _starts(emulator) -> list:
    """Starts the emulator answered (a stale token's 401 is replayed once, not counted)."""
    return [
        r
        for r in emulator.requests
        if r.method == "POST" and r.path == WORKLOADS and r.status not in (None, 401)
    ]


def _asset_events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
        )
        return [dict(row.extra or {}) for row in rows]


@pytest.mark.parametrize("deferrable", [False, True], ids=["waiting", "deferred"])
def test_a_batch_decides_for_the_audience_into_the_dataset_and_marks_its_asset(
    deferrable, run_dag, adobe_connection, offer_library_emulator, live_decision, task_output
):
    emulator = offer_library_emulator
    emulator.configure(workload_step_seconds=(0.1, 0.1, 0.1))
    source = _dag(
        live_decision,
        emulator.org_id,
        f"""
    BatchDecisioningOperator(
        task_id="batch", audience_id={AUDIENCES[0]!r}, dataset_id={DATASET!r},
        propositions=PROPOSITIONS, poll_interval=0.1, deferrable={deferrable}, outlets=[OUTPUT],
    )
""",
    )
    before = len(_asset_events(f"adobe-platform://{emulator.org_id}/prod/datasets/{DATASET}"))

    run = run_dag(source, "batch_dag")

    assert run.task_states() == {"batch": "success"}
    (workload,) = _workloads(emulator)
    result = run.xcom("batch")
    assert set(result) == {
        "workload_id", "status", "dataset_id", "audience_id", "created", "finished", "detail"
    }  # fmt: skip
    assert result["workload_id"] == workload.ident
    assert (result["status"], result["dataset_id"], result["audience_id"]) == (
        "COMPLETED",
        DATASET,
        AUDIENCES[0],
    )
    assert result["created"].startswith(workload.created.strftime("%Y-%m-%dT%H:%M:%S"))
    (start,) = _starts(emulator)
    assert start.json == {
        "xdm:segmentIds": [AUDIENCES[0]],
        "xdm:dataSetId": DATASET,
        "xdm:propositionRequests": [
            {
                "xdm:activityId": live_decision["decision"],
                "xdm:placementId": live_decision["placement"],
                "xdm:itemCount": 1,
            }
        ],
        "xdm:includeContent": False,
    }
    assert start.headers["x-request-id"] == workload.request_id
    events = _asset_events(f"adobe-platform://{emulator.org_id}/prod/datasets/{DATASET}")
    assert events[before:] == [
        {"workload_id": workload.ident, "status": "COMPLETED", "audience_id": AUDIENCES[0]}
    ]
    assert f"Started workload {workload.ident}" in task_output()


def test_an_error_workload_fails_the_task_with_adobes_detail(
    run_dag, adobe_connection, offer_library_emulator, live_decision, task_output
):
    emulator = offer_library_emulator
    emulator.configure(workload_outcome="ERROR", workload_error_detail="Spark job 42 failed")
    source = _dag(
        live_decision,
        emulator.org_id,
        f"""
    BatchDecisioningOperator(
        task_id="batch", audience_id={AUDIENCES[0]!r}, dataset_id={DATASET!r},
        propositions=PROPOSITIONS, poll_interval=0.1, deferrable=True, retries=0,
    )
""",
    )

    run = run_dag(source, "batch_dag")

    assert run.task_states() == {"batch": "failed"}
    (workload,) = _workloads(emulator)
    assert workload.status == "ERROR"
    assert f"workload {workload.ident} (audience {AUDIENCES[0]}" in task_output()
    assert "ended in ERROR: Spark job 42 failed" in task_output()


@needs_airflow_3_3  # the workload id is kept in 3.3's task state store
def test_a_retry_after_a_failed_try_waits_on_the_same_workload(
    run_dag, adobe_connection, offer_library_emulator, live_decision, task_output
):
    """The first try starts the workload, then dies while waiting (a refusal it does not
    retry, as a killed worker would leave it); the second try resumes that workload."""
    emulator = offer_library_emulator
    emulator.inject_fault("GET", WORKLOADS + "/", status=403, times=1)
    source = _dag(
        live_decision,
        emulator.org_id,
        f"""
    BatchDecisioningOperator(
        task_id="batch", audience_id={AUDIENCES[1]!r}, dataset_id={DATASET!r},
        propositions=PROPOSITIONS, poll_interval=0.1, deferrable=False,
    )
""",
        retries=1,
        retry_delay=0,
    )

    run = run_dag(source, "batch_dag")

    assert run.task_states() == {"batch": "success"}
    (workload,) = _workloads(emulator)  # one workload: the retry did not start another
    assert len(_starts(emulator)) == 1
    assert run.xcom("batch")["workload_id"] == workload.ident
    assert f"Resuming workload {workload.ident}" in task_output()


def test_a_mapped_run_over_audiences_waits_for_the_dataset_limit_and_never_fails(
    run_dag, adobe_connection, offer_library_emulator, live_decision, dps, when_received
):
    """Five workloads from elsewhere fill the dataset's slots; Adobe refuses more with a 429
    (the emulator's `workload_limit_answer="429"`): every mapped task waits, none fails."""
    emulator = offer_library_emulator
    emulator.configure(
        workload_limit_answer="429",
        workload_limit_retry_after=0.2,
        workload_step_seconds=(0.0, 0.2, 0.1),
        workload_outcome="stuck",  # the five from elsewhere hold their slots...
    )
    body = {
        "xdm:dataSetId": DATASET,
        "xdm:propositionRequests": [
            {
                "xdm:activityId": live_decision["decision"],
                "xdm:placementId": live_decision["placement"],
            }
        ],
    }
    url = emulator.url + WORKLOADS
    for n in range(5):
        headers = {**dps.http.headers, "x-request-id": f"elsewhere-{n}"}
        body["xdm:segmentIds"] = [str(uuid.uuid4())]
        httpx.post(url, json=body, headers=headers).raise_for_status()
    emulator.configure(workload_outcome="COMPLETED")

    def finish_the_five() -> None:  # ...until our first start has been refused
        with emulator.backend.lock:
            for workload in _workloads(emulator):
                workload.outcome = "COMPLETED"

    when_received("POST", WORKLOADS, finish_the_five, answered=True)
    source = _dag(
        live_decision,
        emulator.org_id,
        f"""
    BatchDecisioningOperator.partial(
        task_id="batch", dataset_id={DATASET!r}, propositions=PROPOSITIONS, poll_interval=0.1,
        max_attempts=2, deferrable=False,
    ).expand(audience_id={AUDIENCES[:3]!r})
""",
    )

    run = run_dag(source, "batch_dag")

    assert run.task_states() == {f"batch[{i}]": "success" for i in range(3)}
    statuses = [r.status for r in _starts(emulator)]
    assert 429 in statuses  # the limit held the first start back
    ours = [w for w in _workloads(emulator) if w.audience_id in AUDIENCES]
    assert sorted(w.audience_id for w in ours) == sorted(AUDIENCES[:3])
    assert {w.status for w in _workloads(emulator)} == {"COMPLETED"}
    assert [run.xcom("batch", map_index=i)["status"] for i in range(3)] == ["COMPLETED"] * 3


@pytest.mark.parametrize(
    "mode", ['mode="poke"', 'mode="reschedule"', "deferrable=True"], ids=lambda m: m[:6]
)
def test_the_sensor_waits_for_a_workload_started_elsewhere(
    mode, run_dag, adobe_connection, offer_library_emulator, live_decision, dps, task_output
):
    emulator = offer_library_emulator
    emulator.configure(workload_step_seconds=(0.1, 0.2, 0.1))
    body = {
        "xdm:segmentIds": [AUDIENCES[2]],
        "xdm:dataSetId": DATASET,
        "xdm:propositionRequests": [
            {
                "xdm:activityId": live_decision["decision"],
                "xdm:placementId": live_decision["placement"],
            }
        ],
    }
    headers = {**dps.http.headers, "x-request-id": "started-elsewhere"}
    started = httpx.post(emulator.url + WORKLOADS, json=body, headers=headers).json()["@id"]
    source = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.sensors.batch_decisioning import BatchDecisioningWorkloadSensor

with DAG("sensor_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    BatchDecisioningWorkloadSensor(
        task_id="wait", workload_id={started!r}, poke_interval=0.1, timeout=60, {mode}
    )
"""

    run = run_dag(source, "sensor_dag")

    assert run.task_states() == {"wait": "success"}
    assert run.xcom("wait")["workload_id"] == started
    assert run.xcom("wait")["status"] == "COMPLETED"
    assert not _starts(emulator)[1:]  # the sensor started nothing
