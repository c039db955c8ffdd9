"""`PUT /ranking-formulas/{id}`: Adobe's documented update (the whole object), checked as a
create is (ranking-formulas/update.md, AdobeDocs/journey-optimizer.en)."""

from __future__ import annotations


def test_put_replaces_the_whole_formula_and_bumps_the_etag(api, adobe_examples):
    created = api.create("ranking-formulas", adobe_examples.ranking_formula())
    body = {**adobe_examples.ranking_formula(), "isPure": True, "name": "Renamed"}
    del body["description"]

    response = api.call("PUT", f"/ranking-formulas/{created['id']}", json=body)

    assert response.status_code == 200, response.text
    stored = api.get("ranking-formulas", created["id"])
    assert (stored["name"], stored["isPure"], "description" in stored) == ("Renamed", True, False)
    assert int(stored["etag"]) == int(created["etag"]) + 1


def test_put_is_validated_like_a_create(api, adobe_examples):
    created = api.create("ranking-formulas", adobe_examples.ranking_formula())
    body = {**adobe_examples.ranking_formula(), "expression": {"type": "PQL"}}
    response = api.call("PUT", f"/ranking-formulas/{created['id']}", json=body)
    assert response.status_code == 400 and "expression" in response.json()["detail"]
    assert api.get("ranking-formulas", created["id"])["name"] == "Test Ranking Function DPS"


def test_put_of_a_missing_formula_is_404_and_other_kinds_refuse_put(api, adobe_examples):
    body = adobe_examples.ranking_formula()
    missing = api.call("PUT", "/ranking-formulas/dps:ranking-function:0000", json=body)
    assert missing.status_code == 404
    tag = api.create("tags", adobe_examples.tag())["id"]
    assert api.call("PUT", f"/tags/{tag}", json=adobe_examples.tag()).status_code == 405
