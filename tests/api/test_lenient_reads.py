"""Lenient on read: what Adobe's service may hold or answer never breaks a read."""

from __future__ import annotations

import logging
from datetime import timezone

import httpx
from client_helpers import OFFLINE_CONFIG, adobe_mock

from airflow_provider_offers.api.client import OfferLibraryClient
from airflow_provider_offers.api.resources import PERSONALIZED_OFFERS

# Adobe's own personalized-offer example: its end date is before its start date.
DOCUMENTED = {
    "id": "dps:personalized-offer:1",
    "etag": "2",
    "name": "Documented example",
    "status": "approved",
    "selectionConstraint": {
        "startDate": "2022-06-10T00:30:00.000+00:00",
        "endDate": "2021-06-10T00:30:00.000+00:00",
    },
    "modified": "2022-06-10T00:30:00",  # no offset: UTC
    "_experience": {"decisioning": {"ranking": {"priority": -1}}},
}
ODD = {"id": "dps:personalized-offer:2", "etag": 1, "name": "Odd", "characteristics": {"a": 1}}
PLAIN = {"id": "dps:personalized-offer:3", "etag": 4, "name": "Plain", "rank": {"priority": -5}}


def serving(results: list[dict]) -> httpx.MockTransport:
    """Every listing answers `results`, on one page."""
    return adobe_mock(
        lambda _: httpx.Response(200, json={"results": results, "count": len(results)})
    )


def test_one_odd_object_never_breaks_a_listing_and_is_named_in_a_warning(retry, caplog):
    transport = serving([DOCUMENTED, ODD, PLAIN])

    with (
        OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=transport) as client,
        caplog.at_level(logging.WARNING, "airflow_provider_offers.api"),
    ):
        listed = list(client.list(PERSONALIZED_OFFERS))
        found = client.find_by_name(PERSONALIZED_OFFERS, "Odd")

    assert [offer.name for offer in listed] == ["Documented example", "Odd", "Plain"]
    assert found is not None and found.id == ODD["id"]
    assert "'Odd' (dps:personalized-offer:2)" in caplog.text
    assert "Documented example" not in caplog.text  # read as it is, no complaint


def test_values_outside_our_write_rules_are_read_as_the_server_sent_them(retry):
    with OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=serving([DOCUMENTED])) as client:
        (offer,) = client.list(PERSONALIZED_OFFERS)

    assert offer.etag == "2"
    assert offer.modified is not None and offer.modified.tzinfo is not None
    assert offer.modified.utcoffset() == timezone.utc.utcoffset(None)
    assert offer.raw_json() == DOCUMENTED  # unknown members kept, nothing re-serialised


def test_a_json_listing_keeps_every_object_as_sent_even_one_our_models_cannot_read(retry):
    transport = serving([DOCUMENTED, ODD, PLAIN])

    with OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=transport) as client:
        listed = list(client.list_json(PERSONALIZED_OFFERS))

    assert listed == [DOCUMENTED, ODD, PLAIN]


def test_the_json_a_read_object_keeps_cannot_be_changed_through_what_it_gives_out(retry):
    with OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=serving([DOCUMENTED])) as client:
        (offer,) = client.list(PERSONALIZED_OFFERS)

    given = offer.raw_json()
    given["name"] = "changed"
    given["selectionConstraint"]["startDate"] = "changed"
    given["_experience"]["decisioning"]["ranking"]["priority"] = 99

    assert offer.raw_json() == DOCUMENTED
    assert offer.selectionConstraint is not None
    assert offer.selectionConstraint.raw_json() == DOCUMENTED["selectionConstraint"]
