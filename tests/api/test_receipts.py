"""What a write answers: a receipt in any form Adobe shows, or none at all (then: look it up)."""

from __future__ import annotations

import httpx
import pytest
from client_helpers import OFFLINE_CONFIG, adobe_mock

from airflow_provider_offers.api.client import OfferLibraryClient
from airflow_provider_offers.api.errors import OutcomeUnknownError, ReceiptMissingError
from airflow_provider_offers.api.resources import TAGS


def adobe_answering(write: httpx.Response, sent: list[str]) -> httpx.MockTransport:
    """Every write gets `write`; the methods sent are recorded in `sent`."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return write

    return adobe_mock(answer)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201),
        httpx.Response(200, json={"etag": 1}),
        httpx.Response(200, text="OK", headers={"content-type": "text/plain"}),
    ],
    ids=["empty", "no id", "text"],
)
@pytest.mark.parametrize("write", ["create", "patch"])
def test_a_write_answered_without_a_receipt_is_applied_but_unknown(answer, write, retry):
    sent: list[str] = []
    transport = adobe_answering(answer, sent)

    with (
        OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=transport) as client,
        pytest.raises(ReceiptMissingError, match="HTTP 20") as raised,
    ):
        if write == "create":
            client.create(TAGS, {"name": "Spring"})
        else:
            client.patch(TAGS, "dps:tag:1", [{"op": "remove", "path": "/description"}])

    assert isinstance(raised.value, OutcomeUnknownError)  # callers reconcile, as for a lost answer
    assert sent == ["POST" if write == "create" else "PATCH"]  # sent once, never again


@pytest.mark.parametrize("write", ["create", "patch"])
def test_a_write_answered_with_an_html_page_may_not_have_reached_the_api(write, retry):
    """A page (a proxy's) is not the API's answer: no proof the write was applied."""
    sent: list[str] = []
    page = httpx.Response(
        200, text="<html><title>Maintenance</title></html>", headers={"content-type": "text/html"}
    )

    with (
        OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=adobe_answering(page, sent)) as c,
        pytest.raises(OutcomeUnknownError, match=r"Maintenance.*not re-sent") as raised,
    ):
        if write == "create":
            c.create(TAGS, {"name": "Spring"})
        else:
            c.patch(TAGS, "dps:tag:1", [{"op": "remove", "path": "/description"}])

    assert not isinstance(raised.value, ReceiptMissingError)
    assert len(sent) == 1


def test_a_receipt_with_a_string_etag_is_read(retry):
    answer = httpx.Response(201, json={"id": "dps:tag:1", "etag": "7", "extra": {"a": 1}})

    with OfferLibraryClient(
        OFFLINE_CONFIG, retry=retry, transport=adobe_answering(answer, [])
    ) as client:
        receipt = client.create(TAGS, {"name": "Spring"})

    assert (receipt.id, receipt.etag) == ("dps:tag:1", "7")
    assert receipt.raw_json() == {"id": "dps:tag:1", "etag": "7", "extra": {"a": 1}}
