"""DPS CRUD for placements and offers (fallback and personalized), documented shapes."""

from __future__ import annotations

from datetime import datetime

import pytest

RECEIPT_KEYS = {
    "etag",
    "id",
    "sandboxId",
    "createdDate",
    "lastModifiedDate",
    "createdBy",
    "lastModifiedBy",
    "createdByClientId",
    "lastModifiedByClientId",
}
SERVER_KEYS = {"created", "modified", "etag", "schemas", "createdBy", "lastModifiedBy", "id"}
NS = "https://ns.adobe.com/experience/offer-management"
FALLBACK = {"offer-type": "fallback"}
PERSONALIZED = {"offer-type": "personalized"}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_documented_placement_is_created_and_looked_up(emulator, api, adobe_examples):
    body = adobe_examples.placement()
    receipt = api.create("placements", body)
    assert set(receipt) == RECEIPT_KEYS
    assert receipt["etag"] == 1
    assert receipt["id"].startswith("dps:offer-placement:")
    assert receipt["createdByClientId"] == emulator.client_id
    assert receipt["createdDate"] == receipt["lastModifiedDate"]
    stored = api.get("placements", receipt["id"])
    assert {k: v for k, v in stored.items() if k not in SERVER_KEYS} == body
    assert stored["schemas"] == [f"{NS}/offer-placement;version=0.5"]
    assert stored["etag"] == 1
    assert stored["created"] == receipt["createdDate"]
    assert "sandboxId" not in stored


@pytest.mark.parametrize(
    ("offer_type", "schema"),
    [
        ("fallback", "fallback-offer;version=0.8"),
        ("personalized", "personalized-offer;version=0.15"),
    ],
)
def test_documented_offers_round_trip(api, adobe_examples, offer_type, schema):
    pid = api.placement()
    body = getattr(adobe_examples, f"{offer_type}_offer")(pid)
    receipt = api.create("offers", body, **{"offer-type": offer_type})
    assert receipt["id"].startswith(f"dps:{offer_type}-offer:")
    stored = api.get("offers", receipt["id"], **{"offer-type": offer_type})
    assert {k: v for k, v in stored.items() if k not in SERVER_KEYS} == body
    assert stored["schemas"] == [f"{NS}/{schema}"]


def test_offer_type_is_required_and_case_insensitive(api, adobe_examples):
    pid = api.placement()
    oid = api.fallback_offer([pid])
    missing = api.call("GET", f"/offers/{oid}")
    assert missing.status_code == 400
    assert "offer-type" in missing.json()["detail"]
    assert api.call("GET", f"/offers/{oid}", params={"offer-type": "FALLBACK"}).status_code == 200
    wrong = api.call("GET", f"/offers/{oid}", params={"offer-type": "bogus"})
    assert wrong.status_code == 400 and "offer-type" in wrong.json()["detail"]
    listing = api.call("GET", "/offers", params={"offer-type": "Fallback"}).json()
    assert [r["id"] for r in listing["results"]] == [oid]
    assert listing["_links"]["self"]["href"].endswith("offer-type=Fallback")
    posted = api.call("POST", "/offers", json=adobe_examples.fallback_offer(pid))
    assert posted.status_code == 400 and "offer-type" in posted.json()["detail"]


def test_fallback_and_personalized_offers_are_separate(api):
    pid = api.placement()
    fid = api.fallback_offer([pid])
    assert api.call("GET", f"/offers/{fid}", params=PERSONALIZED).status_code == 404
    assert api.list_all("offers", **PERSONALIZED) == []


def test_patch_updates_etag_and_modified(api):
    pid = api.placement()
    oid = api.fallback_offer([pid])
    before = api.get("offers", oid, **FALLBACK)
    response = api.patch(
        "offers",
        oid,
        [
            {"op": "replace", "path": "/name", "value": "Updated fallback offer"},
            {"op": "replace", "path": "/description", "value": "Updated description"},
        ],
        **FALLBACK,
    )
    assert response.status_code == 200
    receipt = response.json()
    assert set(receipt) == RECEIPT_KEYS
    assert receipt["etag"] == 2
    after = api.get("offers", oid, **FALLBACK)
    assert after["name"] == "Updated fallback offer"
    assert after["etag"] == 2
    assert after["created"] == before["created"]
    assert _when(after["modified"]) > _when(before["modified"])
    assert receipt["lastModifiedDate"] == after["modified"]


def test_delete_answers_200_empty_then_404(api):
    pid = api.placement()
    oid = api.fallback_offer([pid])
    response = api.call("DELETE", f"/offers/{oid}", params=FALLBACK)
    assert response.status_code == 200
    assert response.content == b""
    for method in ("GET", "DELETE"):
        gone = api.call(method, f"/offers/{oid}", params=FALLBACK)
        assert gone.status_code == 404
        assert oid in gone.json()["detail"]
    gone = api.patch("offers", oid, [{"op": "replace", "path": "/name", "value": "x"}], **FALLBACK)
    assert gone.status_code == 404


def test_unknown_resource_is_404(api):
    response = api.call("GET", "/eligibility-rules")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def _problem(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "status", "title", "detail"}
    assert body["status"] == status
    assert field in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"status": "published"}, "status"),
        ({"representations": []}, "representations"),
        ({"rank": {"priority": -1}}, "rank.priority"),
        ({"rank": {"priority": "high"}}, "rank.priority"),
        ({"colour": "red"}, "colour"),
        ({"id": "mine"}, "id"),
        ({"cappingConstraint": {}}, "cappingConstraint"),
        (
            {"selectionConstraint": {"profileConstraintType": "everyone"}},
            "selectionConstraint.profileConstraintType",
        ),
        (
            {
                "selectionConstraint": {
                    "startDate": "2030-01-01T00:00:00Z",
                    "endDate": "2020-01-01T00:00:00Z",
                }
            },
            "selectionConstraint.endDate",
        ),
        ({"selectionConstraint": {"startDate": "tomorrow"}}, "selectionConstraint.startDate"),
        ({"tags": ["no-such-tag"]}, "tags[0]"),
        ({"characteristics": {"size": 3}}, "characteristics.size"),
    ],
)
def test_fallback_offer_validation_names_the_field(api, adobe_examples, change, field):
    pid = api.placement()
    body = {**adobe_examples.fallback_offer(pid), **change}
    body = {k: v for k, v in body.items() if v is not None}
    _problem(api.call("POST", "/offers", params=FALLBACK, json=body), 400, field)
    assert api.list_all("offers", **FALLBACK) == []


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda rep: rep.update(placement="offerPlacement1234"), "representations[0].placement"),
        (lambda rep: rep.pop("channel"), "representations[0].channel"),
        (lambda rep: rep.update(components=[]), "representations[0].components"),
        (
            lambda rep: rep["components"][0].update(type="video"),
            "representations[0].components[0].type",
        ),
        (
            lambda rep: rep["components"][0].pop("format"),
            "representations[0].components[0].format",
        ),
        (
            lambda rep: rep["components"][0].pop("deliveryURL"),
            "representations[0].components[0]",
        ),
    ],
)
def test_representation_validation_names_the_field(api, adobe_examples, mutate, field):
    body = adobe_examples.fallback_offer(api.placement())
    mutate(body["representations"][0])
    _problem(api.call("POST", "/offers", params=FALLBACK, json=body), 400, field)


def test_two_representations_cannot_share_a_placement(api, adobe_examples):
    pid = api.placement()
    body = adobe_examples.fallback_offer(pid)
    body["representations"].append(body["representations"][0])
    _problem(api.call("POST", "/offers", params=FALLBACK, json=body), 400, "representations[1]")


def test_deleted_placement_cannot_be_referenced(api, adobe_examples):
    pid = api.placement()
    api.call("DELETE", f"/placements/{pid}")
    body = adobe_examples.fallback_offer(pid)
    _problem(api.call("POST", "/offers", params=FALLBACK, json=body), 400, pid)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"componentType": None}, "componentType"),
        ({"componentType": "hologram"}, "componentType"),
        ({"channel": None}, "channel"),
        ({"itemCount": 0}, "itemCount"),
        ({"returnContent": "yes"}, "returnContent"),
        ({"returnMetaData": {"decisionName": 1}}, "returnMetaData.decisionName"),
        ({"returnMetaData": {"favouriteColour": True}}, "returnMetaData.favouriteColour"),
    ],
)
def test_placement_validation_names_the_field(api, adobe_examples, change, field):
    body = {**adobe_examples.placement(), **change}
    body = {k: v for k, v in body.items() if v is not None}
    _problem(api.call("POST", "/placements", json=body), 400, field)


def test_body_must_be_json(api):
    response = api.call(
        "POST", "/placements", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _problem(response, 400, "body")


def test_unknown_query_parameter_is_rejected(api):
    _problem(api.call("GET", "/placements", params={"pageSize": "5"}), 400, "pageSize")


@pytest.mark.parametrize("unknown", ["expand", "limit"])  # limit: a list parameter only
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    ("resource", "params"),
    [("placements", {}), ("offers", FALLBACK)],
    ids=["placements", "offers"],
)
def test_unknown_query_parameter_is_rejected_by_id(api, method, resource, params, unknown):
    pid = api.placement()
    ident = api.fallback_offer([pid]) if resource == "offers" else pid
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
    response = api.call(
        method,
        f"/{resource}/{ident}",
        params={**params, unknown: "1"},
        json=ops if method == "PATCH" else None,
    )
    _problem(response, 400, unknown)
    stored = api.get(resource, ident, **params)  # refused before anything was done
    assert (stored["etag"], stored["name"] != "renamed") == (1, True)


@pytest.mark.parametrize(
    ("resource", "params"),
    [("placements", {}), ("offers", FALLBACK)],
    ids=["placements", "offers"],
)
def test_unknown_query_parameter_is_rejected_on_create(api, adobe_examples, resource, params):
    body = adobe_examples.placement()
    if resource == "offers":
        body = adobe_examples.fallback_offer(api.placement())
    response = api.call("POST", f"/{resource}", json=body, params={**params, "dryRun": "true"})
    _problem(response, 400, "dryRun")
    assert api.list_all(resource, **params) == []  # nothing was created


def test_unknown_query_parameters_pass_when_not_rejected(emulator, api, adobe_examples):
    emulator.configure(reject_unknown_query_params=False)
    pid = api.create("placements", adobe_examples.placement(), dryRun="true")["id"]
    assert api.get("placements", pid, expand="all")["id"] == pid
    assert api.call("DELETE", f"/placements/{pid}", params={"expand": "all"}).status_code == 200


def test_create_status_is_configurable(emulator, api, adobe_examples):
    emulator.configure(create_status=200)
    response = api.call("POST", "/placements", json=adobe_examples.placement())
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/placements/", "//placements"])
def test_paths_are_matched_exactly(api, path):
    response = api.call("GET", path)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_put_is_not_emulated_for_dps_objects(api):
    pid = api.placement()
    response = api.call("PUT", f"/placements/{pid}", json={"name": "x"})
    assert response.status_code == 405


def test_duplicate_names_are_allowed(api):
    first, second = api.placement(name="same"), api.placement(name="same")
    assert first != second
    found = api.list_all("placements", property="name==same")
    assert sorted(p["id"] for p in found) == sorted([first, second])
