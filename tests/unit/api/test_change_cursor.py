"""The pure "what changed since I last looked" over a listing (OfferChangeEventTrigger's cursor).

A cursor is a floor plus the versions seen at or after it; the tests check what a watcher would
report (once each, out of order too) and that what the state store keeps stays bounded.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_offers.api.change import (
    EMPTY_CURSOR,
    LAG_WINDOW,
    MAX_SEEN,
    RECENT,
    advance_cursor,
    changes_since,
    cursor_at,
    stored_cursor,
    watched_offers,
)

T0 = "2026-11-27T11:59:59.000+00:00"
T1 = "2026-11-27T12:00:00.000+00:00"
T2 = "2026-11-27T12:00:01.000+00:00"
T3 = "2026-11-27T12:00:02.000+00:00"
START = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def listed(offer_id: str, etag, modified: str | None, name: str | None = None) -> dict:
    return {"id": offer_id, "etag": etag, "modified": modified, "name": name or offer_id}


def ids(offers: list[dict]) -> list[str]:
    return [offer["id"] for offer in offers]


def report(cursor: dict, now: list[dict]) -> tuple[dict, list[str]]:
    """What a watcher does with one listing: report each change, advancing past it."""
    reported = []
    for change in changes_since(cursor, now):
        reported.append(change["id"])
        cursor = advance_cursor(cursor, change)
    return cursor, reported


def test_the_present_as_baseline_reports_nothing_until_something_changes():
    present = [listed("b", 1, T2), listed("a", 3, T1), listed("c", 1, T2)]
    cursor = cursor_at(present)

    assert cursor == {
        "floor": None,  # a small sandbox: every offer's version is kept
        "seen": {"b": [1, ms(T2)], "a": [3, ms(T1)], "c": [1, ms(T2)]},
    }
    assert changes_since(cursor, present) == []


def test_an_empty_sandbox_gives_an_empty_cursor_and_then_every_offer_is_new():
    assert cursor_at([]) == EMPTY_CURSOR
    assert ids(changes_since(EMPTY_CURSOR, [listed("x", 1, None), listed("y", 1, T1)])) == [
        "x",
        "y",
    ]


@pytest.mark.parametrize(
    ("now", "new"),
    [
        (listed("b", 2, T2), True),  # a new etag at the floor: changed within the same ms
        (listed("b", "1", T2), False),  # the same version, spelled as a digit string
        (listed("b", 1, T3), True),  # a later modified
        (listed("b", 1, T1), False),  # the same version read back with an older date
        (listed("d", 1, T2), True),  # created at the floor itself
        (listed("d", 1, T3), True),  # created later
        (listed("d", 1, T1), False),  # before the floor: outside the window
        (listed("a", 4, T1), True),  # a known offer's new version, whatever its date says
        (listed("b", 'W/"x"', T2), True),  # an etag that is no number is still a token
        (listed("d", 1, "not a date"), False),  # an unreadable date: not after the floor
    ],
)
def test_change_since_a_cursor(now, new):
    cursor = {"floor": ms(T2), "seen": {"b": [1, ms(T2)], "a": [3, ms(T3)]}}

    assert bool(changes_since(cursor, [now])) is new


def test_a_change_older_than_one_already_seen_is_reported_once():
    """Another writer's clock runs behind (or the listing lags): offer "late" is created after
    "a" was changed, but carries an older `modified`. A high-water mark would skip it."""
    cursor = cursor_at([listed("a", 1, at(0)), listed("b", 1, at(1))])
    cursor, first = report(cursor, [listed("a", 2, at(300)), listed("b", 1, at(1))])
    now = [listed("a", 2, at(300)), listed("b", 1, at(1)), listed("late", 1, at(120))]

    cursor, second = report(cursor, now)
    _, third = report(cursor, now)

    assert (first, second, third) == (["a"], ["late"], [])


def test_changes_come_oldest_first_and_the_cursor_advances_past_each():
    cursor = {"floor": ms(T1), "seen": {"a": [1, ms(T1)], "y": [1, ms(T1)]}}
    now = [
        listed("y", 1, T1),
        listed("c", 1, T3),
        listed("b", 2, T2),
        listed("a", 2, T2),
        listed("z", 1, T0),
    ]

    changes = changes_since(cursor, now)
    assert ids(changes) == ["a", "b", "c"]

    for change in changes:
        cursor = advance_cursor(cursor, change)
        assert change not in changes_since(cursor, now)
    assert changes_since(cursor, now) == []


def test_advancing_part_way_keeps_the_rest_new():
    """A restart between two reported changes: the stored cursor covers only the first."""
    cursor = {"floor": ms(T1), "seen": {}}
    now = [listed("a", 1, T2), listed("b", 1, T2)]
    first, _ = changes_since(cursor, now)

    assert ids(changes_since(advance_cursor(cursor, first), now)) == ["b"]


def test_ten_thousand_offers_changed_at_once_keep_a_bounded_cursor_and_replay_nothing():
    burst = [listed(f"dps:fallback-offer:{i:016x}", 1, at(i / 100)) for i in range(10_000)]
    cursor = cursor_at(burst)

    assert len(cursor["seen"]) == MAX_SEEN
    assert len(json.dumps(cursor)) < 100_000  # what the asset state store holds
    assert changes_since(cursor, burst) == []
    # the newest versions are kept: a change to one of them is told apart by its etag
    newest = burst[-1]
    assert ids(changes_since(cursor, [{**newest, "etag": 2}])) == [newest["id"]]


def test_a_quiet_sandbox_keeps_the_recent_versions_so_a_late_change_is_still_seen():
    """One change a minute: the lag window alone would hold ten; the RECENT newest are kept,
    so a change whose date is an hour behind (beyond the lag window) is still reported."""
    quiet = [listed(f"o{i}", 1, at(60 * i)) for i in range(500)]
    cursor = cursor_at(quiet)
    late = listed("late", 1, at(60 * 499 - 3600))

    assert len(cursor["seen"]) == RECENT
    assert LAG_WINDOW.total_seconds() < 60 * RECENT  # the late change is beyond the lag window
    assert ids(changes_since(cursor, [*quiet, late])) == ["late"]
    # older than both bounds: outside the window, not reported (the documented limit)
    assert changes_since(cursor, [listed("ancient", 1, at(0))]) == []


def test_one_writer_whose_clock_runs_a_day_ahead_hides_no_one_elses_change():
    cursor = cursor_at([listed(f"o{i}", 1, at(i)) for i in range(200)])
    cursor, _ = report(cursor, [listed("ahead", 1, at(86_400))])
    cursor, later = report(cursor, [listed("o5", 2, at(300)), listed("new", 1, at(301))])

    assert later == ["o5", "new"]


def test_watched_offers_keep_only_the_named_ones():
    now = [listed("1", 1, T1, "Summer"), listed("2", 1, T1, "Winter")]

    assert watched_offers(now, None) == now
    assert ids(watched_offers(now, ["Winter", "Autumn"])) == ["2"]
    assert watched_offers(now, []) == []


@pytest.mark.parametrize(
    ("value", "cursor"),
    [
        ({"floor": 5, "seen": {"a": [1, 7]}}, {"floor": 5, "seen": {"a": [1, 7]}}),
        (EMPTY_CURSOR, EMPTY_CURSOR),
        (None, None),
        ("T1", None),
        ({"floor": 5}, None),
        ({"floor": "5", "seen": {}}, None),
        ({"floor": 5, "seen": []}, None),
        ({"floor": 5, "seen": {"a": 1}}, None),
        ({"floor": 5, "seen": {"a": [1, "7"]}}, None),
        # what older releases stored (a high-water mark): read as the cursor it stands for
        (
            {"modified": T1, "etags": {"a": 1}},
            {"floor": ms(T1), "seen": {"a": [1, ms(T1)]}},
        ),
        ({"modified": None, "etags": {}}, EMPTY_CURSOR),
        ({"modified": 5, "etags": {}}, None),
        ({"modified": T1, "etags": []}, None),
    ],
)
def test_stored_cursor_reads_back_only_a_cursor(value, cursor):
    assert stored_cursor(value) == cursor


def test_a_cursor_stored_by_an_older_release_neither_replays_nor_misses():
    old = stored_cursor({"modified": T2, "etags": {"b": 1}})
    now = [listed("a", 1, T1), listed("b", 1, T2), listed("c", 1, T3)]

    assert ids(changes_since(old, now)) == ["c"]


def test_the_cursor_keeps_the_bounds_the_offer_changes_page_states():
    """docs/offer-changes.md: at most 1,000 versions, those within 10 minutes of the newest,
    and always the 100 newest; the window is compared in milliseconds."""
    from airflow_provider_offers.api import change

    assert (timedelta(minutes=10), 100, 1000) == (LAG_WINDOW, RECENT, MAX_SEEN)
    assert change._LAG_MS == 600_000
