"""api/diff.py: the guarded minimal patches the offer operators send, decided on meaning (the
server's JSON, date-time members as instants) and guarded with the server's own form; pure, no
server."""

from __future__ import annotations

import copy

import jsonpatch
import pytest

from airflow_provider_offers.api import diff

EXISTING = {
    "id": "dps:fallback-offer:1",
    "etag": 3,
    "name": "Spring fallback",
    "description": "old",
    "status": "approved",
    "representations": [
        {
            "channel": "https://ns.adobe.com/xdm/channel-types/web",
            "placement": "p1",
            "components": [{"type": "imagelink", "deliveryURL": "https://cdn/a.png"}],
        }
    ],
}


def test_nothing_differs_means_no_patch_at_all():
    desired = {"name": "Spring fallback", "status": "approved"}
    assert diff.update_patch(EXISTING, desired) == []


def test_only_given_fields_change_and_each_touched_member_is_guarded():
    desired = copy.deepcopy({k: EXISTING[k] for k in ("name", "representations")})
    desired["representations"][0]["components"][0]["deliveryURL"] = "https://cdn/b.png"
    desired["rank"] = {"priority": 2}

    ops = diff.update_patch(EXISTING, desired)

    assert ops[0] == {
        "op": "test",
        "path": "/representations",
        "value": EXISTING["representations"],
    }
    assert sorted(ops[1:], key=lambda op: op["path"]) == [
        {"op": "add", "path": "/rank", "value": {"priority": 2}},
        {
            "op": "replace",
            "path": "/representations/0/components/0/deliveryURL",
            "value": "https://cdn/b.png",
        },
    ]
    after = jsonpatch.apply_patch(EXISTING, ops)
    assert after["description"] == "old"  # not given: left alone
    assert {k: after[k] for k in desired} == desired


def test_a_concurrent_change_to_a_touched_member_makes_the_patch_fail():
    desired = {"name": "Spring fallback", "representations": [{"placement": "p1"}]}
    ops = diff.update_patch(EXISTING, desired)
    concurrent = copy.deepcopy(EXISTING)
    concurrent["representations"].insert(0, {"placement": "p0"})
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(concurrent, ops)


def test_only_documented_ops_are_produced():
    existing = {"name": "x", "tags": ["a", "b", "c"]}
    desired = {"name": "x", "tags": ["c", "a", "b"]}  # jsonpatch alone would emit `move`
    ops = diff.update_patch(existing, desired)
    assert {op["op"] for op in ops} <= {"add", "remove", "replace", "test"}
    assert jsonpatch.apply_patch(existing, ops)["tags"] == desired["tags"]


def test_member_names_are_escaped_as_json_pointers():
    existing = {"name": "x", "a/b": 1}
    ops = diff.update_patch(existing, {"name": "x", "a/b": 2})
    assert ops[0] == {"op": "test", "path": "/a~1b", "value": 1}
    assert jsonpatch.apply_patch(existing, ops)["a/b"] == 2


def test_caller_operations_are_guarded_and_their_outcome_recognised():
    ops = [
        {"op": "replace", "path": "/description", "value": "new"},
        {"op": "add", "path": "/labels", "value": ["core/C1"]},
        {"op": "test", "path": "/status", "value": "approved"},
    ]
    guarded = diff.guard(EXISTING, ops)
    assert guarded[0] == {"op": "test", "path": "/description", "value": "old"}
    assert guarded[1:] == ops  # nothing to test for /labels: it does not exist yet

    expected = diff.expected_members(EXISTING, ops)
    assert expected == {"present": {"description": "new", "labels": ["core/C1"]}, "absent": []}
    assert not diff.holds(EXISTING, expected)
    assert diff.holds(jsonpatch.apply_patch(EXISTING, guarded), expected)

    removal = diff.expected_members(EXISTING, [{"op": "remove", "path": "/description"}])
    assert removal == {"present": {}, "absent": ["description"]}
    assert diff.holds({k: v for k, v in EXISTING.items() if k != "description"}, removal)


def test_replacing_the_whole_document_is_refused():
    with pytest.raises(ValueError, match="whole document"):
        diff.guard(EXISTING, [{"op": "replace", "path": "", "value": {}}])


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


# -- the same meaning in another form --------------------------------------------------------------


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

    assert diff.update_patch(STORED, same) == []
    assert diff.update_patch(STORED, desired)[0] == {
        "op": "test",
        "path": "/selectionConstraint",
        "value": STORED["selectionConstraint"],  # exactly as stored, not re-serialised
    }


def test_values_equal_in_python_but_not_in_json_are_still_patched():
    stored = {"rank": {"priority": 1}, "flag": 1, "ratio": 1.0}

    assert diff.update_patch(stored, {"flag": True})[-1] == {
        "op": "replace",
        "path": "/flag",
        "value": True,
    }
    assert diff.update_patch(stored, {"ratio": 1})[-1] == {
        "op": "replace",
        "path": "/ratio",
        "value": 1,
    }
    assert diff.update_patch(stored, {"rank": {"priority": 1.0}})[-1] == {
        "op": "replace",
        "path": "/rank/priority",
        "value": 1.0,
    }


def test_the_same_json_sends_nothing_whatever_the_member_order():
    desired = {
        "characteristics": {"a": "1", "b": "2"},
        "selectionConstraint": STORED["selectionConstraint"],
    }

    assert diff.update_patch(STORED, desired) == []


# -- date-time members compared as instants ("Server JSON, as sent") -------------------------------


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


def test_a_value_that_is_not_plain_json_is_never_taken_as_unchanged():
    """The fast path's "same JSON" check cannot encode it: the diff goes on and fails loudly
    at the encoding, where a silent "unchanged" would lose the update."""
    from decimal import Decimal

    with pytest.raises(TypeError, match="Decimal"):
        diff.update_patch({"name": "A", "rank": 1}, {"name": "A", "rank": Decimal("2")})
