"""The guarded minimal patches the offer operators send (api/diff.py): pure, no server."""

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
