"""Arrange Offer Library objects over plain HTTP (not through our client), for decision tests.

Going around the client keeps a mistake in it from hiding in the set-up of its own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

WEB = "https://ns.adobe.com/xdm/channel-types/web"
OPEN = {"startDate": "2020-01-01T00:00:00.000Z", "endDate": "2099-01-01T00:00:00.000Z"}


class Dps:
    """Create objects in the emulator's `prod` sandbox the way any HTTP client would."""

    def __init__(self, emulator) -> None:
        self.http = emulator.dps_client()

    def create(self, path: str, body: dict[str, Any], **params: str) -> str:
        return self.http.post(path, json=body, params=params).raise_for_status().json()["id"]

    def get(self, path: str, **params: str) -> dict[str, Any]:
        return self.http.get(path, params=params).raise_for_status().json()

    def offer(self, offer_type: str, name: str, placement: str, **fields: Any) -> str:
        body = {
            "name": name,
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": placement,
                    "components": [
                        {
                            "type": "imagelink",
                            "format": "image/png",
                            "deliveryURL": f"https://cdn.example.com/{name}.png",
                        }
                    ],
                }
            ],
            **fields,
        }
        return self.create("/offers", body, **{"offer-type": offer_type})


@pytest.fixture
def dps(offer_library_emulator) -> Iterator[Dps]:
    client = Dps(offer_library_emulator)
    yield client
    client.http.close()


@pytest.fixture
def decision_world(dps: Dps) -> dict[str, str]:
    """A placement, a tag, its collection and a fallback offer: what a decision refers to."""
    placement = dps.create(
        "/placements", {"name": "Banner", "componentType": "imagelink", "channel": WEB}
    )
    tag = dps.create("/tags", {"name": "Spring"})
    collection = dps.create(
        "/offer-collections", {"name": "Spring offers", "filterType": "any-tags", "ids": [tag]}
    )
    fallback = dps.offer("fallback", "fallback-banner", placement)
    return {"placement": placement, "tag": tag, "collection": collection, "fallback": fallback}
