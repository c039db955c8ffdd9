"""OfferChangeTrigger on its own: serialisation, and run() against the emulator over HTTP."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_offers.api.change import given_baseline
from airflow_provider_offers.triggers.offers import OfferChangeTrigger

pytestmark = pytest.mark.usefixtures("adobe_connection")


def trigger_for(offer_id: str, since_etag=None, previous_etag=None, **kwargs) -> OfferChangeTrigger:
    """A trigger as the sensor builds it; `previous_etag` defaults to `since_etag`."""
    if since_etag is not None:
        kwargs["baseline"] = {
            **given_baseline(since_etag, None),
            "previous_etag": since_etag if previous_etag is None else previous_etag,
        }
    kwargs.setdefault("poll_interval", 0.2)
    kwargs.setdefault("deadline", (datetime.now(timezone.utc) + timedelta(seconds=60)).isoformat())
    return OfferChangeTrigger(offer_id=offer_id, **kwargs)


async def events_of(trigger: OfferChangeTrigger, within: float = 30.0) -> list[dict]:
    """Everything run() yields, until it returns; a trigger that never returns (one ignoring
    its deadline, say) fails the test after `within` seconds instead of hanging the suite."""

    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), within)


def test_serialize_round_trips_through_json_and_serde():
    from airflow_compat import deserialize, serialize

    trigger = OfferChangeTrigger(
        offer_id="offer-1",
        offer_type="personalized",
        baseline=given_baseline(3, "2026-11-27T12:00:00+00:00"),
        adobe_conn_id="my_adobe",
        sandbox_name="dev",
        poll_interval=5.0,
        deadline="2026-11-28T12:00:00+00:00",
    )
    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_provider_offers.triggers.offers.OfferChangeTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt_kwargs = deserialize(serialize(kwargs))
    assert rebuilt_kwargs == kwargs
    assert OfferChangeTrigger(**rebuilt_kwargs).serialize() == (classpath, kwargs)


async def test_run_yields_one_changed_event_then_returns(etag, offer, dps, when_received):
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=2, answered=True)

    events = await events_of(trigger_for(offer["id"], since_etag=offer["etag"], previous_etag=1))

    assert len(events) == 1
    assert events[0]["status"] == "changed"
    change = events[0]["change"]
    assert events[0]["offer_id"] == change["id"] == offer["id"]
    assert (change["previous_etag"], change["etag"]) == (1, etag(2))
    assert dps.requests_for(offer["id"])[:2] == ["GET", "GET"]
    assert dps.requests_after_change(offer["id"]) == ["GET"]


async def test_every_poll_reuses_one_connection(offer, dps, when_received, offer_library_emulator):
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=3, answered=True)

    await events_of(trigger_for(offer["id"], since_etag=offer["etag"], previous_etag=1))

    polls = [
        r
        for r in offer_library_emulator.requests
        if r.method == "GET" and r.path.endswith(offer["id"])
    ]
    assert len(polls) >= 3
    assert len({r.client_port for r in polls}) == 1


async def test_without_a_baseline_the_first_read_becomes_it(etag, offer, dps, when_received):
    """The sensor's own first check failed: the trigger takes the baseline itself."""
    dps.patch_offer(offer["id"])  # before the trigger starts: not a change it may report
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=1, answered=True)

    events = await events_of(trigger_for(offer["id"]))

    assert [(e["status"], e["change"]["previous_etag"], e["change"]["etag"]) for e in events] == [
        ("changed", etag(2), etag(3))
    ]


async def test_deleted_offer_yields_not_found(offer, dps):
    dps.delete_offer(offer["id"])

    events = await events_of(trigger_for(offer["id"], since_etag=1))

    assert [e["status"] for e in events] == ["not_found"]
    assert dps.reads_of(offer["id"]) == 1


async def test_deadline_gives_one_timeout_event_after_a_last_look(offer, dps):
    """A long poll interval is cut short by the deadline, and the offer is read once more at
    the deadline before the trigger gives up: one read, one timeout event."""
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()

    events = await events_of(
        trigger_for(offer["id"], since_etag=1, poll_interval=3600, deadline=deadline)
    )

    assert [e["status"] for e in events] == ["timeout"]
    assert deadline in events[0]["message"]
    assert dps.reads_of(offer["id"]) == 1


async def test_transient_errors_are_retried_not_reported(offer, dps, when_received, task_output):
    """Ten 429s (Retry-After: 0, so the client's five attempts per call run at once) make two
    reads fail in the trigger itself; it must keep polling and still report the change."""
    dps.fail_reads(offer["id"], status=429, times=10, retry_after=0)
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=11, answered=True)

    events = await events_of(trigger_for(offer["id"], since_etag=1))

    assert [e["status"] for e in events] == ["changed"]
    assert dps.requests_for(offer["id"])[:11] == ["GET"] * 11
    assert dps.requests_after_change(offer["id"]) == ["GET"]
    assert task_output().count("will try again") >= 2


async def test_run_does_not_block_the_event_loop(offer, dps, offer_library_emulator):
    """While the trigger waits for a slow answer, other coroutines keep running (a triggerer
    runs hundreds of triggers on one loop). A ticker counts how often it runs while the
    emulator holds the trigger's request; a blocking HTTP call would leave it at zero."""
    dps.patch_offer(offer["id"])
    path = dps.offer_path(offer["id"])
    offer_library_emulator.inject_fault("GET", path, delay_seconds=1.0)
    ticks_while_held = 0
    done = asyncio.Event()

    def request_held() -> bool:
        return any(
            r.method == "GET" and r.path == path and r.status is None
            for r in offer_library_emulator.requests
        )

    async def ticker() -> None:
        nonlocal ticks_while_held
        while not done.is_set():
            ticks_while_held += request_held()
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    events = await events_of(trigger_for(offer["id"], since_etag=1))
    done.set()
    await ticking

    assert [e["status"] for e in events] == ["changed"]  # one read, answered after the delay
    assert ticks_while_held > 0


async def until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def moments_of_reads(when_received, offer_id: str, count: int) -> list[float]:
    """When (monotonic seconds) the emulator had answered the 1st, 2nd, ... read of the offer:
    the gap between two is at least the time the reader waited in between."""
    import time

    path = f"/data/core/dps/offers/{offer_id}"
    moments: list[float] = []
    for nth in range(1, count + 1):
        when_received("GET", path, lambda: moments.append(time.monotonic()), nth=nth, answered=True)
    return moments


async def test_a_long_retry_after_is_waited_out_then_the_trigger_looks_again(
    etag, offer, dps, when_received, task_output
):
    """Retry-After: 2 beyond max_retry_after (0.5): the trigger looks again when asked, not one
    poll interval (0.1 s) later, and still reports the change."""
    dps.fail_reads(offer["id"], status=429, times=1, retry_after=2)
    moments = moments_of_reads(when_received, offer["id"], 2)
    path = dps.offer_path(offer["id"])
    when_received("GET", path, lambda: dps.patch_offer(offer["id"]), nth=1, answered=True)

    events = await events_of(
        trigger_for(offer["id"], since_etag=1, poll_interval=0.1, max_retry_after=0.5)
    )

    assert [(e["status"], e["change"]["etag"]) for e in events] == [("changed", etag(2))]
    assert dps.reads_of(offer["id"]) == 2  # the 429, then the read after the wait
    await asyncio.wait_for(until(lambda: len(moments) == 2), 10)
    assert moments[1] - moments[0] >= 1.9  # a lower bound: a slow machine only adds to it
    assert "the server asked to wait 2 s; looking again then" in task_output()


async def test_a_retry_after_past_the_deadline_ends_the_wait_at_the_deadline(offer, dps):
    """Asked to wait an hour with a second left: one read, then `timeout` at the deadline
    (`events_of` fails the test if it took anywhere near the hour)."""
    dps.fail_reads(offer["id"], status=429, times=1, retry_after=3600)
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()

    events = await events_of(
        trigger_for(offer["id"], since_etag=1, deadline=deadline, max_retry_after=0.5)
    )

    assert [e["status"] for e in events] == ["timeout"]
    assert "rate limited past the sensor's deadline" in events[0]["message"]
    assert "asked to wait 3600 s" in events[0]["message"]
    assert dps.reads_of(offer["id"]) == 1


async def test_an_offer_the_read_models_cannot_type_is_watched_like_any_other(
    etag, offer, dps, when_received, offer_library_emulator
):
    """`characteristics: {"a": 1}` (not strings) is no documented offer: the trigger still
    reads it and reports its change, instead of retrying an unreadable answer forever."""
    offer_library_emulator.write_unchecked(
        "fallback-offer", offer["id"], {"characteristics": {"a": 1}}
    )
    path = dps.offer_path(offer["id"])
    when_received(
        "GET",
        path,
        lambda: offer_library_emulator.write_unchecked(
            "fallback-offer", offer["id"], {"characteristics": {"a": 2}}
        ),
        nth=1,
        answered=True,
    )

    events = await events_of(trigger_for(offer["id"]))

    assert [(e["status"], e["change"]["previous_etag"], e["change"]["etag"]) for e in events] == [
        ("changed", etag(2), etag(3))
    ]
