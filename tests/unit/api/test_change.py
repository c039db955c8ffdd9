"""The pure "has this offer changed?" decision shared by the sensor and the trigger."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_offers.api.change import (
    given_baseline,
    has_offer_changed,
    observe,
    offer_snapshot,
    poll_delay,
)
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import parse_etag, parse_modified

T0 = "2026-11-27T12:00:00.000Z"
UTC = timezone.utc
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("etag", "modified", "since_etag", "since_modified", "changed"),
    [
        # etag baselines: int or the string a Jinja template renders
        (2, T0, 1, None, True),
        (2, T0, "1", None, True),
        (2, T0, " 1 ", None, True),
        (3, T0, "3", None, False),
        (3, T0, 3, None, False),
        (2, T0, 3, None, True),  # etags are opaque: another one is a change
        ("3", T0, 3, None, False),  # an etag as a digit string is the same version
        ("4", T0, " 3 ", None, True),
        # a time Adobe wrote without an offset is UTC
        (1, "2026-11-27T12:00:00.001", None, T0, True),
        (1, "2026-11-27T12:00:00", None, T0, False),
        # modified baselines: Z vs offset, strings vs datetimes
        (1, "2026-11-27T12:00:00.001Z", None, T0, True),
        (1, T0, None, T0, False),
        (1, T0, None, "2026-11-27T14:00:00+02:00", False),  # same instant
        (1, "2026-11-27T12:00:01+00:00", None, "2026-11-27T14:00:00+02:00", True),
        (1, T0, None, "2026-11-27T13:59:59+02:00", True),
        (1, T0, None, datetime(2026, 11, 27, 12, 0, tzinfo=UTC), False),
        (1, T0, None, datetime(2026, 11, 27, 13, 59, 59, tzinfo=PLUS_TWO), True),
        (1, datetime(2026, 11, 27, 12, 0, 1, tzinfo=UTC), None, T0, True),
        # either baseline suffices
        (1, "2026-11-27T12:00:01Z", 1, T0, True),
        (2, T0, 1, T0, True),
        (1, T0, 1, T0, False),
        # neither given: nothing to compare with; the caller takes the current state as baseline
        (5, T0, None, None, False),
        (5, T0, "", "  ", False),
    ],
)
def test_has_offer_changed(etag, modified, since_etag, since_modified, changed):
    assert (
        has_offer_changed(etag, modified, since_etag=since_etag, since_modified=since_modified)
        is changed
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("since_etag", "None", "not an etag"),
        ("since_etag", "3.0", "not an etag"),
        ("since_etag", "-1", "not an etag"),
        ("since_etag", -1, "not an etag"),
        ("since_etag", True, "not an etag"),
        ("since_etag", 2.5, "not an etag"),
        ("since_modified", "yesterday", "not an ISO-8601"),
        ("since_modified", "2026-11-27T12:00:00", "no UTC offset"),
        ("since_modified", datetime(2026, 11, 27, 12, 0), "no UTC offset"),
        ("since_modified", 1764244800, "not a date-time"),
    ],
)
def test_unparseable_baseline_names_the_field(field, value, problem):
    with pytest.raises(InvalidInputError) as raised:
        has_offer_changed(2, T0, **{field: value})
    assert raised.value.field == field
    assert field in str(raised.value)
    assert problem in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_parsers_normalise_what_templates_render():
    assert parse_etag("7") == 7
    assert parse_etag(7) == 7
    assert parse_etag(None) is None
    assert parse_modified("2026-11-27T12:00:00Z") == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_modified("2026-11-27T14:00:00.011+02:00") == datetime(
        2026, 11, 27, 12, 0, 0, 11000, tzinfo=UTC
    )
    # Any number of fraction digits, on every supported Python (3.10's parser wants 3 or 6).
    assert parse_modified("2026-11-27T12:00:00.5Z") == datetime(
        2026, 11, 27, 12, 0, 0, 500000, tzinfo=UTC
    )
    assert parse_modified("2026-11-27T12:00:00.123456789Z") == datetime(
        2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC
    )


def test_snapshot_of_an_offer_as_adobe_returns_it():
    snapshot = offer_snapshot(
        {
            "id": "fallbackOffer1234",
            "name": "Fallback",
            "etag": 2,
            "created": "2023-06-08T14:04:41.011+00:00",
            "modified": "2023-06-08T16:04:41.5+02:00",
        }
    )

    assert snapshot == {
        "id": "fallbackOffer1234",
        "etag": 2,
        "modified": "2023-06-08T16:04:41.500+02:00",
    }
    assert has_offer_changed(snapshot["etag"], snapshot["modified"], since_modified=T0) is False
    assert has_offer_changed(
        snapshot["etag"], snapshot["modified"], since_modified="2023-06-08T14:04:41.499Z"
    )


# -- baselines and observations --------------------------------------------------------------------


def test_a_baseline_given_as_a_time_alone_or_an_etag_alone_is_kept():
    assert given_baseline(None, None) is None
    assert given_baseline("", " ") is None
    # Kept in the one form we write instants in (UTC, milliseconds), whatever the caller wrote.
    assert given_baseline(None, "2026-11-27T14:00:00+02:00") == {
        "previous_etag": None,
        "since_etag": None,
        "since_modified": "2026-11-27T12:00:00.000+00:00",
    }
    assert given_baseline("3", None) == {
        "previous_etag": 3,
        "since_etag": 3,
        "since_modified": None,
    }


def test_an_observation_cannot_be_altered_by_whoever_receives_it():
    modified = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    seen = observe({"id": "o-1", "etag": 2, "modified": modified.isoformat()}, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen.change = {"id": "o-1"}  # type: ignore[misc]


# -- the step the sensor and the trigger share -----------------------------------------------------


NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def served(etag: int, modified: datetime = NOON) -> dict:
    """An offer as the server's JSON."""
    return {
        "id": "dps:fallback-offer:1",
        "etag": etag,
        "modified": modified.isoformat(),
        "name": "Offer",
    }


def test_observe_takes_a_baseline_then_reports_a_change_against_it():
    first = observe(served(2), None)
    same = observe(served(2), first.baseline)
    later = observe(served(2, NOON + timedelta(milliseconds=1)), first.baseline)

    assert first.change is None and same.change is None
    assert first.baseline == {
        "previous_etag": 2,
        "since_etag": 2,
        "since_modified": "2026-11-30T12:00:00.000+00:00",
    }
    assert later.change["previous_etag"] == 2
    assert "changed" in later.message


@pytest.mark.parametrize(
    ("seconds_left", "delay"),
    [(None, 30.0), (3600, 30.0), (12.5, 12.5), (0, 0.0), (-5, 0.0)],
)
def test_poll_delay_never_sleeps_past_the_deadline(seconds_left, delay):
    deadline = None if seconds_left is None else NOON + timedelta(seconds=seconds_left)

    assert poll_delay(30.0, deadline, NOON) == delay
