"""The client's `transport=` carries every request, IMS token requests included: no socket."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs

import httpx
import pytest
from client_helpers import OFFLINE_CONFIG

from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.models import Tag
from airflow_provider_offers.api.resources import TAGS
from airflow_provider_offers.emulator.backend import OfferLibraryBackend
from airflow_provider_offers.emulator.urls import create_app


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    """Any real connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a real socket connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def test_sync_create_and_get_through_a_mock_transport(retry):
    seen: list[tuple[str, str]] = []

    def adobe(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, f"{request.url.host}{request.url.path}"))
        if request.url.path == "/ims/token/v3":
            assert parse_qs(request.content.decode())["client_secret"] == ["s3cret-value"]
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 86399})
        assert request.headers["authorization"] == "Bearer tok-1"
        if request.method == "POST":
            return httpx.Response(201, json={"id": "dps:tag:1", "etag": 1})
        return httpx.Response(200, json={"id": "dps:tag:1", "etag": 1, "name": "Spring"})

    transport = httpx.MockTransport(adobe)
    with OfferLibraryClient(OFFLINE_CONFIG, retry=retry, transport=transport) as client:
        receipt = client.create(TAGS, {"name": "Spring"})
        tag = client.get(TAGS, receipt.id)

    assert isinstance(tag, Tag) and tag.name == "Spring"
    assert seen == [
        ("POST", "ims.example/ims/token/v3"),
        ("POST", "platform.example/data/core/dps/tags"),
        ("GET", "platform.example/data/core/dps/tags/dps:tag:1"),
    ]


async def test_async_client_over_the_emulator_app_in_process(retry):
    backend = OfferLibraryBackend()
    emulator = backend.config
    config = ClientConfig(
        client_id=emulator.client_id,
        client_secrets=(emulator.client_secret,),
        org_id=emulator.org_id,
        base_url="http://emulator",
        ims_url="http://emulator",
        allow_insecure_http=True,  # an in-process ASGI app named "emulator": no network at all
    )
    transport = httpx.ASGITransport(app=create_app(backend))

    async with AsyncOfferLibraryClient(config, retry=retry, transport=transport) as client:
        receipt = await client.create(TAGS, {"name": "Spring"})
        backend.ims.revoke()  # the renewal after the 401 goes through the transport too
        tag = await client.get(TAGS, receipt.id)

    assert tag.name == "Spring"
    assert [(r.method, r.path) for r in backend.requests] == [
        ("POST", "/ims/token/v3"),
        ("POST", "/data/core/dps/tags"),
        ("GET", f"/data/core/dps/tags/{receipt.id}"),
        ("POST", "/ims/token/v3"),
        ("GET", f"/data/core/dps/tags/{receipt.id}"),
    ]
    assert backend.ims.tokens_issued == 2


def test_a_lost_token_request_before_a_create_is_retried_not_outcome_unknown(retry, sleeps):
    sent: list[str] = []

    def adobe(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path == "/ims/token/v3":
            if sent.count("/ims/token/v3") == 1:
                raise httpx.ReadTimeout("IMS did not answer", request=request)
            return httpx.Response(200, json={"access_token": "tok-2", "expires_in": 86399})
        return httpx.Response(201, json={"id": "dps:tag:1", "etag": 1})

    config = ClientConfig(client_id="c", client_secrets=("s3cret",), org_id="ORG@AdobeOrg")
    with OfferLibraryClient(config, retry=retry, transport=httpx.MockTransport(adobe)) as client:
        assert client.create(TAGS, {"name": "Spring"}).id == "dps:tag:1"

    # A token request is safe to repeat, and the create itself was never sent before it.
    assert sent == ["/ims/token/v3", "/ims/token/v3", "/data/core/dps/tags"]
    assert len(sleeps.delays) == 1
