"""Rules of api/change.py that survived mutants of scripts/mutation.py showed no test pinned
down; each test states the behaviour, not the code."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from airflow_provider_offers.api.change import given_baseline, observe


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
