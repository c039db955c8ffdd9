"""Chaos: hundreds of mixed operations through the operators and the sensor while the emulator
faults about one request in five, at random but reproducibly (the seed is printed; set
`OFFERS_CHAOS_SEED` to replay a run).

Each operation is a task: its `execute` runs with a task state store kept across its tries,
and a failed try is tried again, as Airflow would. At the end the emulator holds exactly the
desired offers: no name twice, no update lost, every task succeeded (at once, or after a typed,
explained error that a retry fixed). The figures are printed.

Speed: the client's timeout is 0.3 s (the slow faults hold 0.6 s), a lost create is looked up
again at once (the emulator's listings are never stale), and the retry policy's waits (its
backoff, the 1 s `Retry-After` of the rate-limit fault) are asked for but cut to 10 ms.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from reliability_helpers import TaskStateStore, stored_offers, task_context

from airflow_provider_offers.api import config as client_config
from airflow_provider_offers.api import reconcile
from airflow_provider_offers.api.catalog import ApplyError
from airflow_provider_offers.api.errors import InvalidInputError, OfferLibraryError
from airflow_provider_offers.api.retry import RetryPolicy
from airflow_provider_offers.hooks.offers import OfferLibraryHook
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
    SyncFallbackOffersOperator,
)
from airflow_provider_offers.sensors.offers import OfferChangeSensor

OPERATIONS = 300
MAX_TRIES = 8
#: About one request in five gets a fault; the slow ones (0.3 s each) a little less often.
FAULT_RATES = {
    "rate_limited": 0.02,
    "unavailable": 0.02,
    "bad_gateway_html": 0.02,
    "html_200": 0.02,
    "empty_body": 0.02,
    "dropped_before_commit": 0.02,
    "dropped_after_commit": 0.02,
    "slow_before_commit": 0.008,
    "slow_after_commit": 0.008,
    "tokens_revoked": 0.014,
    "ims_unavailable": 0.01,
    "ims_invalid_client": 0.01,
}
WEB = "https://ns.adobe.com/xdm/channel-types/web"
CATALOG = "chaos"


class Chaos:
    """The desired state, the operations that build it, and what happened on the way."""

    def __init__(self, emulator, placement: str, seed: int) -> None:
        self.emulator = emulator
        self.placement = placement
        self.random = random.Random(seed)
        self.desired: dict[str, dict[str, Any]] = {}  # name -> members we own
        self.known: dict[str, dict[str, Any]] = {}  # name -> {"id", "etag"} from XCom
        self.catalog: dict[str, str] = {}  # the synced catalog: name -> description
        self.operations: Counter[str] = Counter()
        self.task_retries = 0
        self.client_retries = 0
        self.errors: Counter[str] = Counter()
        self.serial = 0
        self.names = 0

    # -- running a task as Airflow would: tries, one state store ------------------------
    def policy(self) -> RetryPolicy:
        def sleep(seconds: float) -> None:
            self.client_retries += 1
            time.sleep(min(seconds, 0.01))

        return RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_retry_after=5, sleep=sleep)

    def run(self, kind: str, make_task) -> Any:
        self.operations[kind] += 1
        store = TaskStateStore()
        for try_number in range(1, MAX_TRIES + 1):
            task = make_task()
            task.__dict__["hook"] = OfferLibraryHook(retry_policy=self.policy())
            try:
                return task.execute(task_context(store, try_number))
            except InvalidInputError:
                raise  # a bad input is the test's own bug: never retried
            except (OfferLibraryError, ApplyError) as error:  # typed, explained: retried
                assert str(error).strip(), "an error without an explanation"
                self.errors[type(error).__name__] += 1
                self.task_retries += 1
        raise AssertionError(f"{kind} still failing after {MAX_TRIES} tries")

    # -- the operations ---------------------------------------------------------------
    def body(self, name: str, description: str) -> dict[str, Any]:
        component = {"type": "imagelink", "format": "image/png", "deliveryURL": "https://x/a.png"}
        representation = {"channel": WEB, "placement": self.placement, "components": [component]}
        return {
            "name": name,
            "status": "approved",
            "description": description,
            "representations": [representation],
        }

    def text(self) -> str:
        self.serial += 1
        return f"version {self.serial}"

    def create_or_update(self) -> None:
        fresh = not self.desired or self.random.random() < 0.5
        if fresh:
            self.names += 1
            name = f"offer-{self.names:03d}"
        else:
            name = self.random.choice(sorted(self.desired))
        description = self.text()
        body = self.body(name, description)
        kind = "create" if fresh else "guarded update"
        result = self.run(kind, lambda: CreateFallbackOfferOperator(task_id="c", offer=body))
        self.desired[name] = {"description": description}
        self.known[name] = {"id": result["id"], "etag": result["etag"]}

    def patch(self) -> None:
        name = self.random.choice(sorted(self.desired))
        before, description = self.known[name], self.text()
        operations = [{"op": "replace", "path": "/description", "value": description}]
        result = self.run(
            "patch with expected_etag",
            lambda: PatchFallbackOfferOperator(
                task_id="p",
                offer_id=before["id"],
                operations=operations,
                expected_etag=before["etag"],
            ),
        )
        self.desired[name] = {"description": description}
        self.known[name] = {"id": result["id"], "etag": result["etag"]}
        self.wait_for_change(before)

    def wait_for_change(self, before: dict[str, Any]) -> None:
        self.run(
            "sensor wait",
            lambda: OfferChangeSensor(
                task_id="w",
                offer_id=before["id"],
                since_etag=before["etag"],
                mode="poke",
                poke_interval=0.01,
                timeout=30,
            ),
        )

    def delete(self) -> None:
        name = self.random.choice(sorted(self.desired))
        offer_id = self.known.pop(name)["id"]
        self.run("delete", lambda: DeleteFallbackOfferOperator(task_id="d", offer_id=offer_id))
        del self.desired[name]

    def sync(self) -> None:
        for _ in range(3):
            self.names += 1
            self.catalog[f"synced-{self.names:03d}"] = self.text()
        for name in self.random.sample(sorted(self.catalog), 2):
            self.catalog[name] = self.text()
        self.catalog.pop(self.random.choice(sorted(self.catalog)))
        offers = [self.body(name, text) for name, text in sorted(self.catalog.items())]
        self.run(
            "catalog sync",
            lambda: SyncFallbackOffersOperator(
                task_id="s", catalog=CATALOG, offers=offers, prune=True, max_concurrency=1
            ),
        )

    def step(self) -> None:
        if len(self.desired) < 5:
            self.create_or_update()
            return
        action = self.random.choices(
            [self.create_or_update, self.patch, self.delete, self.sync], weights=[5, 4, 1, 1]
        )[0]
        action()


@pytest.fixture
def fast_client(monkeypatch) -> None:
    monkeypatch.setattr(client_config, "DEFAULT_TIMEOUT", httpx.Timeout(0.3))
    for ensure in (reconcile.ensure_by_name, reconcile.aensure_by_name):  # operators, catalog
        monkeypatch.setitem(ensure.__kwdefaults__, "settle_seconds", 0.0)


def test_chaos_ends_in_exactly_the_desired_state(
    offer_library_emulator, adobe_connection, dps, fast_client
):
    emulator = offer_library_emulator
    seed = int(os.environ.get("OFFERS_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\nchaos seed {seed} (replay: OFFERS_CHAOS_SEED={seed})")
    chaos = Chaos(emulator, dps.create_placement(), seed)
    emulator.configure(fault_rates=FAULT_RATES, fault_seed=seed, slow_seconds=0.6)
    started = time.monotonic()

    for _ in range(OPERATIONS):
        chaos.step()

    elapsed = time.monotonic() - started
    faults = emulator.fault_counts
    requests = [r for r in emulator.requests if not r.path.startswith("/ims/")]
    emulator.configure(fault_rates={})
    stored = stored_offers(emulator)
    names = Counter(offer["name"] for offer in stored)
    duplicates = sum(count - 1 for count in names.values())
    wanted = {name: fields["description"] for name, fields in chaos.desired.items()}
    wanted.update(chaos.catalog)
    by_name = {offer["name"]: offer for offer in stored}
    lost = [n for n, text in wanted.items() if n in by_name and by_name[n]["description"] != text]
    diff = sorted(set(wanted) ^ set(by_name)) + lost
    print(
        f"chaos figures (seed {seed}): {sum(chaos.operations.values())} operations in "
        f"{elapsed:.1f} s: {dict(sorted(chaos.operations.items()))}\n"
        f"  requests {len(requests)}, faulted {sum(faults.values())} "
        f"({sum(faults.values()) / max(1, len(requests)):.0%}): {dict(sorted(faults.items()))}\n"
        f"  retries: {chaos.client_retries} in the client, {chaos.task_retries} task retries "
        f"after {dict(sorted(chaos.errors.items()))}\n"
        f"  offers {len(stored)}, duplicates {duplicates}, lost updates {len(lost)}, "
        f"final diff {diff or 'empty'}"
    )
    assert duplicates == 0
    assert lost == []
    assert diff == []
    assert sum(faults.values()) >= 0.15 * len(requests)
    assert set(faults) == set(FAULT_RATES)  # every kind of fault happened
