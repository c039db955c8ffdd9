"""The apply: every write of a plan through the async client, `max_concurrency` at a time.

Each write goes through `api.reconcile`'s async rules (a lost create is reconciled by name, a
rejected guarded patch is recomputed), as a task on the event loop; a 429 (or any retry wait)
holds every write (`BackoffGate`). A 429 asking for longer
than the client waits in-process stops new writes and is raised once the running ones end,
so that the task defers and, resumed, re-plans what is left.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers.api import diff, reconcile
from airflow_provider_offers.api.calls import is_experience_decisioning
from airflow_provider_offers.api.catalog.plan import (
    COUNTS,
    WRITES,
    JsonDict,
    Plan,
    listed,
    marker_of,
)
from airflow_provider_offers.api.errors import (
    NotFoundError,
    OfferLibraryError,
    OutcomeUnknownError,
    RateLimitedError,
)
from airflow_provider_offers.api.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient
    from airflow_provider_offers.api.resources import Resource

log = logging.getLogger(__name__)

_LISTED = 10  # failures named in the exception; the log names every one


class ApplyError(OfferLibraryError):
    """Some writes failed; the others were applied. `failures` maps the object's name (in a
    whole-setup plan, "kind/name") to the error."""

    def __init__(
        self,
        failures: Mapping[str, BaseException],
        counts: Mapping[str, int],
        noun: str = "offer",
    ):
        named = sorted(failures.items())
        listed = "; ".join(f"{name!r}: {error}" for name, error in named[:_LISTED])
        if len(named) > _LISTED:
            listed += f"; and {len(named) - _LISTED} more (see the log)"
        super().__init__(
            f"{len(failures)} {noun}(s) could not be written ({listed}); done: {dict(counts)}"
        )
        self.failures = dict(failures)
        self.counts = dict(counts)


class BackoffGate:
    """One wait for every write: when one is told to wait (a 429's `Retry-After`, or a retry
    backoff), nobody sends until that time has passed."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        idle: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.idle = idle
        self._until = 0.0

    async def sleep(self, seconds: float) -> None:
        """The retry policy's sleep: hold the gate shut for `seconds` from now, then wait."""
        self._until = max(self._until, self.clock() + seconds)
        await self.wait()

    async def wait(self) -> None:
        while (left := self._until - self.clock()) > 0:
            await self.idle(left)

    def policy(self, base: RetryPolicy | None = None) -> RetryPolicy:
        """A copy of `base` (the client's retry numbers) whose async sleep is this gate's."""
        return (base or RetryPolicy()).with_sleep(async_sleep=self.sleep)


class _Remembered:
    """A `reconcile.Journal` that knows a create for this name was sent (lost answer)."""

    def __init__(self, value: JsonDict) -> None:
        self.value = value

    def get(self) -> JsonDict:
        return self.value

    def set(self, value: JsonDict) -> None:
        self.value = value


class GatedStore:
    """`reconcile.AsyncEntityStore` over the async client: each call waits for the backoff
    gate to open, and returns the server's JSON."""

    def __init__(self, client: AsyncOfferLibraryClient, resource: Resource, gate: BackoffGate):
        self.client = client
        self.resource = resource
        self.gate = gate

    async def find_by_name(self, name: str) -> JsonDict | None:
        await self.gate.wait()
        found = await self.client.find_by_name(self.resource, name)
        return None if found is None else found.raw_json()

    async def get(self, entity_id: str) -> JsonDict:
        await self.gate.wait()
        return (await self.client.get(self.resource, entity_id)).raw_json()

    async def create(self, entity: JsonDict) -> JsonDict:
        await self.gate.wait()
        return (await self.client.create(self.resource, entity)).raw_json()

    async def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict:
        await self.gate.wait()
        return (await self.client.patch(self.resource, entity_id, operations)).raw_json()

    async def replace(self, entity_id: str, entity: JsonDict) -> JsonDict:
        await self.gate.wait()
        return (await self.client.replace(self.resource, entity_id, entity)).raw_json()

    async def delete(self, entity_id: str) -> None:
        await self.gate.wait()
        await self.client.delete(self.resource, entity_id)


async def write(
    store: GatedStore, plan: Plan, entry: Mapping[str, Any], created: dict[str, str] | None = None
) -> str:
    """One planned write, safe to repeat; returns the action it ended as (`COUNTS` keys).

    The plan knows the name is free, so a create is sent without a look-up; only a lost answer
    makes it look the name up (`aensure_by_name`, told a create was sent). The id a create made
    is put in `created` (name -> id): the clean-up after creates may delete only those.
    """
    name, action = entry["name"], entry["action"]
    if action == "delete":
        try:
            await store.delete(entry["id"])
        except NotFoundError:
            log.info("Offer %r (%s) was already gone", name, entry["id"])
        return "delete"
    existing, desired = plan.work[name]
    if existing is None:
        try:
            made = (await store.create(desired))["id"]
        except OutcomeUnknownError:
            log.warning("Outcome of creating offer %r unknown; looking it up by name", name)
            journal = _Remembered({"name": name})
            made = (await reconcile.aensure_by_name(store, desired, journal=journal)).id
        if created is not None:
            created[name] = made
        return "create"
    if store.resource.replaced_on_update:  # `PUT` of the whole object; what it omits is kept
        if not diff.update_patch(existing, desired):
            return "unchanged"
        await store.replace(entry["id"], {**store.resource.sendable(existing), **desired})
        return "update"
    _, wrote = await reconcile.aconverge(store, existing, desired)
    return "update" if wrote else "unchanged"


class Progress:
    """Logs done/total and the rate, at most every `every` seconds (and once at the end)."""

    def __init__(
        self, total: int, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.every = every
        self.clock = clock
        self.started = self.last = clock()
        self.done = 0

    def step(self) -> None:
        self.done += 1
        now = self.clock()
        if self.done == self.total or now - self.last >= self.every:
            rate = self.done / max(now - self.started, 1e-9)
            log.info("Applied %d/%d writes (%.1f/s)", self.done, self.total, rate)
            self.last = now


async def apply_plan(
    client: AsyncOfferLibraryClient,
    plan: Plan,
    *,
    resource: Resource,
    gate: BackoffGate,
    max_concurrency: int = 8,
    progress_every: float = 5.0,
    written: list[tuple[str, str]] | None = None,
    actions: Sequence[str] = WRITES,
    created: dict[str, str] | None = None,
) -> dict[str, int]:
    """The plan's writes (those of `actions`), `max_concurrency` at a time; the counts of what
    was done.

    A failed write does not stop the others; `ApplyError` names each failure at the end.
    `written` (if given) gets `(object id, action)` for each write made, as it is made;
    `created` gets name -> id of each object created.
    """
    store = GatedStore(client, resource, gate)
    counts = plan.counts()
    for action in WRITES:
        counts[COUNTS[action]] = 0
    entries = [entry for entry in plan.entries if entry["action"] in actions]
    progress = Progress(len(entries), progress_every)
    failures: dict[str, BaseException] = {}
    created = {} if created is None else created
    made_now: dict[str, str] = {}
    deferred: list[RateLimitedError] = []
    limit = asyncio.Semaphore(max_concurrency)

    async def one(entry: JsonDict) -> None:
        async with limit:
            if deferred:  # told to wait longer than we wait here: start nothing more
                return
            try:
                done = await write(store, plan, entry, made_now)
            except RateLimitedError as error:
                if not error.beyond_wait_cap:
                    failures[entry["name"]] = error
                else:
                    deferred.append(error)
                return
            except Exception as error:
                failures[entry["name"]] = error
                return
        counts[COUNTS[done]] += 1
        if written is not None and done in WRITES:
            made = made_now[entry["name"]] if done == "create" else entry["id"]
            written.append((made, done))
        progress.step()

    await asyncio.gather(*(one(entry) for entry in entries))
    created.update(made_now)
    if made_now:  # also after failures: a duplicate must not outlive this run
        listing = [o for o in await listed(client, resource) if not is_experience_decisioning(o)]
        await keep_one_of_each(store, plan, made_now, listing)
    if failures:
        for name, error in sorted(failures.items()):
            log.error("%s %r could not be written: %s", resource.noun, name, error)
    if deferred:
        log.warning(
            "Rate limited beyond the in-process wait after %d of %d writes; the rest is "
            "applied when the task resumes (it plans again)",
            sum(counts[COUNTS[action]] for action in WRITES),
            len(entries),
        )
        raise deferred[0]
    if failures:
        raise ApplyError(failures, counts)
    return counts


async def keep_one_of_each(
    store: GatedStore, plan: Plan, created: Mapping[str, str], listing: Sequence[JsonDict]
) -> None:
    """After the creates: a name that now has several offers (another run of the catalog, a
    person, a listing that missed one; never counting Experience Decisioning's objects, which
    `listing` leaves out) is kept once (`reconcile.akeep_oldest`). Only the copy
    this run created (`created`: name -> id from the receipt) is ever deleted, and the one
    kept is brought to the catalog only if it is this catalog's: an offer made elsewhere is
    neither deleted nor marked."""
    by_name: dict[str, list[JsonDict]] = {}
    for offer in listing:
        by_name.setdefault(str(offer.get("name")), []).append(offer)
    for name, own_id in sorted(created.items()):
        namesakes = by_name.get(name, [])
        if len(namesakes) > 1:
            desired = plan.work[name][1]
            await reconcile.akeep_oldest(
                store,
                namesakes,
                desired,
                deletable=_is(own_id),
                adopt=_marked(marker_of(desired)),
            )


def _is(offer_id: str) -> Callable[[JsonDict], bool]:
    """Whether an offer is the one this run created under that id."""
    return lambda offer: offer.get("id") == offer_id


def _marked(catalog: str | None) -> Callable[[JsonDict], bool]:
    """Whether an offer carries `catalog`'s marker (the catalog may bring it to its values)."""

    def marked(offer: JsonDict) -> bool:
        return marker_of(offer) == catalog

    return marked
