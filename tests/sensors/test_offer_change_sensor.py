"""OfferChangeSensor end to end: real Airflow (dag.test()) against the emulator over HTTP.

Each test writes a tiny DAG, runs it, and reads back what a user would see: task states, the
sensor's XCom, its log lines, and what the emulator was asked.
"""

from __future__ import annotations

import pytest
from airflow_compat import HAS_STATE_STORES, needs_airflow_3_3

from airflow_provider_offers.api.change import parse_modified

POKE_INTERVAL = 0.3


def sensor_dag(dag_id: str, *sensors: str, upstream_etag: int | None = None, native=False) -> str:
    """DAG source with the given OfferChangeSensor(...) calls; optionally an upstream `create`
    task returning a receipt-like dict, as an offer operator would."""
    upstream = ""
    if upstream_etag is not None:
        upstream = f"""
    @task
    def create():
        return {{"id": "ignored", "etag": {upstream_etag}}}

    created = create()
"""
    body = "\n".join(f"    s{i} = {sensor}" for i, sensor in enumerate(sensors))
    chain = "\n".join(f"    created >> s{i}" for i in range(len(sensors))) if upstream else ""
    return f"""
import datetime
from airflow.sdk import DAG, task
from airflow_provider_offers.sensors.offers import OfferChangeSensor

with DAG(
    {dag_id!r},
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    render_template_as_native_obj={native},
) as dag:
{upstream}
{body}
{chain}
"""


def sensor(task_id: str, offer_id: str, **kwargs) -> str:
    kwargs.setdefault("poke_interval", POKE_INTERVAL)
    kwargs.setdefault("timeout", 20)
    args = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return f"OfferChangeSensor(task_id={task_id!r}, offer_id={offer_id!r}, {args})"


def reschedule_count(dag_id: str) -> int:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        return sum(
            1 for r in session.query(TaskReschedule).all() if r.task_instance.dag_id == dag_id
        )


def test_reschedule_without_a_task_state_store_fails_before_any_request():
    """Airflow 3.2 has no task state store, so a rescheduled sensor could not keep a baseline of
    its own. On 3.3.2 the only way to see that is a context without one (hence no dag.test());
    the sensor must say so rather than silently re-take its baseline on every reschedule. No
    connection exists here: had it sent a request, the error would be a different one."""
    from airflow_provider_offers._compat import AirflowFailException
    from airflow_provider_offers.sensors.offers import OfferChangeSensor

    sensor = OfferChangeSensor(task_id="wait", offer_id="offer-1", mode="reschedule")
    with pytest.raises(AirflowFailException, match=r"needs Airflow 3\.3's task state store"):
        sensor.execute({})


XCOM_PULL_ETAG = "{{ ti.xcom_pull(task_ids='create')['etag'] }}"


@pytest.mark.usefixtures("adobe_connection")
def test_poke_mode_waits_for_a_change_made_elsewhere(
    etag, run_dag, offer, dps, when_received, task_output
):
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=2, answered=True)
    # since_etag renders to the string "1" (no native rendering): still compared as an integer.
    source = sensor_dag(
        "sensor_poke",
        sensor("wait", offer["id"], since_etag=XCOM_PULL_ETAG),
        upstream_etag=offer["etag"],
    )
    run = run_dag(source, "sensor_poke")

    assert run.task_states() == {"create": "success", "wait": "success"}
    result = run.xcom("wait")
    assert result["id"] == offer["id"]
    # since_etag came through a template: the caller's etag, as a number
    assert (result["previous_etag"], result["etag"]) == (
        int(offer["etag"]),
        etag(int(offer["etag"]) + 1),
    )
    assert parse_modified(result["modified"]) > parse_modified(offer["lastModifiedDate"])
    assert dps.requests_after_change(offer["id"]) == ["GET"]
    assert dps.reads_of(offer["id"]) >= 3
    assert "unchanged (etag 1)" in task_output()


@needs_airflow_3_3
@pytest.mark.usefixtures("adobe_connection")
def test_reschedule_mode_keeps_the_first_baseline_across_reschedules(
    etag, run_dag, offer, dps, when_received
):
    """No since_* given: the baseline from the first run must survive into later runs, which
    are fresh operator instances. Were it re-taken per run, the run after the patch would adopt
    etag 2 as its baseline and the sensor would wait until its timeout."""
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=2, answered=True)
    source = sensor_dag("sensor_reschedule", sensor("wait", offer["id"], mode="reschedule"))
    run = run_dag(source, "sensor_reschedule")

    assert run.task_states() == {"wait": "success"}
    result = run.xcom("wait")
    assert (result["previous_etag"], result["etag"]) == (
        offer["etag"],
        etag(int(offer["etag"]) + 1),
    )
    assert dps.requests_for(offer["id"])[:2] == ["GET", "GET"]
    assert dps.requests_after_change(offer["id"]) == ["GET"]
    assert reschedule_count("sensor_reschedule") >= 2


@pytest.mark.usefixtures("adobe_connection")
def test_deferrable_mode_hands_its_baseline_to_the_trigger(
    etag, run_dag, offer, dps, when_received, task_output
):
    """The patch lands between the sensor's own first check and the trigger's first poll (one
    poke_interval later): only a trigger that got the sensor's baseline can tell that anything
    changed. (Were the patch ever later than that poll, the order assertion says so.)"""
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=1, answered=True)
    source = sensor_dag(
        "sensor_deferrable", sensor("wait", offer["id"], deferrable=True, poke_interval=2.0)
    )
    run = run_dag(source, "sensor_deferrable")

    assert run.task_states() == {"wait": "success"}
    assert dps.requests_for(offer["id"])[:3] == ["GET", "PATCH", "GET"]
    result = run.xcom("wait")
    assert (result["previous_etag"], result["etag"]) == (
        offer["etag"],
        etag(int(offer["etag"]) + 1),
    )
    logs = task_output()
    assert "running trigger in line" in logs
    assert "not deferring" not in logs


@pytest.mark.usefixtures("adobe_connection")
def test_already_changed_returns_without_deferring(etag, run_dag, offer, dps, task_output):
    dps.patch_offer(offer["id"])
    # Native rendering: since_etag arrives as the int 1. The create receipt's time works too.
    source = sensor_dag(
        "sensor_already_changed",
        sensor("wait", offer["id"], since_etag=XCOM_PULL_ETAG, deferrable=True),
        sensor("wait_modified", offer["id"], since_modified=offer["lastModifiedDate"]),
        upstream_etag=offer["etag"],
        native=True,
    )
    run = run_dag(source, "sensor_already_changed")

    assert run.task_states() == {"create": "success", "wait": "success", "wait_modified": "success"}
    assert run.xcom("wait")["etag"] == etag(int(offer["etag"]) + 1)
    assert run.xcom("wait_modified")["etag"] == etag(int(offer["etag"]) + 1)
    assert run.xcom("wait_modified")["previous_etag"] is None  # only a time was given
    assert dps.reads_of(offer["id"]) == 2
    logs = task_output()
    assert "already changed; not deferring" in logs
    assert "running trigger in line" not in logs


@pytest.mark.usefixtures("adobe_connection")
@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
# dag.test() runs the trigger in line: if the timeout were ignored it would wait forever, so a
# tight limit turns that hang into a failure within a minute.
@pytest.mark.timeout(60)
def test_timeout_fails_the_sensor_or_skips_with_soft_fail(
    run_dag, offer, dps, task_output, deferrable
):
    dag_id = f"sensor_timeout_{'deferred' if deferrable else 'poke'}"
    source = sensor_dag(
        dag_id,
        sensor("wait", offer["id"], timeout=2, deferrable=deferrable),
        sensor("wait_soft", offer["id"], timeout=2, deferrable=deferrable, soft_fail=True),
    )
    run = run_dag(source, dag_id)

    assert run.task_states() == {"wait": "failed", "wait_soft": "skipped"}
    assert run.xcom("wait") is None
    logs = task_output()
    assert "Sensor has timed out" in logs
    if deferrable and HAS_STATE_STORES:
        # 3.3 keeps the try's deadline in the task state store, so the trigger itself ends the
        # wait at it; 3.1/3.2's dag.test() times the deferred task out first (same states).
        assert "did not change before the sensor's deadline" in logs


@pytest.mark.usefixtures("adobe_connection")
def test_missing_offer_fails_promptly_or_skips_and_bad_input_sends_nothing(
    run_dag, offer, dps, task_output
):
    missing = "offer-that-does-not-exist"
    source = sensor_dag(
        "sensor_refusals",
        sensor("wait", missing, timeout=600),
        sensor("wait_soft", missing, timeout=600, soft_fail=True),
        sensor("bad_input", offer["id"], since_modified="yesterday"),
    )
    run = run_dag(source, "sensor_refusals")

    assert run.task_states() == {"wait": "failed", "wait_soft": "skipped", "bad_input": "failed"}
    assert dps.reads_of(missing) == 2  # one look each, no waiting for the timeout
    assert dps.reads_of(offer["id"]) == 0
    logs = task_output()
    assert f"Offer '{missing}' (fallback) was not found in sandbox 'prod'" in logs
    assert "invalid input, nothing was sent: since_modified: 'yesterday' is not an ISO-8601" in logs


@pytest.mark.usefixtures("adobe_connection")
def test_offer_deleted_while_deferred_fails_promptly(
    run_dag, offer, dps, when_received, task_output
):
    """Deleted while the trigger polls: it reports that at once, and the resumed sensor fails
    with the same clear message as in poke mode instead of waiting for its timeout."""
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.delete_offer(offer["id"]), nth=2, answered=True)
    source = sensor_dag(
        "sensor_deleted_deferred", sensor("wait", offer["id"], deferrable=True, timeout=600)
    )
    run = run_dag(source, "sensor_deleted_deferred")

    assert run.task_states() == {"wait": "failed"}
    assert dps.requests_after_change(offer["id"]) == ["GET"]
    assert f"Offer '{offer['id']}' (fallback) was not found in sandbox 'prod'" in task_output()


@pytest.mark.usefixtures("adobe_connection")
def test_transient_errors_while_waiting_are_retried(
    etag, run_dag, offer, dps, when_received, task_output
):
    """Five 503s in a row outlast the client's own retries (5 attempts), so the sensor's first
    poke fails; it must log that and poke again, not fail the task. Retry-After: 0 makes the
    client retry at once instead of sleeping its production backoff (~12 s)."""
    dps.fail_reads(offer["id"], status=503, times=5, retry_after=0)
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=7, answered=True)
    source = sensor_dag(
        "sensor_transient", sensor("wait", offer["id"], since_etag=offer["etag"], timeout=120)
    )
    run = run_dag(source, "sensor_transient")

    assert run.task_states() == {"wait": "success"}
    assert run.xcom("wait")["etag"] == etag(int(offer["etag"]) + 1)
    assert dps.requests_for(offer["id"])[:7] == ["GET"] * 7
    logs = task_output()
    assert "gave up after 5 attempts" in logs
    assert "will try again" in logs


def answered_reads(emulator, offer_id: str) -> list[int]:
    """The statuses the emulator answered the reads of the offer with, in order."""
    path = f"/data/core/dps/offers/{offer_id}"
    return [
        r.status
        for r in emulator.requests
        if r.method == "GET" and r.path == path and r.status != 401  # see Dps.requests_for
    ]


MODES = {
    "poke": {},
    "reschedule": {"mode": "reschedule"},
    "deferrable": {"deferrable": True},
}


@pytest.mark.usefixtures("adobe_connection")
@pytest.mark.parametrize("mode", MODES)
def test_a_long_retry_after_defers_the_sensor_until_the_time_asked(
    mode, etag, run_dag, offer, dps, when_received, offer_library_emulator, task_output
):
    """Retry-After: 2, beyond max_retry_after (0.5): the sensor, in every mode, waits (deferred,
    no worker slot) until then instead of polling again every poke_interval (0.3 s), and still
    sees the change made meanwhile."""
    dps.fail_reads(offer["id"], status=429, times=1, retry_after=2)
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=1, answered=True)
    dag_id = f"sensor_rate_limited_{mode}"
    source = sensor_dag(
        dag_id,
        sensor("wait", offer["id"], since_etag=offer["etag"], max_retry_after=0.5, **MODES[mode]),
    )
    run = run_dag(source, dag_id)

    assert run.task_states() == {"wait": "success"}
    assert run.xcom("wait")["etag"] == etag(int(offer["etag"]) + 1)
    assert answered_reads(offer_library_emulator, offer["id"])[:2] == [429, 200]
    output = task_output()
    assert "the server asked to wait 2 s (Retry-After)" in output
    assert "deferral 1 of at most 3), then running the task's work again" in output
    assert "will try again" not in output  # not one poke_interval later


@needs_airflow_3_3  # dag.test() gives a resumed task a new start date: 3.3's store keeps the try's
@pytest.mark.usefixtures("adobe_connection")
@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
# Were the hour-long Retry-After honoured past the timeout, this limit would end the test.
@pytest.mark.timeout(90)
def test_a_retry_after_beyond_the_timeout_fails_the_sensor_at_its_timeout(
    deferrable, run_dag, offer, dps, offer_library_emulator, task_output
):
    """Asked to wait an hour with timeout=3: one read each, then the timeout (or the skip of
    soft_fail) when the timeout is reached, not an hour later and without reading again."""
    dps.fail_reads(offer["id"], status=429, times=2, retry_after=3600)
    dag_id = f"sensor_rate_limited_timeout_{'deferred' if deferrable else 'poke'}"
    common = {"timeout": 3, "max_retry_after": 0.5, "deferrable": deferrable}
    source = sensor_dag(
        dag_id,
        sensor("wait", offer["id"], **common),
        sensor("wait_soft", offer["id"], soft_fail=True, **common),
    )
    run = run_dag(source, dag_id)

    assert run.task_states() == {"wait": "failed", "wait_soft": "skipped"}
    assert answered_reads(offer_library_emulator, offer["id"]) == [429, 429]
    output = task_output()
    assert "its deadline, which comes first" in output
    assert "Sensor has timed out after 3" in output


@pytest.mark.usefixtures("adobe_connection")
def test_an_offer_the_read_models_cannot_type_is_watched_like_any_other(
    etag, run_dag, offer, dps, when_received, offer_library_emulator
):
    """`characteristics: {"a": 1}` (not strings), as another client may leave an offer: the
    sensor reads it, takes its baseline and sees the next change."""

    def odd(value: int):
        return lambda: offer_library_emulator.write_unchecked(
            "fallback-offer", offer["id"], {"characteristics": {"a": value}}
        )

    odd(1)()
    path = dps.offer_path(offer["id"])
    when_received("GET", path, odd(2), nth=2, answered=True)
    source = sensor_dag("sensor_odd_offer", sensor("wait", offer["id"], timeout=30))
    run = run_dag(source, "sensor_odd_offer")

    assert run.task_states() == {"wait": "success"}
    result = run.xcom("wait")
    assert (result["previous_etag"], result["etag"]) == (etag(2), etag(3))
