"""The hub Decisioning API: documented request/response shapes, ranking and fallback."""

from __future__ import annotations

import pytest
from emulator_helpers import NS, XDM, decide


def test_documented_request_answers_the_fallback_in_documented_shape(api, adobe_examples, world):
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    response = decide(api, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XDM)
    answer = response.json()
    # decision-response-v1.0 is closed: the page says the id is echoed, but nowhere to put it.
    assert set(answer) == {"xdm:propositionId", "xdm:propositions", "ode:createDate"}
    assert (
        isinstance(answer["ode:createDate"], int) and answer["ode:createDate"] > 1_600_000_000_000
    )
    (proposition,) = answer["xdm:propositions"]
    assert proposition["xdm:activity"] == {
        "xdm:id": world["decision"],
        "repo:etag": "1",
        "xdm:name": "Test Offer Decision",
    }
    assert proposition["xdm:placement"] == {
        "xdm:id": world["placement"],
        "repo:etag": "1",
        "xdm:name": "New placement",
    }
    assert "xdm:options" not in proposition
    assert proposition["xdm:fallback"] == {
        "xdm:id": world["fallback"],
        "repo:etag": "1",
        "@type": "https://ns.adobe.com/experience/decisioning/content-component-imagelink",
        "dc:format": "image/png",
        "xdm:deliveryURL": "https://mysite.com",
        "xdm:name": "Test Fallback Offer DPS",
    }


def test_personalized_offers_ranked_by_priority(api, adobe_examples, world):
    low = world["offer"]("low", 1)
    high = world["offer"]("high", 5)
    world["offer"]("lowest", 0)
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    assert "xdm:fallback" not in proposition
    options = proposition["xdm:options"]
    assert [o["xdm:id"] for o in options] == [high, low]  # xdm:itemCount 2
    assert options[0] == {
        "xdm:id": high,
        "repo:etag": "1",
        "@type": "https://ns.adobe.com/experience/decisioning/content-component-html-template",
        "dc:format": "text/html",
        "dc:language": ["en-us"],
        "xdm:content": "Hello You qualify for our Discount of 60%",
        "xdm:name": "high",
    }


def test_equal_priority_prefers_the_older_offer(api, adobe_examples, world):
    first = world["offer"]("first", 3)
    world["offer"]("second", 3)
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    body["xdm:propositionRequests"][0]["xdm:itemCount"] = 1
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    assert [o["xdm:id"] for o in proposition["xdm:options"]] == [first]


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "draft"},
        {"tags": []},
        {
            "selectionConstraint": {
                "startDate": "2090-01-01T00:00:00Z",
                "profileConstraintType": "none",
            }
        },
        {"selectionConstraint": {"endDate": "2021-01-01T00:00:00Z"}},
        {
            "selectionConstraint": {
                "profileConstraintType": "anySegments",
                "segmentIdentities": [{"_id": "s1"}],
            }
        },
    ],
    ids=["draft", "not-in-collection", "not-yet", "expired", "segment-constraint"],
)
def test_ineligible_offers_fall_back(api, adobe_examples, world, changes):
    world["offer"]("not eligible", 9, **changes)
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    assert proposition["xdm:fallback"]["xdm:id"] == world["fallback"]


def test_offer_without_a_representation_for_the_placement_is_skipped(api, adobe_examples, world):
    world["offer"]("elsewhere", 9, placements=(api.placement(name="elsewhere"),))
    request = adobe_examples.decision_request(world["decision"], world["placement"])
    (proposition,) = decide(api, request).json()["xdm:propositions"]
    assert "xdm:fallback" in proposition


def test_collection_of_offer_ids(api, adobe_examples, world):
    chosen = world["offer"]("chosen", 0, tags=[])
    world["offer"]("tagged but not listed", 10)
    api.patch(
        "offer-collections",
        world["collection"],
        [
            {"op": "replace", "path": "/filterType", "value": "offers"},
            {"op": "replace", "path": "/ids", "value": [chosen]},
        ],
    )
    request = adobe_examples.decision_request(world["decision"], world["placement"])
    (proposition,) = decide(api, request).json()["xdm:propositions"]
    assert [o["xdm:id"] for o in proposition["xdm:options"]] == [chosen]


def test_without_include_content_only_ids_and_etags(api, adobe_examples, world):
    world["offer"]("one", 1)
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    del body["xdm:responseFormat"]
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    assert set(proposition["xdm:options"][0]) == {"xdm:id", "repo:etag"}
    assert set(proposition["xdm:activity"]) == {"xdm:id", "repo:etag"}


def test_patched_fallback_content_is_served(api, adobe_examples, world):
    api.patch(
        "offers",
        world["fallback"],
        [
            {
                "op": "replace",
                "path": "/representations/0/components/0/deliveryURL",
                "value": "https://cdn/new.png",
            }
        ],
        **{"offer-type": "fallback"},
    )
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    fallback = decide(api, body).json()["xdm:propositions"][0]["xdm:fallback"]
    assert (fallback["xdm:deliveryURL"], fallback["repo:etag"]) == ("https://cdn/new.png", "2")


def test_decision_must_be_live(api, adobe_examples, world):
    api.patch(
        "offer-decisions",
        world["decision"],
        [{"op": "replace", "path": "/status", "value": "draft"}],
    )
    response = decide(api, adobe_examples.decision_request(world["decision"], world["placement"]))
    assert response.status_code == 422
    assert "xdm:activityId" in response.json()["detail"]


def test_unknown_decision_and_foreign_placement_are_422(api, adobe_examples, world):
    response = decide(
        api, adobe_examples.decision_request("dps:offer-activity:nope", world["placement"])
    )
    assert response.status_code == 422 and "xdm:activityId" in response.json()["detail"]
    other = api.placement(name="unused")
    response = decide(api, adobe_examples.decision_request(world["decision"], other))
    assert response.status_code == 422 and "xdm:placementId" in response.json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("xdm:propositionRequests"), "xdm:propositionRequests"),
        (lambda b: b.pop("xdm:profiles"), "xdm:profiles"),
        (lambda b: b["xdm:profiles"].append(b["xdm:profiles"][0]), "xdm:profiles"),
        (lambda b: b["xdm:profiles"][0].pop("xdm:identityMap"), "xdm:identityMap"),
        (lambda b: b["xdm:propositionRequests"][0].update({"xdm:itemCount": 31}), "xdm:itemCount"),
        (lambda b: b["xdm:propositionRequests"][0].pop("xdm:placementId"), "xdm:placementId"),
        (
            lambda b: b["xdm:responseFormat"]["xdm:includeMetadata"].update(
                {"xdm:option": ["price"]}
            ),
            "xdm:option",
        ),
    ],
)
def test_malformed_requests_are_400(api, adobe_examples, world, mutate, field):
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    mutate(body)
    response = decide(api, body)
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_media_types_and_request_id_are_checked(emulator, api, adobe_examples, world):
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    # The schema's `consumes` and `produces` lists: plain JSON is served both ways.
    plain = decide(api, body, **{"Content-Type": "application/json", "Accept": "application/json"})
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    for content_type in (f'{XDM}; schema="{NS}/other;version=1.0"', "text/plain", None):
        wrong = decide(api, body, **{"Content-Type": content_type})
        assert wrong.status_code == 415, wrong.text
        assert wrong.headers["content-type"] == "application/problem+json"
        assert wrong.json()["detail"].startswith("Content-Type: must be")
    older = f'{XDM}; schema="{NS}/decision-response;version=0.9"'
    accept = decide(api, body, Accept=older)
    assert accept.status_code == 406 and "Accept" in accept.json()["detail"]
    no_id = decide(api, body, **{"x-request-id": None})
    assert no_id.status_code == 400 and "x-request-id" in no_id.json()["detail"]
    emulator.configure(require_request_id=False, require_xdm_accept=False)
    assert decide(api, body, **{"x-request-id": None, "Accept": None}).status_code == 200


def test_decisioning_goes_through_the_gateway(api, adobe_examples, world):
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    response = decide(api, body, Authorization=None)
    assert response.json() == {"error_code": "403010", "message": "Oauth token is missing."}


def test_duplicates_across_placements_can_be_refused(api, adobe_examples, world):
    second = api.placement(name="second")
    offer = world["offer"]("both", 1, placements=(world["placement"], second))
    fallback = api.fallback_offer([world["placement"], second])
    decision = api.create(
        "offer-decisions",
        adobe_examples.decision(fallback, [world["placement"], second], world["collection"]),
    )["id"]
    body = adobe_examples.decision_request(decision, world["placement"])
    body["xdm:propositionRequests"].append(
        {**body["xdm:propositionRequests"][0], "xdm:placementId": second}
    )
    answer = decide(api, body).json()["xdm:propositions"]
    assert [p["xdm:options"][0]["xdm:id"] for p in answer] == [offer, offer]
    body["xdm:allowDuplicatePropositions"]["xdm:acrossPlacements"] = False
    first, then = decide(api, body).json()["xdm:propositions"]
    assert first["xdm:options"][0]["xdm:id"] == offer
    assert then["xdm:fallback"]["xdm:id"] == fallback


def test_duplicates_are_refused_unless_asked_for(api, adobe_examples, world):
    """The schema's defaults (allow-duplication-propositions): false, so an offer fills one
    placement only when the request does not say otherwise."""
    second = api.placement(name="second")
    offer = world["offer"]("both", 1, placements=(world["placement"], second))
    fallback = api.fallback_offer([world["placement"], second])
    decision = api.create(
        "offer-decisions",
        adobe_examples.decision(fallback, [world["placement"], second], world["collection"]),
    )["id"]
    body = adobe_examples.decision_request(decision, world["placement"])
    body["xdm:propositionRequests"].append(
        {**body["xdm:propositionRequests"][0], "xdm:placementId": second}
    )
    del body["xdm:allowDuplicatePropositions"]
    first, then = decide(api, body).json()["xdm:propositions"]
    assert first["xdm:options"][0]["xdm:id"] == offer
    assert then["xdm:fallback"]["xdm:id"] == fallback


def test_options_are_closed_and_may_carry_their_priority(api, adobe_examples, world):
    offer = world["offer"]("linked", 7)
    api.patch(
        "offers",
        offer,
        [{"op": "add", "path": "/representations/0/components/0/linkURL", "value": "https://x"}],
        **{"offer-type": "personalized"},
    )
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    body["xdm:responseFormat"]["xdm:includeMetadata"] = {
        "xdm:option": ["name", "priority"],
        "xdm:scope": "ignored",
    }
    response = decide(api, body)
    assert response.status_code == 200, response.text
    (option,) = response.json()["xdm:propositions"][0]["xdm:options"]
    assert option["xdm:priority"] == 7 and "xdm:linkURL" not in option
