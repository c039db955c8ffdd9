"""Ids that would leave the object's URL path are refused before any request (issue 22.5).

`.` and `..` are dot segments: the HTTP layer removes them, so `DELETE /offers/..` would reach
`DELETE /data/core/dps`. Checked over loopback HTTP: the emulator records every request.
"""

from __future__ import annotations

import pytest
from client_helpers import make_config

from airflow_provider_offers.api.client import AsyncOfferLibraryClient
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.resources import FALLBACK_OFFERS, PLACEMENTS

ESCAPING_IDS = [".", "..", " .. ", "../placements", "a/b", "x\r\nHost: evil", "None", "null", ""]
PATCH = [{"op": "replace", "path": "/name", "value": "B"}]


@pytest.mark.parametrize("bad_id", ESCAPING_IDS)
def test_no_request_is_sent_for_an_id_outside_the_path(emulator, client, bad_id):
    client.list_page(PLACEMENTS)  # a token, so that only the calls below could add requests
    before = len(emulator.requests)

    for call in (
        lambda: client.get(FALLBACK_OFFERS, bad_id),
        lambda: client.patch(FALLBACK_OFFERS, bad_id, PATCH),
        lambda: client.delete(FALLBACK_OFFERS, bad_id),
        lambda: client.request_decision(bad_id, "dps:placement:1", profile_id="p"),
    ):
        with pytest.raises(InvalidInputError, match=r"is not an id"):
            call()

    assert emulator.requests[before:] == []


@pytest.mark.parametrize("bad_id", [".", " .. "])
async def test_the_async_client_sends_nothing_either(emulator, retry, bad_id):
    async with AsyncOfferLibraryClient(make_config(emulator), retry=retry) as client:
        with pytest.raises(InvalidInputError, match=r"^id: .* would leave the object's URL path"):
            await client.delete(FALLBACK_OFFERS, bad_id)
        with pytest.raises(InvalidInputError, match=r"^id: .* would leave the object's URL path"):
            await client.get(PLACEMENTS, bad_id)

    assert emulator.requests == []
