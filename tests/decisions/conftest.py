"""What a decision refers to, arranged by someone else over plain HTTP (see `Dps` in
tests/conftest.py): going around our client keeps a mistake in it from hiding in the set-up."""

from __future__ import annotations

import pytest


@pytest.fixture
def decision_world(dps) -> dict[str, str]:
    """A placement, a tag, its collection and a fallback offer: what a decision refers to."""
    placement = dps.create_placement("Banner")
    tag = dps.create("/tags", {"name": "Spring"})["id"]
    collection = dps.create(
        "/offer-collections", {"name": "Spring offers", "filterType": "any-tags", "ids": [tag]}
    )["id"]
    fallback = dps.create_offer(dps.offer_body("fallback-banner", placement))["id"]
    return {"placement": placement, "tag": tag, "collection": collection, "fallback": fallback}
