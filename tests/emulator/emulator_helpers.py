"""Helpers for the emulator's own tests: plain httpx over loopback, never our client.

A uniquely named module (not conftest) so test modules can import it without clashing with
other conftest.py files.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import httpx

#: One TLS context for the tests' own clients: httpx loads every CA certificate (~20 ms of CPU)
#: for each client it builds otherwise.
LOOPBACK_TLS = httpx.create_ssl_context()
DPS = "/data/core/dps"
ODS = "/data/core/ods/decisions"
SCOPES = "openid,AdobeID,read_organizations,additional_info.projectedProductContext,session"

XDM = "application/vnd.adobe.xdm+json"
NS = "https://ns.adobe.com/experience/offer-management"
REQUEST_TYPE = f'{XDM}; schema="{NS}/decision-request;version=1.0"'
RESPONSE_TYPE = f'{XDM}; schema="{NS}/decision-response;version=1.0"'
OPEN = {"startDate": "2020-01-01T00:00:00.000Z", "endDate": "2099-01-01T00:00:00.000Z"}


def decide(api, body, **header_changes):
    """`POST /data/core/ods/decisions` with the documented headers; `None` drops one."""
    headers = {
        **api.headers,
        "Content-Type": REQUEST_TYPE,
        "Accept": RESPONSE_TYPE,
        "x-request-id": "8a7c0f8e-0000-4000-8000-000000000001",
        **header_changes,
    }
    headers = {k: v for k, v in headers.items() if v is not None}
    return api.http.post(ODS, content=json.dumps(body), headers=headers)


def token_form(emulator, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "scope": SCOPES,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def fetch_token(http: httpx.Client, emulator) -> str:
    response = http.post("/ims/token/v3", data=token_form(emulator))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def dps_url(href: str) -> str:
    """Where a `_links` href points, in any of its three forms (relative, full path, absolute)."""
    return href if href.startswith(("http://", "https://", DPS + "/")) else DPS + href


class Api:
    """A DPS caller with the four documented headers; asserts only what it is told to."""

    def __init__(self, http: httpx.Client, headers: dict[str, str], create_status: int = 201):
        self.http = http
        self.headers = headers
        self.create_status = create_status

    def call(self, method: str, path: str, *, headers: dict | None = None, **kwargs):
        merged = {**self.headers, **(headers or {})}
        return self.http.request(method, DPS + path, headers=merged, **kwargs)

    def create(self, resource: str, body: Any, **params: str) -> dict:
        response = self.call("POST", f"/{resource}", json=body, params=params or None)
        assert response.status_code == self.create_status, response.text
        return response.json()

    def get(self, resource: str, ident: str, **params: str) -> dict:
        response = self.call("GET", f"/{resource}/{ident}", params=params or None)
        assert response.status_code == 200, response.text
        return response.json()

    def patch(self, resource: str, ident: str, ops: list, **params: str) -> httpx.Response:
        return self.call("PATCH", f"/{resource}/{ident}", json=ops, params=params or None)

    def list_all(self, resource: str, **params: Any) -> list[dict]:
        """Follow `_links.next.href` verbatim, as the docs say a client must."""
        response = self.call("GET", f"/{resource}", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items = list(page["results"])
        while "next" in page["_links"]:
            response = self.http.get(dps_url(page["_links"]["next"]["href"]), headers=self.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["results"]
        return items

    # documented setup chains, with the placeholders swapped for real ids
    def placement(self, **changes: Any) -> str:
        body = {**examples.placement(), **changes}
        return self.create("placements", body)["id"]

    def fallback_offer(self, placements: list[str], **changes: Any) -> str:
        body = examples.fallback_offer(placements[0])
        body["representations"] = [
            {**body["representations"][0], "placement": p} for p in placements
        ]
        body.update(changes)
        return self.create("offers", body, **{"offer-type": "fallback"})["id"]

    def personalized_offer(self, placement: str, **changes: Any) -> str:
        body = {**examples.personalized_offer(placement), **changes}
        return self.create("offers", body, **{"offer-type": "personalized"})["id"]


def _placement() -> dict:
    return {
        "name": "New placement",
        "description": "Placement description",
        "componentType": "html",
        "channel": "https://ns.adobe.com/xdm/channel-types/email",
        "itemCount": 1,
        "allowDuplicatePlacements": False,
        "returnContent": True,
        "returnMetaData": {
            "decisionName": False,
            "offerName": False,
            "offerAttributes": False,
            "offerPriority": False,
            "placementName": False,
            "channelType": False,
            "contentType": False,
        },
    }


def _fallback_offer(placement: str) -> dict:
    return {
        "name": "Test Fallback Offer DPS",
        "description": "Fallback Offer description",
        "status": "approved",
        "selectionConstraint": {
            "startDate": "2022-06-10T00:30:00.000+00:00",
            "endDate": "2032-06-06T23:29:21.402+00:00",
            "profileConstraintType": "none",
        },
        "representations": [
            {
                "channel": "https://ns.adobe.com/xdm/channel-types/web",
                "placement": placement,
                "components": [
                    {
                        "type": "imagelink",
                        "format": "image/png",
                        "deliveryURL": "https://mysite.com",
                    }
                ],
            }
        ],
        "rank": {"priority": 1},
    }


def _personalized_offer(placement: str) -> dict:
    return {
        "name": "Test personalized offer with frequency constraint",
        "status": "draft",
        "representations": [
            {
                "channel": "https://ns.adobe.com/xdm/channel-types/web",
                "placement": placement,
                "components": [
                    {
                        "type": "html",
                        "format": "text/html",
                        "language": ["en-us"],
                        "content": "Hello You qualify for our Discount of 60%",
                    }
                ],
            }
        ],
        "selectionConstraint": {
            "startDate": "2022-07-27T05:00:00.000+00:00",
            "endDate": "2023-07-29T05:00:00.000+00:00",
            "profileConstraintType": "none",
        },
        "rank": {"priority": 0},
        "cappingConstraint": {},
        "frequencyCappingConstraints": [
            {
                "enabled": False,
                "limit": 1,
                "startDate": "2023-05-15T14:25:49.622+00:00",
                "endDate": "2023-05-25T14:25:49.622+00:00",
                "scope": "global",
                "entity": "offer",
                "repeat": {"enabled": False, "unit": "month", "unitCount": 1},
            }
        ],
    }


def _tag() -> dict:
    return {"name": "Black Friday", "description": "Tag for black friday"}


def _offer_rule() -> dict:
    return {
        "name": "Sales rule",
        "description": "Decisioning rule for sales",
        "condition": {
            "type": "PQL",
            "format": "pql/text",
            "value": 'profile.person.name.firstName.equals("Joe", false)',
        },
        "definedOn": {
            "profile": {
                "schema": {"ref": "https://ns.adobe.com/xdm/context/profile_union", "version": "1"},
                "referencePaths": ["person.name.firstName"],
            }
        },
    }


def _exd_rule() -> dict:
    """Experience Decisioning's rule create body (experience-decisioning/api-reference/
    eligibility-rules/create.md): the same endpoint as ours, `exdRule: true`."""
    return {
        "name": "test dule",
        "description": "xxxxxx",
        "exdRule": True,
        "condition": {
            "type": "PQL",
            "format": "pql/text",
            "value": 'inSegment("849807b6-0a76-4895-96d9-89996477f23b") and '
            'billingAddress.city.equals("san jose", false)',
        },
    }


def _ranking_formula() -> dict:
    """Experience Decisioning's ranking formula create body (.../ranking-formulas/create.md)."""
    return {
        "name": "Test Ranking Function DPS",
        "description": "Ranking  function description",
        "exdFunction": True,
        "returnType": {"type": "integer"},
        "expression": {
            "type": "PQL",
            "format": "pql/text",
            "value": "if(offer.rank.priority.isNotNull(), offer.rank.priority, 0) * "
            "if(offer.tags.intersects(boosted.tags), 2, 1)",
        },
        "definedOn": {
            "offer": {
                "schema": {
                    "altId": "_experience.offer-management.personalized-offer",
                    "version": "0",
                }
            },
            "boosted": {"schema": {"altId": "_xdm.context.foo", "version": "0"}},
        },
    }


def _collection(tag: str) -> dict:
    return {
        "name": "Test Collection with tags",
        "filterType": "any-tags",
        "ids": [tag],
        "labels": ["core/C5", "custom/myLabel"],
    }


def _decision(fallback: str, placements: list[str], collection: str) -> dict:
    return {
        "name": "Test Offer Decision",
        "description": "Offer Decision description",
        "status": "live",
        "startDate": "2021-08-23T07:00:00.000+00:00",
        "endDate": "2021-08-25T07:00:00.000+00:00",
        "fallback": fallback,
        "criteria": [
            {
                "placements": placements,
                "rank": {
                    "priority": 0,
                    "order": {
                        "orderEvaluationType": "ranking-strategy",
                        "rankingStrategy": "123456789123",
                    },
                },
                "profileConstraint": {"profileConstraintType": "none"},
                "optionSelection": {"filter": collection},
            }
        ],
    }


def _decision_request(activity: str, placement: str) -> dict:
    return {
        "xdm:propositionRequests": [
            {"xdm:activityId": activity, "xdm:placementId": placement, "xdm:itemCount": 2}
        ],
        "xdm:profiles": [
            {
                "xdm:identityMap": {"Email": [{"xdm:id": "example@adobe.com", "primary": True}]},
                "xdm:decisionRequestId": "0AA00002-0000-1224-c0de-cjf98Csj43",
                "xdm:contextData": [
                    {
                        "@type": "_xdm.context.additionalParameters;version=1",
                        "xdm:data": {"xdm:weather": "hot"},
                    }
                ],
            }
        ],
        "xdm:allowDuplicatePropositions": {
            "xdm:acrossActivities": True,
            "xdm:acrossPlacements": True,
        },
        "xdm:mergePolicy": {"xdm:id": "5f3ed32f-eaf1-456c-b0f0-7b338c4cb18a"},
        "xdm:enrichedAudience": True,
        "xdm:responseFormat": {
            "xdm:includeContent": True,
            "xdm:includeMetadata": {
                "xdm:activity": ["name"],
                "xdm:option": ["name"],
                "xdm:placement": ["name"],
            },
        },
    }


def _fresh(factory):
    return lambda *args: copy.deepcopy(factory(*args))


#: The documented example request bodies (offer-library-api.md), placeholders as arguments.
examples = SimpleNamespace(
    placement=_fresh(_placement),
    fallback_offer=_fresh(_fallback_offer),
    personalized_offer=_fresh(_personalized_offer),
    tag=_fresh(_tag),
    offer_rule=_fresh(_offer_rule),
    exd_rule=_fresh(_exd_rule),
    ranking_formula=_fresh(_ranking_formula),
    collection=_fresh(_collection),
    decision=_fresh(_decision),
    decision_request=_fresh(_decision_request),
)
