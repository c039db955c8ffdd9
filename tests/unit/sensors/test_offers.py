"""OfferChangeSensor's poke(), execute() and execute_complete() against a mocked hook (the pure
step and deadline arithmetic it shares with the trigger: tests/unit/api/test_change.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from airflow_compat import TaskDeferred

from airflow_provider_offers._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)
from airflow_provider_offers.api.change import given_baseline
from airflow_provider_offers.api.errors import NotFoundError, RateLimitedError, ServerError
from airflow_provider_offers.api.retry import RetryPolicy
from airflow_provider_offers.sensors.offers import OfferChangeSensor

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
OFFER_ID = "dps:fallback-offer:1"


def offer(etag: int, modified: datetime = T0) -> dict:
    """What the hook returns: the offer as the server's JSON."""
    return {"id": OFFER_ID, "etag": etag, "modified": modified.isoformat(), "name": "Offer"}


def sensor(**kwargs) -> OfferChangeSensor:
    return OfferChangeSensor(task_id="wait", offer_id=OFFER_ID, **kwargs)


def test_poke_is_done_once_the_etag_passes_since_etag(with_hook, hook, context):
    task = with_hook(sensor(since_etag="3"))
    task._baseline = given_baseline(task.since_etag, None)
    hook.get_offer_json.side_effect = [offer(3), offer(4)]

    first, second = task.poke(context), task.poke(context)

    assert (first.is_done, second.is_done) == (False, True)
    assert second.xcom_value == {
        "id": OFFER_ID,
        "etag": 4,
        "modified": "2026-11-30T12:00:00.000+00:00",
        "previous_etag": 3,
    }


def test_without_a_baseline_the_first_poke_takes_it_and_keeps_it_for_reschedules(
    with_hook, hook, context
):
    task = with_hook(sensor(mode="reschedule"))
    hook.get_offer_json.return_value = offer(7)

    assert task.poke(context).is_done is False

    rescheduled = with_hook(sensor(mode="reschedule"))  # a fresh instance, as a reschedule is
    assert rescheduled._load_baseline(context)["since_etag"] == 7
    context["ti"].try_number = 2  # a retry takes a baseline of its own
    assert with_hook(sensor(mode="reschedule"))._load_baseline(context) is None


def test_a_deleted_offer_fails_the_sensor_and_a_transient_error_does_not(with_hook, hook, context):
    task = with_hook(sensor(since_etag=1))
    task._baseline = given_baseline(1, None)
    hook.get_offer_json.side_effect = [
        ServerError("503", status=503),
        NotFoundError("no such offer"),
    ]

    assert task.poke(context).is_done is False
    with pytest.raises(AirflowFailException, match="was not found in sandbox 'dev'"):
        task.poke(context)


def test_a_bad_since_modified_fails_before_any_read(with_hook, hook, context):
    with pytest.raises(AirflowFailException, match="nothing was sent: since_modified: 'yesterday'"):
        with_hook(sensor(since_modified="yesterday")).execute(context)
    hook.get_offer_json.assert_not_called()


def test_deferrable_hands_its_baseline_and_deadline_to_the_trigger(with_hook, hook, context):
    hook.get_offer_json.return_value = offer(3)
    task = with_hook(
        sensor(
            since_etag=3,
            deferrable=True,
            timeout=600,
            poke_interval=5,
            request_timeout=12.5,
            max_attempts=2,
        )
    )

    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)

    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["baseline"] == {"previous_etag": 3, "since_etag": 3, "since_modified": None}
    assert kwargs["deadline"] == (context["ti"].start_date + timedelta(seconds=600)).isoformat()
    assert kwargs["poll_interval"] == 5
    assert (kwargs["request_timeout"], kwargs["max_attempts"]) == (12.5, 2)  # the trigger's hook
    assert deferred.value.method_name == "execute_complete"
    # The triggerer's own limit: the sensor's 600 s left plus 5 minutes for the trigger's last
    # look (the trigger reports the timeout itself; this only ends one that hangs).
    assert timedelta(minutes=14) < deferred.value.timeout <= timedelta(minutes=15)


def test_deferrable_does_not_defer_when_the_offer_already_changed(with_hook, hook, context):
    hook.get_offer_json.return_value = offer(4)

    result = with_hook(sensor(since_etag=3, deferrable=True)).execute(context)

    assert (result["previous_etag"], result["etag"]) == (3, 4)


def test_execute_complete_turns_each_event_into_a_result_or_a_failure(with_hook):
    task = with_hook(sensor(timeout=60))
    change = {"id": OFFER_ID, "etag": 4, "modified": None, "previous_etag": 3}

    assert task.execute_complete({}, {"status": "changed", "change": change, "message": ""}) == (
        change
    )
    with pytest.raises(AirflowSensorTimeout, match="timed out after 60"):
        task.execute_complete({}, {"status": "timeout", "message": "late"})
    with pytest.raises(AirflowFailException, match="was not found"):
        task.execute_complete({}, {"status": "not_found", "message": "gone"})
    with pytest.raises(AirflowException, match="Reading offer: boom"):
        task.execute_complete({}, {"status": "error", "message": "Reading offer: boom"})


def test_the_deadline_is_anchored_on_the_try_start_not_on_each_deferral(with_hook, context):
    """A sensor re-deferred an hour into its try still ends `timeout` after the try began."""
    context["ti"].start_date = T0 - timedelta(hours=1)

    assert with_hook(sensor(timeout=120))._deadline(context) == T0 - timedelta(minutes=58)


def test_a_retry_takes_a_fresh_baseline_not_the_previous_trys(with_hook, hook, context):
    """Try 1 saw etag 7 and failed; the offer is at etag 8 when try 2 starts. Try 2 must wait
    for a change from 8 (and defer), not report 7 -> 8 as a change it never saw happen."""
    hook.get_offer_json.return_value = offer(7)
    first_try = with_hook(sensor(deferrable=True))
    with pytest.raises(TaskDeferred):
        first_try.execute(context)

    context["ti"].try_number = 2
    hook.get_offer_json.return_value = offer(8)
    with pytest.raises(TaskDeferred) as deferred:
        with_hook(sensor(deferrable=True)).execute(context)

    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["baseline"]["since_etag"] == 8


def test_a_deadline_kept_for_the_try_survives_a_new_start_date(with_hook, context):
    """A run resumed after a rate-limit deferral may be given a new start date; the wait still
    ends `timeout` after the try began. A new try counts from its own start."""
    first = with_hook(sensor(timeout=120))._deadline(context)
    context["ti"].start_date += timedelta(minutes=30)

    assert with_hook(sensor(timeout=120))._deadline(context) == first
    context["ti"].try_number = 2
    assert with_hook(sensor(timeout=120))._deadline(context) == first + timedelta(minutes=30)


def test_deferrable_with_the_offer_gone_fails_or_skips_with_soft_fail(with_hook, hook, context):
    """The check before deferring: a missing offer fails at once (no retry), or is a skip."""
    hook.get_offer_json.side_effect = NotFoundError("no such offer")

    with pytest.raises(AirflowFailException, match="was not found in sandbox 'dev'"):
        with_hook(sensor(since_etag=1, deferrable=True)).execute(context)
    with pytest.raises(AirflowSkipException, match=r"Skipping: Offer .* was not found"):
        with_hook(sensor(since_etag=1, deferrable=True, soft_fail=True)).execute(context)


def test_a_long_rate_limit_while_poking_defers_until_the_time_asked(with_hook, hook, context):
    """A Retry-After longer than the client waits: the sensor defers (no poke every interval)."""
    told = RateLimitedError("GET /offers failed with HTTP 429", status=429, retry_after=300.0)
    error = RetryPolicy(max_retry_after=120).final_error(told, 1)  # as the client raises it
    assert error.beyond_wait_cap
    hook.get_offer_json.side_effect = error
    before = datetime.now(timezone.utc)

    with pytest.raises(TaskDeferred) as deferred:
        with_hook(sensor(since_etag=1, timeout=3600)).execute(context)

    moment = deferred.value.trigger.moment
    assert (
        before + timedelta(seconds=300)
        <= moment
        <= datetime.now(timezone.utc) + timedelta(seconds=300)
    )

    # A wait longer than the sensor's timeout: it resumes at its deadline (to report it), no later.
    context["ti"].try_number = 2  # a new try: its own deadline
    with pytest.raises(TaskDeferred) as deferred:
        with_hook(sensor(since_etag=1, timeout=60)).execute(context)
    deadline = context["ti"].start_date + timedelta(seconds=60)
    assert deferred.value.trigger.moment <= deadline


def test_poke_mode_returns_the_change_as_its_result(with_hook, hook, context):
    hook.get_offer_json.return_value = offer(4)

    result = with_hook(sensor(since_etag=3)).execute(context)

    assert (result["previous_etag"], result["etag"]) == (3, 4)


def test_past_its_deadline_an_unchanged_offer_times_out_or_skips_and_a_change_wins(
    with_hook, hook, context
):
    hook.get_offer_json.return_value = offer(3)
    for soft_fail, failure in ((False, AirflowSensorTimeout), (True, AirflowSkipException)):
        task = with_hook(sensor(since_etag=3, soft_fail=soft_fail, timeout=60))
        task._baseline = given_baseline(3, None)
        task._until = T0  # long past
        with pytest.raises(failure, match=r"timed out after 60.0 s .*offer .* did not change"):
            task.poke(context)

    hook.get_offer_json.return_value = offer(4)
    assert task.poke(context).is_done  # a change seen at the deadline is reported, not a timeout


def test_only_reschedule_mode_needs_the_task_state_store_for_its_baseline(with_hook, hook, context):
    """Before Airflow 3.3 there is no store: poke and deferrable keep the baseline in the
    instance; reschedule (a fresh instance each run) fails first, naming the fix."""
    del context["task_state_store"]
    hook.get_offer_json.return_value = offer(4)

    assert with_hook(sensor()).poke(context).is_done is False
    assert with_hook(sensor(mode="reschedule", deferrable=True))._load_baseline(context) is None
    with pytest.raises(AirflowFailException, match=r"needs Airflow 3\.3's task state store"):
        with_hook(sensor(mode="reschedule")).execute(context)
    hook.get_offer_json.assert_called_once()
