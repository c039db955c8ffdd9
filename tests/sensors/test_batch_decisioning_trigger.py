"""BatchDecisioningTrigger against the emulator over loopback HTTP: it survives serialisation,
waits out transient errors, and yields one event (done, failed, timeout)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from airflow_compat import deserialize, serialize

from airflow_provider_offers.triggers.batch_decisioning import BatchDecisioningTrigger

WORKLOADS = "/data/core/dwm/workloads/decisions"


def _start(emulator, dps) -> str:
    body = {
        "xdm:segmentIds": [str(uuid.uuid4())],
        "xdm:dataSetId": "6196b4a1a63bd118dafe093c",
        "xdm:propositionRequests": [
            {"xdm:activityId": "dps:offer-activity:00", "xdm:placementId": "dps:offer-placement:0"}
        ],
    }
    headers = {**dps.http.headers, "x-request-id": str(uuid.uuid4())}
    return httpx.post(emulator.url + WORKLOADS, json=body, headers=headers).json()["@id"]


def _event(trigger: BatchDecisioningTrigger) -> dict:
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first())


def test_the_trigger_round_trips_and_reports_the_error_after_transient_failures(
    offer_library_emulator, adobe_connection, dps
):
    emulator = offer_library_emulator
    ident = _start(emulator, dps)  # no such decision: the workload ends in ERROR
    emulator.inject_fault("GET", WORKLOADS, status=503, times=6)  # beyond the client's retries
    trigger = BatchDecisioningTrigger(workload_id=ident, poll_interval=0.05, max_attempts=2)
    classpath, kwargs = trigger.serialize()
    restored = BatchDecisioningTrigger(**deserialize(serialize(kwargs)))  # as the triggerer

    event = _event(restored)

    assert restored.serialize() == (classpath, kwargs)
    assert classpath == "airflow_provider_offers.triggers.batch_decisioning.BatchDecisioningTrigger"
    assert event["status"] == "failed"
    assert "was not found in the sandbox" in event["detail"]
    gets = [
        r.status for r in emulator.requests if r.method == "GET" and r.path.startswith(WORKLOADS)
    ]
    assert gets.count(503) == 6 and gets[-1] == 200


def test_the_trigger_times_out_on_a_stuck_workload(offer_library_emulator, adobe_connection, dps):
    emulator = offer_library_emulator
    emulator.configure(workload_outcome="stuck")
    ident = _start(emulator, dps)
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=0.3)).isoformat()

    event = _event(
        BatchDecisioningTrigger(workload_id=ident, poll_interval=0.05, deadline=deadline)
    )

    assert event["status"] == "timeout"
    assert event["workload"]["ode:status"] in ("QUEUED", "PROCESSING")
