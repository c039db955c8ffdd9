"""The emulator's Batch Decisioning API over loopback HTTP: the documented body and answers, the
state machine, ERROR and stuck workloads, the 5-per-dataset limit, and fault injection."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

WORKLOADS = "/data/core/dwm/workloads/decisions"
DATASET = "6196b4a1a63bd118dafe093c"
AUDIENCE = "609028e4-e66c-4776-b0d9-c782887e2273"


class Clock:
    """A clock the test moves (the emulator's `clock` setting)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(emulator) -> Clock:
    clock = Clock()
    emulator.configure(clock=clock, workload_step_seconds=(1, 10, 5))
    return clock


def body(world, dataset: str = DATASET, **changes) -> dict:
    return {
        "xdm:segmentIds": [str(uuid.uuid4())],
        "xdm:dataSetId": dataset,
        "xdm:propositionRequests": [
            {
                "xdm:activityId": world["decision"],
                "xdm:placementId": world["placement"],
                "xdm:itemCount": 1,
            }
        ],
        "xdm:includeContent": False,
        **changes,
    }


def start(http, headers, sent: dict, request_id: str | None = "req-1"):
    extra = {"x-request-id": request_id} if request_id else {}
    return http.post(WORKLOADS, json=sent, headers={**headers, **extra})


def status(http, headers, ident: str) -> dict:
    return http.get(f"{WORKLOADS}/{ident}", headers=headers).raise_for_status().json()


def test_a_workload_goes_queued_processing_ingesting_completed(
    http, headers, world, emulator, clock
):
    answer = start(http, headers, body(world)).raise_for_status().json()

    assert set(answer) == {"@id", "xdm:imsOrgId", "ode:createDate", "ode:status"}
    assert uuid.UUID(answer["@id"])
    assert answer["xdm:imsOrgId"] == emulator.org_id
    assert answer["ode:createDate"] == int(clock.now.timestamp() * 1000)
    seen = [answer["ode:status"]]
    for seconds in (1, 10, 5):
        clock.tick(seconds)
        seen.append(status(http, headers, answer["@id"])["ode:status"])
    assert seen == ["QUEUED", "PROCESSING", "INGESTING", "COMPLETED"]
    clock.tick(-15)
    processing = status(http, headers, answer["@id"])  # the answer does not go back
    assert processing["ode:status"] == "COMPLETED"


def test_processing_shows_the_spark_job_and_error_shows_what_went_wrong(
    http, headers, world, emulator, clock
):
    ident = start(http, headers, body(world)).json()["@id"]
    clock.tick(2)
    assert set(status(http, headers, ident)["ode:statusDetail"]) == {"sparkJobId", "batchId"}

    emulator.configure(workload_outcome="ERROR", workload_error_detail="no snapshot")
    failing = start(http, headers, body(world)).json()["@id"]
    clock.tick(20)
    assert status(http, headers, failing)["ode:status"] == "ERROR"
    assert status(http, headers, failing)["ode:statusDetail"] == "no snapshot"

    emulator.configure(workload_outcome="stuck")
    stuck = start(http, headers, body(world)).json()["@id"]
    clock.tick(10_000)
    assert status(http, headers, stuck)["ode:status"] == "PROCESSING"


def test_a_decision_that_cannot_serve_the_placement_ends_in_error(http, headers, world, clock):
    sent = body(world)
    sent["xdm:propositionRequests"][0]["xdm:activityId"] = "dps:offer-activity:0000"
    ident = start(http, headers, sent).raise_for_status().json()["@id"]
    clock.tick(20)
    answer = status(http, headers, ident)
    assert answer["ode:status"] == "ERROR"
    assert "dps:offer-activity:0000 was not found" in answer["ode:statusDetail"]


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"xdm:segmentIds": [AUDIENCE, AUDIENCE]}, "exactly one audience"),
        ({"xdm:segmentIds": []}, "exactly one audience"),
        ({"xdm:dataSetId": ""}, "xdm:dataSetId: is required"),
        ({"xdm:propositionRequests": []}, "at least one proposition request"),
        ({"xdm:includeContent": "no"}, "xdm:includeContent: must be true or false"),
        ({"xdm:profiles": []}, "xdm:profiles: unknown member"),
    ],
)
def test_the_body_is_checked_as_documented(http, headers, world, change, detail):
    response = start(http, headers, body(world, **change))
    assert response.status_code == 400
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("count", [0, 31, "1"])
def test_item_count_is_1_to_30(http, headers, world, count):
    sent = body(world)
    sent["xdm:propositionRequests"][0]["xdm:itemCount"] = count
    assert start(http, headers, sent).status_code == 400


def test_x_request_id_is_required_and_unknown_workloads_are_404(http, headers, world):
    response = start(http, headers, body(world), request_id=None)
    assert response.status_code == 400
    assert "x-request-id" in response.json()["detail"]
    assert http.get(f"{WORKLOADS}/{uuid.uuid4()}", headers=headers).status_code == 404


def test_five_run_per_dataset_and_the_sixth_waits_in_the_queue(http, headers, world, clock):
    idents = [start(http, headers, body(world)).json()["@id"] for _ in range(6)]
    other = start(http, headers, body(world, dataset="0" * 24)).json()["@id"]
    clock.tick(2)
    seen = [status(http, headers, ident)["ode:status"] for ident in idents]
    assert seen == ["PROCESSING"] * 5 + ["QUEUED"]
    assert status(http, headers, other)["ode:status"] == "PROCESSING"  # its own dataset
    clock.tick(15)  # the first five are done: the sixth takes a slot
    assert [status(http, headers, i)["ode:status"] for i in idents] == ["COMPLETED"] * 5 + [
        "PROCESSING"
    ]


def test_the_limit_may_answer_429_instead(http, headers, world, emulator, clock):
    emulator.configure(workload_limit_answer="429", workload_limit_retry_after=7)
    for _ in range(5):
        start(http, headers, body(world)).raise_for_status()
    refused = start(http, headers, body(world))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "7"
    clock.tick(20)
    assert start(http, headers, body(world)).status_code == 200


def test_injected_faults_apply_to_the_workload_routes(http, headers, world, emulator):
    emulator.inject_fault("GET", WORKLOADS, status=503, times=1)
    ident = start(http, headers, body(world)).json()["@id"]
    assert http.get(f"{WORKLOADS}/{ident}", headers=headers).status_code == 503
    assert http.get(f"{WORKLOADS}/{ident}", headers=headers).status_code == 200
