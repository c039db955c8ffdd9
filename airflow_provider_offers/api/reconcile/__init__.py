"""Declarative, re-runnable writes to the Offer Library: ensure an object by name, guarded patch.

No Airflow here: the operators pass in an `EntityStore` (reads and writes as plain JSON) and,
optionally, a `Journal` that survives task retries (Airflow's task state store).

Why a journal. A create whose connection drops after sending may or may not have committed
(`OutcomeUnknownError`). Within one attempt we look the name up before sending again. Across
attempts (a task retry, a cleared task) the lookup finds the offer the lost create committed,
and without memory that offer is indistinguishable from one somebody else made, so
`if_exists="fail"` would fail on our own offer and `"skip"` would report it unchanged. The
journal records "a create for this name was sent" before sending and the id once known; an
offer found under a journalled name (and id, when known) is ours: it is brought to the declared
fields like any other (a no-op when nothing changed) and reported as `created`.

Sync and async. Each rule is written once, as a generator that yields the store calls it
needs and is sent their answers (`reconcile.rules`, httpx's sans-IO way); `_run` performs
them on an `EntityStore`, `_arun` awaits them on an `AsyncEntityStore`. So `ensure_by_name` and
`aensure_by_name` (and each pair below) are one rule over two kinds of store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_offers.api.inputs import IfExists
from airflow_provider_offers.api.reconcile import rules
from airflow_provider_offers.api.reconcile.interface import (
    AsyncEntityStore,
    ConcurrentModificationError,
    EntityStore,
    EtagMismatchError,
    Journal,
    JsonDict,
    NameTakenError,
    OperationsDoNotApplyError,
    Result,
)

__all__ = [
    "AsyncEntityStore",
    "ConcurrentModificationError",
    "EntityStore",
    "EtagMismatchError",
    "Journal",
    "NameTakenError",
    "OperationsDoNotApplyError",
    "Result",
    "aconverge",
    "aensure_by_name",
    "akeep_oldest",
    "apatch_offer",
    "converge",
    "ensure_by_name",
    "keep_oldest",
    "patch_offer",
]

T = TypeVar("T")


def _run(steps: rules.Steps[T], store: EntityStore) -> T:
    """Perform a rule's calls on a sync store (and `time.sleep`)."""
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.send(reply) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        reply, error = None, None
        try:
            if call.method == "sleep":
                time.sleep(*call.args)
            else:
                reply = getattr(store, call.method)(*call.args)
        except Exception as exc:
            error = exc


async def _arun(steps: rules.Steps[T], store: AsyncEntityStore) -> T:
    """`_run`, awaited: the store's coroutines and `asyncio.sleep`."""
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.send(reply) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        reply, error = None, None
        try:
            if call.method == "sleep":
                await asyncio.sleep(*call.args)
            else:
                reply = await getattr(store, call.method)(*call.args)
        except Exception as exc:
            error = exc


def converge(
    store: EntityStore, existing: JsonDict, desired: Mapping[str, Any], *, max_attempts: int = 5
) -> tuple[JsonDict, bool]:
    """Bring `existing` to `desired` with guarded minimal patches; (final state, wrote anything).

    A rejected patch is retried only if the offer's etag moved since the read (a concurrent
    writer); otherwise the rejection is real and raised. A patch whose outcome is unknown is
    re-read and recomputed: if it committed, the recomputed patch is empty.
    """
    return _run(rules.converge(existing, desired, max_attempts=max_attempts), store)


async def aconverge(
    store: AsyncEntityStore,
    existing: JsonDict,
    desired: Mapping[str, Any],
    *,
    max_attempts: int = 5,
) -> tuple[JsonDict, bool]:
    """`converge` on an async store."""
    return await _arun(rules.converge(existing, desired, max_attempts=max_attempts), store)


def keep_oldest(
    store: EntityStore,
    namesakes: Sequence[JsonDict],
    desired: Mapping[str, Any],
    *,
    deletable: Callable[[JsonDict], bool],
    adopt: Callable[[JsonDict], bool] | None = None,
) -> tuple[JsonDict, bool]:
    """Two writers created one name at once (a name is free, both create): keep the oldest.

    Every writer applies the same rule (oldest `created` instant, then lowest id), so they
    agree on the survivor without talking to each other; each deletes only what `deletable`
    allows (its own create), then brings the survivor to `desired`, unless `adopt` says the
    survivor is not the caller's to write. Returns the survivor's state and whether anything
    was written to it.
    """
    return _run(rules.keep_oldest(namesakes, desired, deletable=deletable, adopt=adopt), store)


async def akeep_oldest(
    store: AsyncEntityStore,
    namesakes: Sequence[JsonDict],
    desired: Mapping[str, Any],
    *,
    deletable: Callable[[JsonDict], bool],
    adopt: Callable[[JsonDict], bool] | None = None,
) -> tuple[JsonDict, bool]:
    """`keep_oldest` on an async store."""
    steps = rules.keep_oldest(namesakes, desired, deletable=deletable, adopt=adopt)
    return await _arun(steps, store)


def ensure_by_name(
    store: EntityStore,
    desired: Mapping[str, Any],
    *,
    if_exists: IfExists = "update",
    journal: Journal | None = None,
    max_attempts: int = 5,
    settle_seconds: float = 2.0,
) -> Result:
    """Make sure an object named `desired["name"]` exists with the given fields; never two.

    Returns `Result` with action `created` (this task's create, including one an earlier
    attempt committed), `updated` or `unchanged`.

    After a create of unknown outcome (in this call or, per the journal, an earlier attempt)
    an empty look-up is repeated once after `settle_seconds` before creating again: Adobe does
    not say how soon a new offer shows up in a list, and a second create would be a duplicate.
    """
    steps = rules.ensure_by_name(
        desired,
        if_exists=if_exists,
        journal=journal,
        max_attempts=max_attempts,
        settle_seconds=settle_seconds,
    )
    return _run(steps, store)


async def aensure_by_name(
    store: AsyncEntityStore,
    desired: Mapping[str, Any],
    *,
    if_exists: IfExists = "update",
    journal: Journal | None = None,
    max_attempts: int = 5,
    settle_seconds: float = 2.0,
) -> Result:
    """`ensure_by_name` on an async store."""
    steps = rules.ensure_by_name(
        desired,
        if_exists=if_exists,
        journal=journal,
        max_attempts=max_attempts,
        settle_seconds=settle_seconds,
    )
    return await _arun(steps, store)


def patch_offer(
    store: EntityStore,
    offer_id: str,
    operations: Sequence[Mapping[str, Any]],
    *,
    expected_etag: int | None = None,
    journal: Journal | None = None,
) -> Result:
    """Apply caller-given JSON Patch operations, with an optional optimistic etag check.

    With `expected_etag` the operations were written against that version: the offer is read,
    the etag compared (no write on mismatch), and the operations are sent guarded by `test`s of
    the members they touch, so a writer sneaking in between check and write makes the server
    reject the patch instead of the operations landing on values they were not meant for.
    What the touched members will look like afterwards is journalled before sending, so an
    outcome-unknown PATCH, a task retry or a cleared task recognises its own committed write
    (the etag moved, but to our values) instead of failing the etag check.
    """
    steps = rules.patch_offer(offer_id, operations, expected_etag=expected_etag, journal=journal)
    return _run(steps, store)


async def apatch_offer(
    store: AsyncEntityStore,
    offer_id: str,
    operations: Sequence[Mapping[str, Any]],
    *,
    expected_etag: int | None = None,
    journal: Journal | None = None,
) -> Result:
    """`patch_offer` on an async store."""
    steps = rules.patch_offer(offer_id, operations, expected_etag=expected_etag, journal=journal)
    return await _arun(steps, store)
