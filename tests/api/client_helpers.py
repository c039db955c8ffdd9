"""Helpers for the client tests (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx

from airflow_provider_offers.api.config import ClientConfig

WEB = "https://ns.adobe.com/xdm/channel-types/web"

#: Where a client goes when `adobe_mock` stands in for Adobe: no emulator, no socket.
OFFLINE_CONFIG = ClientConfig(
    client_id="client",
    client_secrets=("s3cret-value",),
    org_id="ORG@AdobeOrg",
    base_url="platform.example",
    ims_url="ims.example",
)


def adobe_mock(answer: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    """IMS hands out a token; every other request is answered by `answer`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ims/token/v3":
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 86399})
        return answer(request)

    return httpx.MockTransport(handle)


class RecordingSleep:
    """Remembers how long the retry policy asked to wait (sync and async), without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Return as soon as `condition()` holds (checked every 10 ms); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        threading.Event().wait(0.01)


async def await_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """`wait_until` without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        await asyncio.sleep(0.01)


def make_config(emulator, **changes) -> ClientConfig:
    settings = {
        "client_id": emulator.client_id,
        "client_secrets": (emulator.client_secret,),
        "org_id": emulator.org_id,
        "sandbox_name": "prod",
        "base_url": emulator.url,
        "ims_url": emulator.url,
        "timeout": 5.0,
        **changes,
    }
    return ClientConfig(**settings)


def placement_body(name: str = "Web banner") -> dict:
    return {"name": name, "componentType": "html", "channel": WEB}


def offer_body(placement_id: str, name: str = "Default offer", status: str = "approved") -> dict:
    return {
        "name": name,
        "status": status,
        "representations": [
            {
                "channel": WEB,
                "placement": placement_id,
                "components": [
                    {
                        "type": "imagelink",
                        "format": "image/png",
                        "deliveryURL": "https://cdn.example.com/default.png",
                    }
                ],
            }
        ],
    }


def api_requests(emulator, prefix: str = "/data/core/") -> list:
    """What the emulator received on the API (not IMS, not its control endpoints)."""
    return [r for r in emulator.requests if r.path.startswith(prefix)]


def ims_requests(emulator) -> list:
    return [r for r in emulator.requests if r.path == "/ims/token/v3"]
