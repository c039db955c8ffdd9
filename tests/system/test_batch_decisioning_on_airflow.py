"""example_offer_batch_decisioning on the real stack: the workload is waited for in the
triggerer, and its output dataset's asset event starts the downstream DAG.

The example is copied into the DAGs folder with its `poll_interval` shortened from 30 s to 1 s
(nothing else changed). The emulator's workloads take a few seconds per state, as Adobe's take
minutes, so the wait really defers. What the test reads is what a user sees: the runs, the
task's XCom, the asset event that started the downstream run, and the workloads Adobe holds.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from airflow_stack import stack_on_emulator

pytestmark = pytest.mark.timeout(900)

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "example_dags" / "example_offer_batch_decisioning.py"
)
DAG_ID = "example_offer_batch_decisioning"
DOWNSTREAM = "example_offer_batch_decisioning_downstream"
WORKLOADS = "/data/core/dwm/workloads/decisions"


def test_the_workload_is_waited_for_in_the_triggerer_and_starts_the_downstream_dag(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    source = EXAMPLE.read_text()
    assert source.count("poll_interval=30,") == 1
    (dags / EXAMPLE.name).write_text(source.replace("poll_interval=30,", "poll_interval=1,"))
    with stack_on_emulator(tmp_path, dags) as (stack, url):
        configured = httpx.post(
            f"{url}/_emulator/configure", json={"workload_step_seconds": [2, 2, 2]}, timeout=10
        )
        assert configured.status_code == 200, configured.text
        for dag_id in (DAG_ID, DOWNSTREAM):
            stack.wait_for_dag(dag_id)
            stack.unpause(dag_id)
        run_id = stack.trigger(DAG_ID)
        stack.wait_for_run(DAG_ID, run_id, timeout=300)

        result = stack.xcom(DAG_ID, run_id, "batch_decide")
        assert result["status"] == "COMPLETED"
        requests = httpx.get(f"{url}/_emulator/requests", timeout=10).json()
        starts = [r for r in requests if r["method"] == "POST" and r["path"] == WORKLOADS]
        polls = [
            r
            for r in requests
            if r["method"] == "GET" and r["path"] == f"{WORKLOADS}/{result['workload_id']}"
        ]
        assert len(starts) == 1
        assert len(polls) >= 2  # it waited: the workload was not done at the first look
        log = stack.task_log_tails(DAG_ID, run_id)
        assert "deferred" in log.lower() or "defer" in log.lower(), log

        def downstream_done() -> list[dict] | None:
            runs = stack.api("GET", f"/dags/{DOWNSTREAM}/dagRuns").json()["dag_runs"]
            done = [r for r in runs if r["state"] == "success"]
            return done or None

        (downstream,) = stack.wait(downstream_done, timeout=180, what="the downstream run")
        events = stack.api(
            "GET", f"/dags/{DOWNSTREAM}/dagRuns/{downstream['dag_run_id']}/upstreamAssetEvents"
        ).json()["asset_events"]
        assert [event["extra"]["workload_id"] for event in events] == [result["workload_id"]]
        assert events[0]["uri"].startswith("adobe-platform://")
        used = stack.xcom(DOWNSTREAM, downstream["dag_run_id"], "use_the_offers")
        assert used[0]["workload_id"] == result["workload_id"]
