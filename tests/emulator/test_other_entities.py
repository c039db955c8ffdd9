"""Tags, decision rules, collections and decisions: documented bodies and referential checks."""

from __future__ import annotations

import pytest

NS = "https://ns.adobe.com/experience/offer-management"
SERVER_KEYS = {"created", "modified", "etag", "schemas", "createdBy", "lastModifiedBy", "id"}
PERSONALIZED = {"offer-type": "personalized"}


def _entity(stored: dict) -> dict:
    return {k: v for k, v in stored.items() if k not in SERVER_KEYS}


def _setup(api, adobe_examples) -> dict:
    """placements -> tag -> fallback offer covering both placements -> collection."""
    placements = [api.placement(), api.placement(name="second")]
    tag = api.create("tags", adobe_examples.tag())["id"]
    fallback = api.fallback_offer(placements)
    collection = api.create("offer-collections", adobe_examples.collection(tag))["id"]
    return {"placements": placements, "tag": tag, "fallback": fallback, "collection": collection}


@pytest.mark.parametrize(
    ("resource", "example", "id_kind", "schema"),
    [
        ("tags", "tag", "tag", "tag;version=0.1"),
        ("offer-rules", "offer_rule", "eligibility-rule", "eligibility-rule;version=0.3"),
    ],
)
def test_documented_standalone_bodies_round_trip(
    api, adobe_examples, resource, example, id_kind, schema
):
    body = getattr(adobe_examples, example)()
    receipt = api.create(resource, body)
    assert receipt["id"].startswith(f"dps:{id_kind}:")
    stored = api.get(resource, receipt["id"])
    assert _entity(stored) == body
    assert stored["schemas"] == [f"{NS}/{schema}"]


def test_documented_collection_and_decision_round_trip(api, adobe_examples):
    ids = _setup(api, adobe_examples)
    stored = api.get("offer-collections", ids["collection"])
    assert _entity(stored) == adobe_examples.collection(ids["tag"])
    assert stored["schemas"] == [f"{NS}/offer-filter;version=0.4"]
    body = adobe_examples.decision(ids["fallback"], ids["placements"], ids["collection"])
    receipt = api.create("offer-decisions", body)
    assert receipt["id"].startswith("dps:offer-activity:")
    stored = api.get("offer-decisions", receipt["id"])
    assert _entity(stored) == body
    assert stored["schemas"] == [f"{NS}/offer-activity;version=0.8"]


def test_collection_of_offers_references_personalized_offers(api, adobe_examples):
    pid = api.placement()
    offer = api.personalized_offer(pid)
    body = {"name": "Direct", "filterType": "offers", "ids": [offer]}
    assert api.create("offer-collections", body)["id"]
    fallback = api.fallback_offer([pid])
    bad = api.call("POST", "/offer-collections", json={**body, "ids": [fallback]})
    assert bad.status_code == 400 and "ids[0]" in bad.json()["detail"]


def test_personalized_offer_can_reference_tags_and_rules(api, adobe_examples):
    pid = api.placement()
    tag = api.create("tags", adobe_examples.tag())["id"]
    rule = api.create("offer-rules", adobe_examples.offer_rule())["id"]
    constraint = {"profileConstraintType": "eligibilityRule", "eligibilityRule": rule}
    oid = api.personalized_offer(pid, tags=[tag], selectionConstraint=constraint)
    assert api.get("offers", oid, **PERSONALIZED)["selectionConstraint"]["eligibilityRule"] == rule
    bad = {**constraint, "eligibilityRule": "offerRule1234"}
    body = {**adobe_examples.personalized_offer(pid), "selectionConstraint": bad}
    response = api.call("POST", "/offers", params=PERSONALIZED, json=body)
    assert response.status_code == 400
    assert "selectionConstraint.eligibilityRule" in response.json()["detail"]


def _problem(response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"], response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"condition": None}, "condition"),
        ({"condition": {"type": "SQL", "format": "pql/text", "value": "x"}}, "condition.type"),
        ({"condition": {"type": "PQL", "format": "pql/text"}}, "condition.value"),
        ({"definedOn": {"profile": {"schema": {}}}}, "definedOn.profile.schema"),
    ],
)
def test_offer_rule_validation(api, adobe_examples, change, field):
    body = {**adobe_examples.offer_rule(), **change}
    _problem(
        api.call("POST", "/offer-rules", json={k: v for k, v in body.items() if v is not None}),
        field,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"filterType": "all-tags"}, "filterType"),
        ({"filterType": None}, "filterType"),
        ({"ids": []}, "ids"),
        ({"ids": ["tag1234"]}, "ids[0]"),
    ],
)
def test_collection_validation(api, adobe_examples, change, field):
    tag = api.create("tags", adobe_examples.tag())["id"]
    body = {**adobe_examples.collection(tag), **change}
    _problem(
        api.call(
            "POST", "/offer-collections", json={k: v for k, v in body.items() if v is not None}
        ),
        field,
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d, ids: d.update(fallback="fallbackOffer1234"), "fallback"),
        (lambda d, ids: d.pop("fallback"), "fallback"),
        (lambda d, ids: d.update(status="running"), "status"),
        (lambda d, ids: d.update(criteria=[]), "criteria"),
        (
            lambda d, ids: d["criteria"][0].update(placements=["offerPlacement5678"]),
            "criteria[0].placements[0]",
        ),
        (
            lambda d, ids: d["criteria"][0].update(
                optionSelection={"filter": "offerCollection1234"}
            ),
            "criteria[0].optionSelection.filter",
        ),
        (lambda d, ids: d["criteria"][0].pop("optionSelection"), "criteria[0].optionSelection"),
        (
            lambda d, ids: d["criteria"][0]["rank"]["order"].update(orderEvaluationType="magic"),
            "criteria[0].rank.order.orderEvaluationType",
        ),
        (lambda d, ids: d.update(endDate="2020-01-01T00:00:00Z"), "endDate"),
    ],
)
def test_decision_validation(api, adobe_examples, mutate, field):
    ids = _setup(api, adobe_examples)
    body = adobe_examples.decision(ids["fallback"], ids["placements"], ids["collection"])
    mutate(body, ids)
    _problem(api.call("POST", "/offer-decisions", json=body), field)


def test_the_ui_rule_fallback_covers_placements_is_off_unless_asked(emulator, api, adobe_examples):
    ids = _setup(api, adobe_examples)
    narrow = api.fallback_offer(ids["placements"][:1])
    body = adobe_examples.decision(narrow, ids["placements"], ids["collection"])
    assert api.call("POST", "/offer-decisions", json=body).status_code == 201
    emulator.configure(ui_rule_fallback_covers_placements=True)
    response = api.call("POST", "/offer-decisions", json=body)
    _problem(response, "fallback")
    assert ids["placements"][1] in response.json()["detail"]
    assert "ui_rule_fallback_covers_placements" in response.json()["detail"]


def test_decision_fallback_must_be_a_fallback_offer(api, adobe_examples):
    ids = _setup(api, adobe_examples)
    personalized = api.personalized_offer(ids["placements"][0])
    body = adobe_examples.decision(personalized, ids["placements"][:1], ids["collection"])
    _problem(api.call("POST", "/offer-decisions", json=body), "fallback")


def test_delete_of_a_referenced_object_is_allowed_by_default(emulator, api):
    pid = api.placement()
    api.fallback_offer([pid])
    assert api.call("DELETE", f"/placements/{pid}").status_code == 200


def test_referential_integrity_on_delete_when_configured(emulator, api):
    emulator.configure(referential_integrity_on_delete=True)
    pid = api.placement()
    oid = api.fallback_offer([pid])
    response = api.call("DELETE", f"/placements/{pid}")
    assert response.status_code == 409
    assert oid in response.json()["detail"]
    assert (
        api.call("DELETE", f"/offers/{oid}", params={"offer-type": "fallback"}).status_code == 200
    )
    assert api.call("DELETE", f"/placements/{pid}").status_code == 200


def test_experience_decisioning_objects_share_the_rule_and_formula_endpoints(api, adobe_examples):
    """A sandbox that also uses Experience Decisioning: its rules sit in /offer-rules with
    `exdRule: true`, its formulas in /ranking-formulas; lists filter them as Adobe's pages do."""
    ours = api.create("offer-rules", adobe_examples.offer_rule())["id"]
    exd = api.create("offer-rules", adobe_examples.exd_rule())["id"]
    formula_body = adobe_examples.ranking_formula()
    formula = api.create("ranking-formulas", formula_body)
    assert exd.startswith("dps:eligibility-rule:")
    assert formula["id"].startswith("dps:ranking-function:")
    stored = api.get("ranking-formulas", formula["id"])
    assert _entity(stored) == formula_body
    assert stored["schemas"] == [f"{NS}/ranking-function;version=0.3"]

    listed = api.list_all("offer-rules", property="exdRule==true")
    assert [r["id"] for r in listed] == [exd] and listed[0]["exdRule"] is True
    assert [r["id"] for r in api.list_all("offer-rules", property="!exdRule")] == [ours]
    formulas = api.list_all("ranking-formulas", property="exdFunction==true", limit=2)
    assert [f["id"] for f in formulas] == [formula["id"]]


@pytest.mark.parametrize(
    ("resource", "change", "field"),
    [
        ("offer-rules", {"exdRule": "yes"}, "exdRule"),
        ("ranking-formulas", {"expression": {"type": "PQL", "format": "pql/text"}}, "expression"),
        ("ranking-formulas", {"isPure": 1}, "isPure"),
        ("ranking-formulas", {"returnType": {"type": "integer", "x": 1}}, "returnType.x"),
    ],
)
def test_experience_decisioning_bodies_are_checked(api, adobe_examples, resource, change, field):
    body = (
        adobe_examples.exd_rule() if resource == "offer-rules" else adobe_examples.ranking_formula()
    )
    response = api.call("POST", f"/{resource}", json={**body, **change})
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith(field) and "unknown field for" not in detail
