"""Diffs decided on meaning, guards carrying the server's own JSON (api/diff.py)."""

from __future__ import annotations

from airflow_provider_offers.api.diff import update_patch

STORED = {  # as the Journey Optimizer UI may have stored it
    "id": "o-1",
    "etag": "4",
    "selectionConstraint": {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-12-31T00:00Z"},
    "characteristics": {"b": "2", "a": "1"},
}


def test_the_same_instants_and_members_in_another_form_send_nothing():
    desired = {
        "selectionConstraint": {
            "endDate": "2027-01-01T01:00:00.000+02:00",  # 2026-12-31T23:00Z: not the same
        }
    }
    same = {
        "selectionConstraint": {
            "startDate": "2026-01-01T01:00:00.000+01:00",
            "endDate": "2026-12-31T00:00:00.000000+00:00",
        },
        "characteristics": {"a": "1", "b": "2"},
    }

    assert update_patch(STORED, same) == []
    assert update_patch(STORED, desired)[0] == {
        "op": "test",
        "path": "/selectionConstraint",
        "value": STORED["selectionConstraint"],  # exactly as stored, not re-serialised
    }


def test_values_equal_in_python_but_not_in_json_are_still_patched():
    stored = {"rank": {"priority": 1}, "flag": 1, "ratio": 1.0}

    assert update_patch(stored, {"flag": True})[-1] == {
        "op": "replace",
        "path": "/flag",
        "value": True,
    }
    assert update_patch(stored, {"ratio": 1})[-1] == {"op": "replace", "path": "/ratio", "value": 1}
    assert update_patch(stored, {"rank": {"priority": 1.0}})[-1] == {
        "op": "replace",
        "path": "/rank/priority",
        "value": 1.0,
    }


def test_the_same_json_sends_nothing_whatever_the_member_order():
    desired = {
        "characteristics": {"a": "1", "b": "2"},
        "selectionConstraint": STORED["selectionConstraint"],
    }

    assert update_patch(STORED, desired) == []
