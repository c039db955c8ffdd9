"""Fixtures for the emulator's tests (helpers live in emulator_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from emulator_helpers import LOOPBACK_TLS, OPEN, Api, examples, fetch_token


@pytest.fixture
def emulator(offer_library_emulator):
    return offer_library_emulator


@pytest.fixture
def http(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10, verify=LOOPBACK_TLS) as client:
        yield client


@pytest.fixture
def headers(emulator, http) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {fetch_token(http, emulator)}",
        "x-api-key": emulator.client_id,
        "x-gw-ims-org-id": emulator.org_id,
        "x-sandbox-name": "prod",
    }


@pytest.fixture
def api(http, headers) -> Api:
    return Api(http, headers)


@pytest.fixture
def adobe_examples() -> SimpleNamespace:
    return examples


@pytest.fixture
def world(api, adobe_examples):
    """A live decision over one placement, a tag collection, and a fallback offer."""
    placement = api.placement(componentType="html")
    tag = api.create("tags", adobe_examples.tag())["id"]
    fallback_body = adobe_examples.fallback_offer(placement)
    fallback = api.create("offers", fallback_body, **{"offer-type": "fallback"})["id"]
    collection = api.create("offer-collections", adobe_examples.collection(tag))["id"]
    decision_body = adobe_examples.decision(fallback, [placement], collection)
    decision = api.create("offer-decisions", decision_body)["id"]

    def offer(name: str, priority: int, placements=(placement,), **changes) -> str:
        body = adobe_examples.personalized_offer(placements[0])
        rep = body["representations"][0]
        body["representations"] = [{**rep, "placement": p} for p in placements]
        body.update(
            status="approved",
            tags=[tag],
            selectionConstraint={**OPEN, "profileConstraintType": "none"},
            rank={"priority": priority},
            name=name,
        )
        body.update(changes)
        return api.create("offers", body, **{"offer-type": "personalized"})["id"]

    return {
        "placement": placement,
        "tag": tag,
        "fallback": fallback,
        "collection": collection,
        "decision": decision,
        "offer": offer,
    }
