"""Rules of api/diff.py that survived mutants of scripts/mutation.py showed no test pinned down:
date-time members compared as instants (module docstring, "Server JSON, as sent")."""

from __future__ import annotations

from airflow_provider_offers.api import diff

SERVER = {
    "id": "o-1",
    "name": "Summer",
    "startDate": "2026-11-27T12:00:00.000Z",
    "created": "2026-11-01T08:00:00.000Z",
}


def test_date_time_members_become_utc_milliseconds():
    assert diff.canonical(
        {
            "startDate": "2026-11-27T14:00:00+02:00",
            "created": "2026-11-01T08:00:00Z",
            "modified": "2026-11-02T08:00:00.5Z",
        }
    ) == {
        "startDate": "2026-11-27T12:00:00.000+00:00",
        "created": "2026-11-01T08:00:00.000+00:00",
        "modified": "2026-11-02T08:00:00.500+00:00",
    }


def test_other_members_and_values_that_are_no_date_time_stay_as_written():
    values = {
        "name": "2026-11-27T12:00:00Z",  # looks like a time, but is a name
        "endDate": "soon",
        "modified": "",
        "startDate": 5,
    }
    assert diff.canonical(values) == values


def test_a_date_differing_only_in_form_sends_no_patch():
    assert diff.update_patch(SERVER, {"startDate": "2026-11-27T14:00:00.000000+02:00"}) == []
    assert diff.update_patch(SERVER, {"created": "2026-11-01T08:00:00Z"}) == []


def test_a_changed_date_is_replaced_guarded_by_the_servers_own_form():
    assert diff.update_patch(SERVER, {"startDate": "2026-11-28T12:00:00Z"}) == [
        {"op": "test", "path": "/startDate", "value": "2026-11-27T12:00:00.000Z"},
        {"op": "replace", "path": "/startDate", "value": "2026-11-28T12:00:00.000+00:00"},
    ]


def test_a_name_is_compared_as_text_even_when_it_looks_like_a_time():
    server = {"id": "o-1", "name": "2026-11-27T12:00:00Z"}
    assert diff.update_patch(server, {"name": "2026-11-27T12:00:00.000Z"}) == [
        {"op": "test", "path": "/name", "value": "2026-11-27T12:00:00Z"},
        {"op": "replace", "path": "/name", "value": "2026-11-27T12:00:00.000Z"},
    ]
