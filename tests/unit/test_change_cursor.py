"""The pure "what changed since I last looked" over a listing (OfferChangeEventTrigger's cursor)."""

from __future__ import annotations

import pytest

from airflow_provider_offers.api.change import (
    EMPTY_CURSOR,
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


def listed(offer_id: str, etag, modified: str | None, name: str | None = None) -> dict:
    return {"id": offer_id, "etag": etag, "modified": modified, "name": name or offer_id}


def ids(offers: list[dict]) -> list[str]:
    return [offer["id"] for offer in offers]


def test_the_present_as_baseline_reports_nothing_until_something_changes():
    present = [listed("b", 1, T2), listed("a", 3, T1), listed("c", 1, T2)]
    cursor = cursor_at(present)

    assert cursor == {"modified": T2, "etags": {"b": 1, "c": 1}}
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
        (listed("b", 2, T2), True),  # a new etag at the mark: changed within the same ms
        (listed("b", "1", T2), False),  # the same version, spelled as a digit string
        (listed("b", 1, T3), True),  # a later modified
        (listed("d", 1, T2), True),  # created at the mark itself
        (listed("d", 1, T3), True),  # created later
        (listed("d", 1, T1), False),  # older than the mark: not new to this cursor
        (listed("a", 4, T1), True),  # an offer from before the mark, whose etag moved, is
    ],
)
def test_change_since_a_cursor(now, new):
    cursor = {"modified": T2, "etags": {"b": 1}}
    if now["id"] == "a":  # known at the mark with etag 3 (its date read back older)
        cursor = {"modified": T2, "etags": {"b": 1, "a": 3}}
    assert bool(changes_since(cursor, [now])) is new


def test_changes_come_oldest_first_and_the_cursor_advances_past_each():
    cursor = {"modified": T1, "etags": {"a": 1, "y": 1}}
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
    assert cursor == {"modified": T3, "etags": {"c": 1}}
    assert changes_since(cursor, now) == []


def test_advancing_part_way_keeps_the_rest_new():
    """A restart between two reported changes: the stored cursor covers only the first."""
    cursor = {"modified": T1, "etags": {}}
    now = [listed("a", 1, T2), listed("b", 1, T2)]
    first, _ = changes_since(cursor, now)

    assert ids(changes_since(advance_cursor(cursor, first), now)) == ["b"]


def test_watched_offers_keep_only_the_named_ones():
    now = [listed("1", 1, T1, "Summer"), listed("2", 1, T1, "Winter")]

    assert watched_offers(now, None) == now
    assert ids(watched_offers(now, ["Winter", "Autumn"])) == ["2"]
    assert watched_offers(now, []) == []


@pytest.mark.parametrize(
    ("value", "cursor"),
    [
        ({"modified": T1, "etags": {"a": 1}}, {"modified": T1, "etags": {"a": 1}}),
        (EMPTY_CURSOR, EMPTY_CURSOR),
        (None, None),
        ("T1", None),
        ({"modified": T1}, None),
        ({"modified": 5, "etags": {}}, None),
        ({"modified": T1, "etags": []}, None),
    ],
)
def test_stored_cursor_reads_back_only_a_cursor(value, cursor):
    assert stored_cursor(value) == cursor
