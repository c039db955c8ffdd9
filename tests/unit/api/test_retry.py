"""api/retry.py: what is retried, how long it waits, and what a caller gets when it gives up."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import httpx
import pytest

from airflow_provider_offers.api import retry as retry_module
from airflow_provider_offers.api.errors import (
    ConnectionFailedError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestValidationError,
    ServerError,
)
from airflow_provider_offers.api.retry import (
    RetryPolicy,
    parse_retry_after,
    status_error_class,
    transport_error,
)

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


def _jitter(mocker, pick):
    """The jitter draw, made predictable: `pick(low, high)` instead of a random number."""
    mocker.patch.object(retry_module.random, "uniform", side_effect=pick)


# -- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "soon"])
def test_retry_after_that_says_nothing_usable_is_none(value):
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize(("value", "seconds"), [("7", 7.0), (" 0.5 ", 0.5), ("-3", 0.0)])
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Wed, 21 Oct 2015 07:28:04 GMT", 4.0),
        ("Wed, 21 Oct 2015 09:28:10 +0200", 10.0),  # an offset other than UTC is honoured
        ("Wed, 21 Oct 2015 07:28:30 -0000", 30.0),  # "-0000": UTC, parsed without a zone
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past: no wait
        ("Wed, 21 Oct 2015 07:28:00.5 GMT", None),
    ],
)
def test_retry_after_as_an_http_date_counts_from_now(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


# -- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (RateLimitedError("slow down", status=429), True),
        (ServerError("bad gateway", status=502), True),
        (ServerError("unavailable", status=503), True),
        (ServerError("gateway timeout", status=504), True),
        (ConnectionFailedError("refused"), True),
        # Retry-After exactly at the default cap is waited; past it, raised for Airflow.
        (RateLimitedError("slow down", status=429, retry_after=120.0), True),
        (RateLimitedError("slow down", status=429, retry_after=121.0), False),
        (ServerError("internal", status=500), False),
        (ServerError("http version", status=505), False),
        (RequestValidationError("bad request", status=400), False),
        (ValueError("not ours"), False),
    ],
)
def test_what_is_retried(error, retried):
    assert RetryPolicy().should_retry(error) is retried


def test_a_write_answered_502_or_504_has_an_unknown_outcome():
    assert status_error_class(502, resend_safe=False) is OutcomeUnknownError
    assert status_error_class(504, resend_safe=False) is OutcomeUnknownError
    assert status_error_class(503, resend_safe=False) is None  # 503: not processed
    assert status_error_class(502, resend_safe=True) is None


def test_network_failures_before_or_after_sending():
    request = httpx.Request("POST", "https://api.example/offers")
    after = httpx.ReadTimeout("timed out", request=request)
    before = httpx.ConnectError("refused", request=request)

    lost = transport_error(after, resend_safe=False, where="POST /offers", request_id="r-1")
    assert isinstance(lost, OutcomeUnknownError)
    assert "may or may not have been applied" in str(lost)
    assert "(x-request-id r-1)" in str(lost)

    refused = transport_error(before, resend_safe=False, where="POST /offers", request_id=None)
    assert isinstance(refused, ConnectionFailedError)
    assert str(refused) == "POST /offers: network failure (ConnectError: refused)"

    safe = transport_error(after, resend_safe=True, where="GET /offers", request_id="r-2")
    assert isinstance(safe, ConnectionFailedError)
    assert str(safe).endswith("(x-request-id r-2)")


# -- how long it waits ------------------------------------------------------------------------


def test_defaults():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.initial_backoff) == (5, 1.0)
    assert (policy.max_backoff, policy.max_retry_after) == (30.0, 120.0)


def test_the_servers_retry_after_is_waited_up_to_the_cap():
    policy = RetryPolicy()
    assert policy.delay(RateLimitedError("x", status=429, retry_after=3), 1) == 3.0
    assert policy.delay(RateLimitedError("x", status=429, retry_after=500), 1) == 120.0


@pytest.mark.parametrize(("attempt", "backoff"), [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0)])
def test_backoff_doubles_per_attempt_up_to_the_cap_with_equal_jitter(mocker, attempt, backoff):
    policy = RetryPolicy()
    _jitter(mocker, lambda low, high: high)
    assert policy.delay(None, attempt) == backoff  # half fixed + at most half random
    _jitter(mocker, lambda low, high: low)
    assert policy.delay(None, attempt) == backoff / 2


def test_max_attempts_must_be_at_least_one():
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)
    assert RetryPolicy(max_attempts=1).max_attempts == 1


def test_a_policy_is_an_immutable_value_that_hides_and_ignores_its_sleep_functions():
    def sleep(seconds):
        return None

    async def async_sleep(seconds):
        return None

    policy = RetryPolicy(sleep=sleep, async_sleep=async_sleep)
    assert policy == RetryPolicy()
    assert "sleep" not in repr(policy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 2  # type: ignore[misc]


# -- giving up --------------------------------------------------------------------------------


def _failing(error):
    calls = []

    def call():
        calls.append(1)
        raise error

    return call, calls


def test_giving_up_raises_the_last_error_saying_how_many_attempts(mocker):
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=2, sleep=waits.append)
    call, calls = _failing(ServerError("HTTP 503", status=503))
    with pytest.raises(ServerError) as caught:
        policy.retrying()(call)
    assert len(calls) == 2
    assert str(caught.value) == "HTTP 503 (gave up after 2 attempts)"
    assert len(waits) == 1 and 0.5 <= waits[0] <= 1.0


def test_a_single_attempt_is_not_called_giving_up():
    policy = RetryPolicy(max_attempts=1)
    call, calls = _failing(ServerError("HTTP 503", status=503))
    with pytest.raises(ServerError) as caught:
        policy.retrying()(call)
    assert len(calls) == 1
    assert str(caught.value) == "HTTP 503"


def test_an_error_that_is_not_retried_is_raised_at_once():
    policy = RetryPolicy(sleep=lambda seconds: None)
    call, calls = _failing(ValueError("bug"))
    with pytest.raises(ValueError, match="bug"):
        policy.retrying()(call)
    assert len(calls) == 1


async def test_the_async_retrying_gives_up_alike():
    waits: list[float] = []

    async def record(seconds):
        waits.append(seconds)

    policy = RetryPolicy(max_attempts=3, async_sleep=record)
    calls = []

    async def call():
        calls.append(1)
        raise ConnectionFailedError("refused")

    with pytest.raises(ConnectionFailedError, match=r"refused \(gave up after 3 attempts\)"):
        await policy.async_retrying()(call)
    assert len(calls) == 3 and len(waits) == 2


# -- one policy, built once, never changed ----------------------------------------------------


def test_from_options_takes_the_options_given_and_keeps_the_base_for_the_rest():
    base = RetryPolicy(max_attempts=4, initial_backoff=0.5, max_retry_after=9.0)
    assert RetryPolicy.from_options() == RetryPolicy()
    assert RetryPolicy.from_options(base=base) == base
    built = RetryPolicy.from_options(max_attempts=2, max_retry_after=0.0, base=base)
    assert (built.max_attempts, built.initial_backoff, built.max_retry_after) == (2, 0.5, 0.0)
    assert (base.max_attempts, base.max_retry_after) == (4, 9.0)  # a copy; the base is unchanged


def test_with_sleep_is_a_copy_with_other_sleeps_and_the_same_numbers():
    def sleep(seconds):
        return None

    async def async_sleep(seconds):
        return None

    base = RetryPolicy(max_attempts=3)
    synced = base.with_sleep(sleep=sleep)
    gated = synced.with_sleep(async_sleep=async_sleep)
    assert (synced.sleep, synced.async_sleep) == (sleep, base.async_sleep)
    assert (gated.sleep, gated.async_sleep, gated) == (sleep, async_sleep, base)
    assert base.sleep is not sleep and base.async_sleep is not async_sleep


def test_the_retry_decision_changes_nothing_on_the_error():
    error = RateLimitedError("slow down", status=429, retry_after=121.0)
    assert RetryPolicy().waits_beyond_cap(error) and not RetryPolicy().should_retry(error)
    assert (str(error), error.beyond_wait_cap) == ("slow down", False)
    # A bool, as its type says: callers may store or compare it, not only test it.
    assert (
        RetryPolicy().waits_beyond_cap(RateLimitedError("x", status=429, retry_after=120)) is False
    )
    assert RetryPolicy().waits_beyond_cap(ServerError("x", status=500, retry_after=500)) is False
    assert RetryPolicy().waits_beyond_cap(None) is False


def test_a_wait_beyond_the_cap_is_a_new_error_built_from_the_servers_at_once():
    waits: list[float] = []
    error = RateLimitedError("HTTP 429", status=429, retry_after=300.0, request_id="r-1")
    call, calls = _failing(error)
    with pytest.raises(RateLimitedError) as caught:
        RetryPolicy(sleep=waits.append).retrying()(call)
    assert (len(calls), waits) == (1, [])
    raised = caught.value
    assert str(raised) == (
        "HTTP 429; the server asked to wait 300 s, longer than the 120 s this client waits "
        "in-process"
    )
    assert (raised.beyond_wait_cap, raised.retry_after, raised.request_id) == (True, 300.0, "r-1")
    assert (raised.__cause__, raised.__context__) == (None, None)  # nothing else reachable
    assert (str(error), error.beyond_wait_cap) == ("HTTP 429", False)  # the server's, unchanged


def test_a_server_error_asking_beyond_the_cap_is_raised_as_it_is_at_once():
    error = ServerError("HTTP 503", status=503, retry_after=500.0)
    call, calls = _failing(error)
    with pytest.raises(ServerError) as caught:
        RetryPolicy(sleep=lambda seconds: None).retrying()(call)
    assert caught.value is error and str(error) == "HTTP 503" and len(calls) == 1


def test_giving_up_raises_a_new_error_built_from_the_last_one():
    error = ServerError("HTTP 503", status=503, request_id="r-2")
    call, _ = _failing(error)
    with pytest.raises(ServerError) as caught:
        RetryPolicy(max_attempts=2, sleep=lambda seconds: None).retrying()(call)
    assert caught.value is not error and caught.value.request_id == "r-2"
    assert (caught.value.__cause__, caught.value.__context__) == (None, None)
    assert (str(caught.value), str(error)) == ("HTTP 503 (gave up after 2 attempts)", "HTTP 503")


def test_refused_credentials_back_off_by_the_policys_rule_in_poll_intervals():
    from airflow_provider_offers.triggers.offers import auth_backoff

    assert [auth_backoff(60.0).backoff(n) for n in (1, 2, 3, 4, 5)] == [120, 240, 480, 900, 900]
    assert auth_backoff(1000.0).backoff(1) == 1000.0  # never shorter than one poll interval
