"""Long rate limits: a `Retry-After` beyond what the client waits in-process defers the task
until the time the server asked for, then its work runs again; at most
`max_rate_limit_deferrals` times, then the task fails naming the wait. Through `dag.test()`."""

from __future__ import annotations

from airflow_compat import needs_airflow_3_3

DPS = "/data/core/dps"

DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator

with DAG("rate_limited", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    CreateFallbackOfferOperator(task_id="offer", offer={offer!r}, max_retry_after=0.5)
    CreatePlacementOperator(
        task_id="placement",
        placement={placement!r},
        max_retry_after=0.5,
        max_rate_limit_deferrals=1,
    )
"""


@needs_airflow_3_3  # dag.test() keeps the deferral count only in 3.3's task state store
def test_a_long_retry_after_defers_the_task_then_it_resumes_or_fails_naming_the_wait(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    emulator = offer_library_emulator
    placement = dps.create_placement("Homepage banner")
    offer = dps.offer_body("Spring fallback", placement)
    emulator.inject_fault("GET", f"{DPS}/offers", status=429, retry_after=2)
    emulator.inject_fault("GET", f"{DPS}/placements", status=429, retry_after=2, times=2)

    source = DAG.format(offer=offer, placement=dps.placement_body("Sidebar"))
    run = run_dag(source, "rate_limited")

    assert run.task_states() == {"offer": "success", "placement": "failed"}
    assert run.xcom("offer")["action"] == "created"
    assert [o["name"] for o in dps.offers()] == ["Spring fallback"]  # resumed once, created once
    output = task_output()
    assert "the server asked to wait 2 s (Retry-After), longer than this task waits" in output
    assert "deferral 1 of at most 3" in output
    assert "deferral 1 of at most 1" in output
    assert (
        "rate limited after 1 deferral(s), the most max_rate_limit_deferrals=1 allows: "
        "the server asked to wait 2 s more"
    ) in output
    placements = [r for r in emulator.requests if r.path == f"{DPS}/placements"]
    assert [r.status for r in placements if r.method == "GET"] == [429, 429]  # never slept 2 s
    assert [p["name"] for p in dps.get("/placements")["results"]] == ["Homepage banner"]
