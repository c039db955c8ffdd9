"""Someone else changing an offer while a sensor waits: plain HTTP to the emulator.

Deliberately not our client: the "other side" (a colleague in the Journey Optimizer UI, another
pipeline) is independent of the code under test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

DPS = "/data/core/dps"


class OfferLibraryUser:
    """Creates and patches offers over HTTP, as a person or another system would."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.http = emulator.dps_client()

    def create_offer(self, name: str = "Sensor test fallback offer") -> dict:
        placement = (
            self.http.post(
                "/placements",
                json={
                    "name": f"{name} placement",
                    "componentType": "html",
                    "channel": "https://ns.adobe.com/xdm/channel-types/web",
                },
            )
            .raise_for_status()
            .json()
        )
        return (
            self.http.post(
                "/offers",
                params={"offer-type": "fallback"},
                json={
                    "name": name,
                    "status": "approved",
                    "representations": [
                        {
                            "channel": "https://ns.adobe.com/xdm/channel-types/web",
                            "placement": placement["id"],
                            "components": [
                                {"type": "html", "format": "text/html", "content": "<p>v1</p>"}
                            ],
                        }
                    ],
                },
            )
            .raise_for_status()
            .json()
        )

    def patch_offer(self, offer_id: str, description: str = "changed by someone else") -> dict:
        return (
            self.http.patch(
                f"/offers/{offer_id}",
                params={"offer-type": "fallback"},
                json=[{"op": "add", "path": "/description", "value": description}],
            )
            .raise_for_status()
            .json()
        )

    def delete_offer(self, offer_id: str) -> None:
        self.http.delete(
            f"/offers/{offer_id}", params={"offer-type": "fallback"}
        ).raise_for_status()

    def requests_for(self, offer_id: str) -> list[str]:
        """The methods of the answered requests for this offer, in order.

        A 401 is left out: the client's token cache is per process while the emulator forgets
        its tokens between tests, so a test's first call may be refused and replayed once.
        """
        path = f"{DPS}/offers/{offer_id}"
        return [
            r.method
            for r in list(self.emulator.requests)
            if r.path == path and r.status is not None and r.status != 401
        ]

    def reads_of(self, offer_id: str) -> int:
        return self.requests_for(offer_id).count("GET")

    def requests_after_change(self, offer_id: str) -> list[str]:
        """What was asked after the (one) patch or delete: ["GET"] if the waiter stopped as soon
        as it saw the change."""
        requests = self.requests_for(offer_id)
        changed = max(i for i, method in enumerate(requests) if method in ("PATCH", "DELETE"))
        return requests[changed + 1 :]

    def fail_reads(self, offer_id: str, status: int, times: int, **fault) -> None:
        """The next `times` reads of the offer get `status` (emulator fault injection)."""
        self.emulator.inject_fault(
            "GET", f"{DPS}/offers/{offer_id}", status=status, times=times, **fault
        )


@pytest.fixture
def task_logs(capfd, caplog) -> Callable[[], str]:
    """Log output so far, wherever Airflow's logging setup sent it (stdout or logging)."""
    return lambda: capfd.readouterr().out + caplog.text


@pytest.fixture
def offer_user(offer_library_emulator) -> Iterator[OfferLibraryUser]:
    user = OfferLibraryUser(offer_library_emulator)
    yield user
    user.http.close()


@pytest.fixture
def patch_after_reads(offer_user) -> Iterator[Callable[..., threading.Thread]]:
    """Patch (or, with delete=True, delete) an offer from another thread once the sensor has
    read it `reads` times.

    Waiting on reads seen by the emulator, not on a clock, makes "the change happens while the
    sensor waits" hold on a slow machine too.
    """
    threads: list[threading.Thread] = []
    stop = threading.Event()

    def start(offer_id: str, reads: int, delete: bool = False) -> threading.Thread:
        def patch_when_read() -> None:
            while not stop.is_set():
                if offer_user.reads_of(offer_id) >= reads:
                    (offer_user.delete_offer if delete else offer_user.patch_offer)(offer_id)
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=patch_when_read, daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
