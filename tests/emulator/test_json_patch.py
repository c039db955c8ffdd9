"""PATCH with RFC 6902 JSON Patch: all six ops, atomicity, read-only paths, re-validation."""

from __future__ import annotations

import pytest

FALLBACK = {"offer-type": "fallback"}


@pytest.fixture
def offer(api) -> str:
    return api.fallback_offer([api.placement()])


def _stored(api, oid: str) -> dict:
    return api.get("offers", oid, **FALLBACK)


def _patch(api, oid: str, ops: list):
    return api.patch("offers", oid, ops, **FALLBACK)


def test_all_six_operations(api, offer):
    response = _patch(
        api,
        offer,
        [
            {"op": "test", "path": "/name", "value": "Test Fallback Offer DPS"},
            {"op": "add", "path": "/labels", "value": ["core/C1"]},
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "copy", "from": "/name", "path": "/description"},
            {"op": "move", "from": "/labels", "path": "/characteristics"},
            {"op": "remove", "path": "/characteristics"},
            {"op": "add", "path": "/characteristics", "value": {"k": "v"}},
        ],
    )
    assert response.status_code == 200, response.text
    stored = _stored(api, offer)
    assert (stored["name"], stored["description"]) == ("renamed", "renamed")
    assert stored["characteristics"] == {"k": "v"}
    assert "labels" not in stored
    assert stored["etag"] == 2


def test_failing_test_applies_nothing(api, offer):
    before = _stored(api, offer)
    response = _patch(
        api,
        offer,
        [
            {"op": "replace", "path": "/name", "value": "should not stick"},
            {"op": "test", "path": "/etag", "value": 7},
        ],
    )
    assert response.status_code == 409
    assert "test" in response.json()["detail"]
    assert _stored(api, offer) == before


def test_test_on_etag_guards_a_concurrent_edit(api, offer):
    ops = [
        {"op": "test", "path": "/etag", "value": 1},
        {"op": "replace", "path": "/name", "value": "a"},
    ]
    assert _patch(api, offer, ops).status_code == 200
    assert _patch(api, offer, ops).status_code == 409
    assert _stored(api, offer)["etag"] == 2


@pytest.mark.parametrize(
    "path",
    [
        "/id",
        "/etag",
        "/created",
        "/modified",
        "/schemas",
        "/createdBy",
        "/lastModifiedBy",
        "/schemas/0",
    ],
)
def test_read_only_paths_are_rejected(api, offer, path):
    before = _stored(api, offer)
    response = _patch(api, offer, [{"op": "replace", "path": path, "value": "x"}])
    assert response.status_code == 422
    assert path in response.json()["detail"]
    assert _stored(api, offer) == before


def test_moving_or_removing_a_read_only_field_is_rejected(api, offer):
    move = _patch(api, offer, [{"op": "move", "from": "/id", "path": "/description"}])
    assert move.status_code == 422 and "/id" in move.json()["detail"]
    remove = _patch(api, offer, [{"op": "remove", "path": "/etag"}])
    assert remove.status_code == 422
    copy = _patch(api, offer, [{"op": "copy", "from": "/id", "path": "/description"}])
    assert copy.status_code == 200  # reading a server field is fine
    assert _stored(api, offer)["description"] == offer


@pytest.mark.parametrize(
    ("ops", "field"),
    [
        ([{"op": "replace", "path": "/name"}], "[0].value"),
        ([{"op": "add", "path": "/description"}], "[0].value"),
        ([{"op": "test", "path": "/name"}], "[0].value"),
        ([{"op": "merge", "path": "/name", "value": 1}], "[0].op"),
        ([{"path": "/name", "value": 1}], "[0].op"),
        ([{"op": "copy", "path": "/description"}], "[0].from"),
        ([{"op": "replace", "path": "name", "value": "x"}], "[0].path"),
        ([{"op": "replace", "value": "x"}], "[0].path"),
        ([], "body"),
        ({"op": "replace", "path": "/name", "value": "x"}, "body"),
        (["replace"], "[0]"),
    ],
)
def test_malformed_patches_are_400(api, offer, ops, field):
    response = _patch(api, offer, ops)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert _stored(api, offer)["etag"] == 1


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/nonexistent", "value": 1}],
        [{"op": "remove", "path": "/representations/5"}],
        [{"op": "add", "path": "/rank/missing/deeper", "value": 1}],
        [{"op": "move", "from": "/nothing", "path": "/description"}],
    ],
)
def test_bad_pointers_apply_nothing(api, offer, ops):
    before = _stored(api, offer)
    response = _patch(api, offer, ops)
    assert response.status_code == 409
    assert response.json()["detail"]
    assert _stored(api, offer) == before


@pytest.mark.parametrize(
    ("ops", "field"),
    [
        ([{"op": "remove", "path": "/name"}], "name"),
        ([{"op": "replace", "path": "/status", "value": "published"}], "status"),
        ([{"op": "replace", "path": "/representations", "value": []}], "representations"),
        ([{"op": "add", "path": "/colour", "value": "red"}], "colour"),
        (
            [
                {
                    "op": "replace",
                    "path": "/representations/0/placement",
                    "value": "offerPlacement1234",
                }
            ],
            "representations[0].placement",
        ),
    ],
)
def test_patch_result_must_still_be_valid(api, offer, ops, field):
    before = _stored(api, offer)
    response = _patch(api, offer, ops)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert _stored(api, offer) == before


def test_patch_on_other_kinds(api, adobe_examples):
    tag = api.create("tags", adobe_examples.tag())["id"]
    response = api.patch("tags", tag, [{"op": "replace", "path": "/description", "value": "new"}])
    assert (response.status_code, response.json()["etag"]) == (200, 2)
    assert api.get("tags", tag)["description"] == "new"
