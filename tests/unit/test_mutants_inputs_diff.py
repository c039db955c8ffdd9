"""Rules of api/inputs.py and api/diff.py that survived mutants of scripts/mutation.py showed
no test pinned down; each test states the behaviour, not the code."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import pytest

from airflow_provider_offers.api import diff
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import parse_etag, parse_modified


def test_etag_zero_is_a_valid_etag():
    assert parse_etag(0) == 0
    assert parse_etag("0") == 0


def test_a_lower_case_z_means_utc_too():
    assert parse_modified("2026-11-27T12:00:00z") == datetime(
        2026, 11, 27, 12, 0, tzinfo=timezone.utc
    )


class _NoOffset(tzinfo):
    """A time zone that does not know its offset (Python calls such datetimes naive)."""

    def utcoffset(self, dt):
        return None


def test_a_datetime_whose_time_zone_has_no_offset_is_refused():
    naive = datetime(2026, 11, 27, 12, 0, tzinfo=_NoOffset())
    with pytest.raises(InvalidInputError, match="has no UTC offset"):
        parse_modified(naive)
    aware = datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_modified(aware) is aware


def test_writes_after_a_callers_own_test_op_are_still_guarded():
    snapshot = {"status": "approved", "name": "old", "description": "old"}
    ops = [
        {"op": "test", "path": "/status", "value": "approved"},
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "remove", "path": "/description"},
    ]
    assert diff.guard(snapshot, ops) == [
        {"op": "test", "path": "/name", "value": "old"},
        {"op": "test", "path": "/description", "value": "old"},
        *ops,
    ]
    assert diff.expected_members(snapshot, ops) == {
        "present": {"name": "new"},
        "absent": ["description"],
    }
