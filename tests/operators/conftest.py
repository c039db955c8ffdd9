"""Fixtures for the offer operators' DAG tests: the emulator seen from outside, over plain HTTP.

The arranging and the "someone else" writes go through httpx, not our client, so a mistake in
the client cannot hide itself in the test set-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

WEB = "https://ns.adobe.com/xdm/channel-types/web"


class Outsider:
    """Another client of the same Offer Library (a colleague in the UI, another pipeline)."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.http = emulator.dps_client()

    def call(self, method: str, path: str, sandbox: str = "prod", **kwargs: Any) -> httpx.Response:
        headers = {"x-sandbox-name": sandbox}
        return self.http.request(method, path, headers=headers, **kwargs)

    def placement(self, name: str, sandbox: str = "prod") -> str:
        body = {"name": name, "componentType": "imagelink", "channel": WEB}
        return self.call("POST", "/placements", sandbox, json=body).raise_for_status().json()["id"]

    def create_offer(self, offer: dict, sandbox: str = "prod") -> dict:
        params = {"offer-type": "fallback"}
        response = self.call("POST", "/offers", sandbox, json=offer, params=params)
        return response.raise_for_status().json()

    def get_offer(self, offer_id: str, sandbox: str = "prod") -> dict:
        response = self.call(
            "GET", f"/offers/{offer_id}", sandbox, params={"offer-type": "fallback"}
        )
        return response.raise_for_status().json()

    def patch_offer(self, offer_id: str, operations: list, sandbox: str = "prod") -> dict:
        response = self.call(
            "PATCH",
            f"/offers/{offer_id}",
            sandbox,
            json=operations,
            params={"offer-type": "fallback"},
        )
        return response.raise_for_status().json()

    def offers(self, sandbox: str = "prod", offer_type: str = "fallback") -> list[dict]:
        params = {"offer-type": offer_type, "limit": "100"}
        response = self.call("GET", "/offers", sandbox, params=params).raise_for_status()
        return response.json()["results"]


@pytest.fixture
def outsider(offer_library_emulator) -> Iterator[Outsider]:
    user = Outsider(offer_library_emulator)
    yield user
    user.http.close()


@pytest.fixture
def when_received(offer_library_emulator) -> Iterator[Callable[..., None]]:
    """`when_received(method, path_prefix, action, nth=1)`: run `action()` in a background
    thread as soon as the emulator has logged the nth such request (e.g. while an injected
    delay holds it). Waiting on what the server saw, not on a clock, holds on a slow machine."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def _watch(method: str, path_prefix: str, action: Callable[[], Any], nth: int = 1) -> None:
        seen = len(offer_library_emulator.requests)

        def run() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                matching = [
                    r
                    for r in offer_library_emulator.requests[seen:]
                    if r.method == method and r.path.startswith(path_prefix)
                ]
                if len(matching) >= nth:
                    try:
                        action()
                    except BaseException as exc:  # reported by the fixture below
                        errors.append(exc)
                    return
                time.sleep(0.005)
            errors.append(TimeoutError(f"no {method} {path_prefix} request arrived"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)

    yield _watch
    for thread in threads:
        thread.join(timeout=130)
    if errors:
        raise errors[0]


@pytest.fixture
def task_output(capfd, caplog) -> Callable[[], str]:
    """Everything the tasks printed or logged. Both are needed: once a module imported Airflow
    at collection time, Airflow's log output keeps going to the stream it first saw, which
    `capfd` does not see, while the log records still reach `caplog`."""
    return lambda: "".join(capfd.readouterr()) + caplog.text
