"""OfferChangeEventTrigger on its own: serialisation, and its events against the emulator.

A watcher never ends, so each test watches for a number of listings (counted at the
emulator) and then stops it: events are what it yielded by then. "Someone else" edits
between two listings, as soon as the emulator has answered one (`when_received`).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow_compat import needs_airflow_3_3

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import parse_modified
from airflow_provider_offers.triggers.offers import OfferChangeEventTrigger

pytestmark = pytest.mark.usefixtures("adobe_connection")

LISTING = "/data/core/dps/offers"


class AssetStateStore:
    """The triggerer's per-asset store as a watcher sees it (`aget`/`aset` of JSON values),
    kept across trigger instances like the metadata database keeps it across restarts."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)


def watcher(store: Any = None, **kwargs: Any) -> OfferChangeEventTrigger:
    """The trigger as a triggerer runs it: with `store` as Airflow 3.3's triggerer injects it,
    or, without one, as 3.1/3.2's triggerer does, which never sets `asset_state_store` at all
    (3.3's `BaseEventTrigger.__init__` sets it to None; 3.1/3.2 know no such attribute)."""
    kwargs.setdefault("poll_interval", 0.1)
    trigger = OfferChangeEventTrigger(**kwargs)
    if store is None:
        trigger.__dict__.pop("asset_state_store", None)
    else:
        trigger.asset_state_store = store
    return trigger


def listings_answered(emulator) -> int:
    return sum(
        1 for r in emulator.requests if r.method == "GET" and r.path == LISTING and r.status == 200
    )


async def events_over(emulator, events, polls: int, within: float = 30.0) -> list[dict]:
    """The payloads `events` yields until the emulator has answered `polls` more listings,
    plus one: a watcher lists again only once it is done with the last listing."""

    collected: list[dict] = []
    target = listings_answered(emulator) + polls + 1

    async def collect() -> None:
        async for event in events:
            collected.append(event.payload)

    async def until_listed() -> None:
        while listings_answered(emulator) < target:
            if task.done():
                task.result()  # the watcher ended: raise what ended it
                raise AssertionError("the watcher ended without an error")
            await asyncio.sleep(0.01)

    task = asyncio.create_task(collect())
    try:
        await asyncio.wait_for(until_listed(), within)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return collected


def after_listing(when_received, nth: int, action) -> None:
    when_received("GET", LISTING, action, nth=nth, answered=True)


@pytest.fixture
def placement(dps) -> str:
    return dps.create_placement("Watcher test placement")


@pytest.fixture
def existing(dps, placement) -> list[dict]:
    """Two fallback offers made before any watcher starts."""
    return [dps.create_offer(dps.offer_body(name, placement)) for name in ("Summer", "Winter")]


def same_instant(a: str, b: str) -> bool:
    return parse_modified(a, assume_utc=True) == parse_modified(b, assume_utc=True)


def test_serialize_round_trips_through_json_and_serde():
    from airflow_compat import deserialize, serialize

    trigger = OfferChangeEventTrigger(
        adobe_conn_id="my_adobe",
        sandbox_name="dev",
        offer_type="personalized",
        names=["Winter", "Summer", "Winter"],
        poll_interval=5,
        emit_existing=True,
    )
    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_provider_offers.triggers.offers.OfferChangeEventTrigger"
    assert kwargs["offer_type"] == "personalized"
    assert kwargs["names"] == ["Summer", "Winter"]
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = OfferChangeEventTrigger(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.shared_stream_key() == trigger.shared_stream_key()


def test_watchers_of_one_type_in_any_case_share_one_poll_and_one_cursor():
    lower = OfferChangeEventTrigger(adobe_conn_id="my_adobe", offer_type="fallback")
    mixed = OfferChangeEventTrigger(adobe_conn_id="my_adobe", offer_type=" Fallback")
    other = OfferChangeEventTrigger(adobe_conn_id="my_adobe", offer_type="personalized")

    assert mixed.shared_stream_key() == lower.shared_stream_key() != other.shared_stream_key()
    assert mixed.cursor_key == lower.cursor_key != other.cursor_key


async def test_a_bad_offer_type_ends_the_watch_at_its_first_look(offer_library_emulator):
    with pytest.raises(InvalidInputError, match="offer_type"):
        await events_over(offer_library_emulator, watcher(offer_type="banner").run(), polls=1)


async def test_existing_offers_are_the_baseline_then_one_event_per_change(
    existing, dps, etag, when_received, offer_library_emulator
):
    summer, winter = existing
    after_listing(when_received, 1, lambda: dps.patch_offer(summer["id"]))
    after_listing(when_received, 3, lambda: dps.patch_offer(winter["id"]))

    events = await events_over(
        offer_library_emulator, watcher(offer_type="Fallback").run(), polls=4
    )

    assert [(e["id"], e["name"], e["etag"]) for e in events] == [
        (summer["id"], "Summer", etag(2)),
        (winter["id"], "Winter", etag(2)),
    ]
    assert {e["sandbox"] for e in events} == {"prod"}
    assert {e["offer_type"] for e in events} == {"fallback"}
    now = {offer["id"]: offer for offer in dps.offers()}
    for event in events:
        assert same_instant(event["modified"], now[event["id"]]["modified"])
        assert json.loads(json.dumps(event)) == event


async def test_created_offers_are_reported_once(
    existing, dps, placement, when_received, offer_library_emulator
):
    created: list[dict] = []
    after_listing(
        when_received,
        1,
        lambda: created.append(dps.create_offer(dps.offer_body("Autumn", placement))),
    )

    events = await events_over(offer_library_emulator, watcher().run(), polls=3)

    assert [(e["id"], e["name"]) for e in events] == [(created[0]["id"], "Autumn")]


async def test_names_limit_the_watcher_to_those_offers(
    existing, dps, when_received, offer_library_emulator
):
    summer, winter = existing
    after_listing(
        when_received, 1, lambda: (dps.patch_offer(summer["id"]), dps.patch_offer(winter["id"]))
    )

    events = await events_over(offer_library_emulator, watcher(names=["Winter"]).run(), polls=2)

    assert [e["name"] for e in events] == ["Winter"]


async def test_emit_existing_reports_the_offers_already_there(existing, offer_library_emulator):
    events = await events_over(offer_library_emulator, watcher(emit_existing=True).run(), polls=2)

    assert sorted(e["name"] for e in events) == ["Summer", "Winter"]


async def test_an_empty_sandbox_then_a_created_offer(
    dps, placement, when_received, offer_library_emulator
):
    after_listing(when_received, 1, lambda: dps.create_offer(dps.offer_body("First", placement)))

    events = await events_over(offer_library_emulator, watcher().run(), polls=2)

    assert [e["name"] for e in events] == ["First"]


async def test_a_restart_with_the_stored_cursor_replays_nothing_and_misses_nothing(
    existing, dps, placement, etag, when_received, offer_library_emulator
):
    summer, winter = existing
    store = AssetStateStore()
    after_listing(when_received, 1, lambda: dps.patch_offer(summer["id"]))
    before = await events_over(offer_library_emulator, watcher(store).run(), polls=2)

    # the triggerer is down: one change to a known offer, one new offer
    dps.patch_offer(winter["id"])
    autumn = dps.create_offer(dps.offer_body("Autumn", placement))
    after = await events_over(offer_library_emulator, watcher(store).run(), polls=2)

    assert [(e["name"], e["etag"]) for e in before] == [("Summer", etag(2))]
    assert [(e["id"], e["etag"]) for e in after] == [
        (winter["id"], etag(2)),
        (autumn["id"], etag(1)),
    ]


async def test_without_a_store_a_new_watcher_starts_from_the_present(
    existing, dps, offer_library_emulator
):
    dps.patch_offer(existing[0]["id"])

    events = await events_over(offer_library_emulator, watcher(None).run(), polls=2)

    assert events == []


@needs_airflow_3_3
async def test_two_watchers_share_one_poll_and_each_keeps_its_names(
    existing, dps, when_received, offer_library_emulator
):
    """Through Airflow's own SharedStreamManager, as the triggerer runs them."""
    from airflow.triggers.shared_stream import SharedStreamManager

    summer, winter = existing
    manager = SharedStreamManager()
    watchers = {1: watcher(names=["Summer"]), 2: watcher(names=["Winter"])}
    assert watchers[1].shared_stream_key() == watchers[2].shared_stream_key()
    streams = {
        trigger_id: trigger.filter_shared_stream(
            manager.subscribe(
                trigger_id=trigger_id, trigger=trigger, key=trigger.shared_stream_key()
            )
        )
        for trigger_id, trigger in watchers.items()
    }
    after_listing(
        when_received, 1, lambda: (dps.patch_offer(summer["id"]), dps.patch_offer(winter["id"]))
    )
    first_listing = len(offer_library_emulator.requests)

    async def merged():
        queue: asyncio.Queue = asyncio.Queue()

        async def pump(trigger_id, stream):
            async for event in stream:
                await queue.put(type(event)({"watcher": trigger_id, **event.payload}))

        pumps = [asyncio.create_task(pump(i, s)) for i, s in streams.items()]
        try:
            while True:
                yield await queue.get()
        finally:
            for task in pumps:
                task.cancel()

    try:
        events = await events_over(offer_library_emulator, merged(), polls=3)
    finally:
        await manager.stop_all()

    assert sorted((e["watcher"], e["name"]) for e in events) == [(1, "Summer"), (2, "Winter")]
    listings = [
        r
        for r in offer_library_emulator.requests[first_listing:]
        if r.method == "GET" and r.path == LISTING
    ]
    assert len(listings) >= 3
    assert len({r.client_port for r in listings}) == 1  # one poll on one connection, not two


@pytest.mark.parametrize(("status", "times", "failed_polls"), [(429, 10, 2), (503, 5, 1)])
async def test_rate_limits_and_outages_while_polling_delay_events_not_lose_them(
    status, times, failed_polls, existing, dps, when_received, offer_library_emulator, task_output
):
    """The client tries each listing five times (Retry-After: 0), so `times` faults make
    `failed_polls` whole polls fail; the watcher keeps going and reports the change once."""
    summer, _ = existing

    def change_then_fail() -> None:
        dps.patch_offer(summer["id"])
        offer_library_emulator.inject_fault(
            "GET", LISTING, status=status, times=times, retry_after=0
        )

    after_listing(when_received, 1, change_then_fail)

    events = await events_over(offer_library_emulator, watcher().run(), polls=2)

    assert [e["name"] for e in events] == ["Summer"]
    assert task_output().count("could not list offers") == failed_polls


async def test_refused_credentials_are_logged_and_retried_until_they_work(
    existing, dps, when_received, offer_library_emulator, adobe_connection, monkeypatch, task_output
):
    """A wrong secret (say, rotated in Adobe before the connection) does not end the watch;
    once the connection is fixed the watcher picks up the change made meanwhile."""
    summer, _ = existing
    store = AssetStateStore()  # the baseline, taken while the credentials still worked
    await events_over(offer_library_emulator, watcher(store).run(), polls=1)
    good = json.dumps(adobe_connection)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", json.dumps({**adobe_connection, "password": "wrong"})
    )
    dps.patch_offer(summer["id"])  # made while the watcher cannot look
    offer_library_emulator.revoke_tokens()  # its token too: it must ask IMS again

    async def fix_the_connection_later() -> None:
        while "refused connection 'adobe_offers_default'" not in task_output():
            await asyncio.sleep(0.02)
        monkeypatch.setenv("AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", good)

    fixer = asyncio.create_task(fix_the_connection_later())
    events = await events_over(offer_library_emulator, watcher(store).run(), polls=1)
    await fixer

    assert [e["name"] for e in events] == ["Summer"]
    assert "check its credentials" in task_output()


@needs_airflow_3_3
async def test_one_watcher_for_two_assets_keeps_its_cursor_in_memory(
    existing, dps, etag, when_received, offer_library_emulator, task_output
):
    """The triggerer gives a trigger watched by two assets a store with no single accessor
    (Airflow's own `AssetStateStoreAccessors`); the watcher still reports each change once."""
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors

    summer, _ = existing
    two_assets = AssetStateStoreAccessors(inlets=[Asset("offers_a"), Asset("offers_b")])
    after_listing(when_received, 1, lambda: dps.patch_offer(summer["id"]))

    events = await events_over(offer_library_emulator, watcher(two_assets).run(), polls=3)

    assert [(e["name"], e["etag"]) for e in events] == [("Summer", etag(2))]
    assert "keeping the cursor in memory" in task_output()


def test_without_a_store_the_trigger_has_no_store_attribute_as_on_airflow_3_1_and_3_2():
    """The helper above must not hand the trigger an attribute the 3.1/3.2 triggerer never
    sets: a watcher reading it unguarded would die there while every test here passed."""
    assert not hasattr(watcher(), "asset_state_store")


async def test_an_offer_the_read_models_cannot_type_never_stops_the_watcher(
    existing, dps, etag, when_received, offer_library_emulator
):
    """Someone gives Summer characteristics our models cannot type (`{"a": 1}`, not strings):
    the emulator holds it as another client or a newer API would leave it. The watcher reports
    that change and keeps watching (Winter's change later is reported too)."""
    summer, winter = existing

    def odd_change() -> None:
        offer_library_emulator.write_unchecked(
            "fallback-offer", summer["id"], {"characteristics": {"a": 1}}
        )

    after_listing(when_received, 1, odd_change)
    after_listing(when_received, 3, lambda: dps.patch_offer(winter["id"]))

    events = await events_over(offer_library_emulator, watcher().run(), polls=4)

    assert dps.get_offer(summer["id"])["characteristics"] == {"a": 1}
    assert [(e["name"], e["etag"]) for e in events] == [("Summer", etag(2)), ("Winter", etag(2))]
    assert all(same_instant(e["modified"], dps.get_offer(e["id"])["modified"]) for e in events)


async def test_a_change_whose_modified_is_older_than_one_already_seen_is_reported_once(
    existing, dps, placement, etag, when_received, offer_library_emulator
):
    """Another writer's clock runs five minutes behind: its change to Winter, and the offer it
    creates, carry a `modified` older than Summer's change the watcher already reported."""
    summer, winter = existing
    created: list[dict] = []

    def behind() -> None:
        offer_library_emulator.configure(
            clock=lambda: datetime.now(timezone.utc) - timedelta(minutes=5),
            strictly_increasing_timestamps=False,
        )
        dps.patch_offer(winter["id"])
        created.append(dps.create_offer(dps.offer_body("Autumn", placement)))

    after_listing(when_received, 1, lambda: dps.patch_offer(summer["id"]))
    after_listing(when_received, 3, behind)

    events = await events_over(offer_library_emulator, watcher().run(), polls=5)

    now = {offer["name"]: offer for offer in dps.offers()}
    assert parse_modified(now["Winter"]["modified"]) < parse_modified(now["Summer"]["modified"])
    assert [(e["name"], e["etag"]) for e in events] == [
        ("Summer", etag(2)),
        ("Winter", etag(2)),
        ("Autumn", etag(1)),
    ]


async def test_refused_credentials_back_off_twice_as_long_each_time(
    existing, offer_library_emulator, adobe_connection, monkeypatch, task_output
):
    """A secret that stays wrong: the pauses between tries double (from poll_interval, here
    0.05 s), so a broken connection is not hammered every poll."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", json.dumps({**adobe_connection, "password": "wrong"})
    )
    offer_library_emulator.revoke_tokens()
    pauses = re.compile(r"refused connection 'adobe_offers_default'.*?Trying again in ([\d.]+) s")

    async def watch() -> None:
        async for _ in watcher(poll_interval=0.05).run():
            pass

    watching = asyncio.create_task(watch())
    try:
        while len(pauses.findall(task_output())) < 4 and not watching.done():
            await asyncio.sleep(0.02)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)

    assert [float(p) for p in pauses.findall(task_output())[:4]] == [0.1, 0.2, 0.4, 0.8]
