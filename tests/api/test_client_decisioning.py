"""`request_decision` against the emulator's hub Decisioning API (API doc 16.1)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from adobe_decisioning_schema import schema_for
from client_helpers import api_requests, offer_body, placement_body
from jsonschema import Draft4Validator

from airflow_provider_offers.api.calls import DECISION_REQUEST_TYPE, DECISION_RESPONSE_TYPE
from airflow_provider_offers.api.client import AsyncOfferLibraryClient
from airflow_provider_offers.api.decisioning import DecisionResponse
from airflow_provider_offers.api.errors import InvalidInputError, RequestValidationError
from airflow_provider_offers.api.resources import (
    FALLBACK_OFFERS,
    OFFER_COLLECTIONS,
    OFFER_DECISIONS,
    PERSONALIZED_OFFERS,
    PLACEMENTS,
    TAGS,
)


@pytest.fixture
def scope(client):
    """A live decision over one placement: a tagged personalized offer, and a fallback."""
    placement = client.create(PLACEMENTS, placement_body()).id
    tag = client.create(TAGS, {"name": "Spring"}).id
    personalized = {
        **offer_body(placement, "Twenty percent off"),
        "tags": [tag],
        "rank": {"priority": 5},
        "selectionConstraint": {"profileConstraintType": "none"},
    }
    personalized["representations"][0]["components"] = [
        {"type": "html", "format": "text/html", "content": "<p>20% off</p>"}
    ]
    offer = client.create(PERSONALIZED_OFFERS, personalized).id
    fallback = client.create(FALLBACK_OFFERS, offer_body(placement, "Default banner")).id
    collection = client.create(
        OFFER_COLLECTIONS, {"name": "Spring offers", "filterType": "any-tags", "ids": [tag]}
    ).id
    decision = client.create(
        OFFER_DECISIONS,
        {
            "name": "Homepage",
            "status": "live",
            "fallback": fallback,
            "criteria": [{"placements": [placement], "optionSelection": {"filter": collection}}],
        },
    ).id
    return {"placement": placement, "offer": offer, "fallback": fallback, "decision": decision}


def test_qualifying_offer_is_proposed(emulator, client, scope):
    answer = client.request_decision(
        scope["decision"], scope["placement"], profile_id="0123456789", include_metadata=True
    )

    assert isinstance(answer, DecisionResponse)
    (proposition,) = answer.propositions
    assert (proposition.activity.id, proposition.placement.id) == (
        scope["decision"],
        scope["placement"],
    )
    assert not proposition.is_fallback
    (option,) = proposition.served
    assert option.id == scope["offer"]
    assert option.content == "<p>20% off</p>"
    assert option.name == "Twenty percent off"
    assert answer.to_json()["xdm:propositions"][0]["xdm:options"][0]["xdm:id"] == scope["offer"]


def test_fallback_when_nothing_qualifies(client, scope):
    client.patch(
        PERSONALIZED_OFFERS,
        scope["offer"],
        [{"op": "replace", "path": "/status", "value": "draft"}],
    )

    answer = client.request_decision(
        scope["decision"], scope["placement"], identity_map={"Email": ["jane@example.com"]}
    )

    (proposition,) = answer.propositions
    assert proposition.is_fallback
    assert proposition.fallback.id == scope["fallback"]
    assert proposition.fallback.deliveryURL == "https://cdn.example.com/default.png"
    assert proposition.served == [proposition.fallback]


def test_request_uses_xdm_media_types_and_a_request_id(emulator, client, scope):
    client.request_decision(
        scope["decision"],
        scope["placement"],
        profile_id="ecid-1",
        item_count=3,
        include_content=False,
        decision_request_id="dr-42",
    )

    (sent,) = [r for r in api_requests(emulator) if r.path == "/data/core/ods/decisions"]
    assert sent.headers["content-type"] == DECISION_REQUEST_TYPE
    assert sent.headers["accept"] == DECISION_RESPONSE_TYPE
    assert uuid.UUID(sent.headers["x-request-id"]).version == 4
    assert sent.headers["x-sandbox-name"] == "prod"
    assert sent.json == {
        "xdm:propositionRequests": [
            {
                "xdm:activityId": scope["decision"],
                "xdm:placementId": scope["placement"],
                "xdm:itemCount": 3,
            }
        ],
        "xdm:profiles": [
            {
                "xdm:identityMap": {"ECID": [{"xdm:id": "ecid-1", "primary": True}]},
                "xdm:decisionRequestId": "dr-42",
            }
        ],
        "xdm:responseFormat": {"xdm:includeContent": False},
    }


async def test_async_request_decision(config, retry, scope):
    async with AsyncOfferLibraryClient(config, retry=retry) as client:
        answer = await client.request_decision(
            scope["decision"], scope["placement"], identity_map={"Email": [{"id": "a@b.c"}]}
        )
    assert answer.propositions[0].served[0].id == scope["offer"]


def test_unknown_decision_is_a_validation_error(client, scope):
    with pytest.raises(RequestValidationError) as caught:
        client.request_decision("dps:offer-activity:0000", scope["placement"], profile_id="x")
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"profile_id": "x", "item_count": 0}, "item_count"),
        ({"profile_id": "x", "item_count": 31}, "item_count"),
        ({"profile_id": "x", "identity_map": {"ECID": ["y"]}}, "profile_id"),
        ({}, "profile_id"),
        ({"identity_map": {"Email": []}}, "identity_map.Email"),
        ({"identity_map": {"Email": [7]}}, "identity_map.Email"),
    ],
)
def test_bad_decision_input_fails_before_any_request(emulator, client, options, field):
    with pytest.raises(InvalidInputError) as caught:
        client.request_decision("decision", "placement", **options)
    assert caught.value.field == field
    assert api_requests(emulator) == []


def test_decision_placement_must_be_given(emulator, client):
    with pytest.raises(InvalidInputError) as caught:
        client.request_decision("decision", "", profile_id="x")
    assert caught.value.field == "placement_id"
    assert api_requests(emulator) == []


def _resend(emulator, **header_changes):
    """The client's last decision request sent again as it was: the emulator's raw answer."""
    sent = api_requests(emulator, "/data/core/ods/")[-1]
    keep = ("authorization", "x-api-key", "x-gw-ims-org-id", "x-sandbox-name", "x-request-id")
    headers = {k: sent.headers[k] for k in keep} | {
        "content-type": sent.headers["content-type"],
        "accept": sent.headers["accept"],
        **header_changes,
    }
    return httpx.post(emulator.url + sent.path, json=sent.json, headers=headers, timeout=10)


@pytest.mark.parametrize("offer_library_emulator", ["strict", "adobe-examples"], indirect=True)
@pytest.mark.parametrize("fallback", [False, True], ids=["options", "fallback"])
def test_emulator_answers_validate_against_adobes_schema(emulator, client, scope, fallback):
    if fallback:
        client.patch(PERSONALIZED_OFFERS, scope["offer"], [REPLACE_STATUS_DRAFT])
    client.request_decision(
        scope["decision"], scope["placement"], profile_id="v", include_metadata=True
    )

    answer = _resend(emulator).json()
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in ANSWER.iter_errors(answer)]
    assert problems == []
    (proposition,) = answer["xdm:propositions"]
    assert ("xdm:fallback" in proposition) is fallback


@pytest.mark.parametrize("accept", ["application/json", DECISION_RESPONSE_TYPE])
def test_every_answer_form_is_read(emulator, client, scope, accept):
    """Strict on write, lenient on read: string or integer etags (schema vs the page's
    example), either media type the schema lists, the page's example answer as it is."""
    client.request_decision(scope["decision"], scope["placement"], profile_id="v")
    raw = _resend(emulator, accept=accept)
    assert raw.headers["content-type"] == accept
    served = DecisionResponse.model_validate(raw.json())
    assert served.propositions[0].served[0].etag == "1"
    page = DecisionResponse.model_validate(DOCUMENTED_ANSWER)
    assert [p.activity.etag for p in page.propositions] == [4, 4]
    assert page.propositions[0].options[1].score == 45.65
    assert page.propositions[1].fallback.deliveryURL.endswith(".png")


REPLACE_STATUS_DRAFT = {"op": "replace", "path": "/status", "value": "draft"}
ANSWER = Draft4Validator(schema_for("decision-response-v1.0"))
#: The Decisioning API page's example answer (offers/api-reference/offer-delivery-api/
#: decisioning-api.md): integer `repo:etag`s where the schema says string.
DOCUMENTED_ANSWER = {
    "xdm:propositionId": "5d0ffb5e-dfc6-4280-99b6-0bf3131cb8b8",
    "xdm:propositions": [
        {
            "xdm:activity": {"xdm:id": "dps:activity:ffed0123", "repo:etag": 4},
            "xdm:placement": {"xdm:id": "dps:placement:ffed0456", "repo:etag": 1},
            "xdm:options": [
                {"xdm:id": "dps:personalized-option:ccc0111", "repo:etag": 3},
                {"xdm:id": "dps:personalized-option:ccc0222", "repo:etag": 5, "xdm:score": 45.65},
            ],
        },
        {
            "xdm:activity": {"xdm:id": "dps:activity:ffed0123", "repo:etag": 4},
            "xdm:placement": {"xdm:id": "dps:placement:ffed0789", "repo:etag": 2},
            "xdm:fallback": {
                "xdm:id": "dps:fallback:ccc0222",
                "repo:etag": 5,
                "dc:format": "image/png",
                "xdm:deliveryURL": "https://cdn.adobe.com/content/1445323-1134331.png",
            },
        },
    ],
    "ode:createDate": 1566497582038,
}
