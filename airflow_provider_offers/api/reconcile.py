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
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jsonpatch

from airflow_provider_offers.api import diff
from airflow_provider_offers.api.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OfferLibraryError,
    OutcomeUnknownError,
    ReceiptMissingError,
    RequestValidationError,
)
from airflow_provider_offers.api.inputs import IfExists, parse_if_exists, parse_modified, same_etag

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

# A rejected guarded patch (a failed `test`) comes back as one of these; Adobe does not say
# which status a failed test gets, so both are treated alike and told apart by re-reading.
_REJECTED = (ConflictError, RequestValidationError)


class EntityStore(Protocol):
    """Reads and writes of one kind of object (offers, placements, decisions, ...) as Adobe's
    JSON (representations and receipts)."""

    def find_by_name(self, name: str) -> JsonDict | None: ...
    def get(self, entity_id: str) -> JsonDict: ...
    def create(self, entity: JsonDict) -> JsonDict: ...
    def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict: ...
    def delete(self, entity_id: str) -> None: ...


class Journal(Protocol):
    """One JSON value remembered across attempts of the same task."""

    def get(self) -> JsonDict | None: ...
    def set(self, value: JsonDict) -> None: ...


class NameTakenError(OfferLibraryError):
    """`if_exists="fail"` and an object with that name exists."""

    def __init__(self, name: str, entity_id: str):
        super().__init__(f"an object named {name!r} already exists: id {entity_id!r}")
        self.name = name
        self.entity_id = entity_id


class EtagMismatchError(OfferLibraryError):
    """The offer is not at the version the caller expected; nothing was written."""

    def __init__(self, offer_id: str, expected: int, actual: int, *, after_check: bool = False):
        when = "changed between the etag check and the write" if after_check else "has etag"
        super().__init__(
            f"offer {offer_id!r} {when}: expected etag {expected}, current etag {actual}; "
            "nothing was written"
        )
        self.offer_id = offer_id
        self.expected = expected
        self.actual = actual


class OperationsDoNotApplyError(OfferLibraryError):
    """The caller's operations fail on the version they were meant for; nothing was written."""


class ConcurrentModificationError(OfferLibraryError):
    """The offer kept changing under us for every attempt; the last write was not applied."""


@dataclass(frozen=True)
class Result:
    """What the operators return: the offer's id and version after the step."""

    id: str
    etag: int | str
    last_modified: str | None
    action: str
    name: str | None = None

    @classmethod
    def of(cls, entity: Mapping[str, Any], action: str, name: str | None = None) -> Result:
        """From a receipt (`lastModifiedDate`) or a representation (`modified`)."""
        modified = entity.get("lastModifiedDate") or entity.get("modified")
        return cls(entity["id"], entity["etag"], modified, action, name or entity.get("name"))


def converge(
    store: EntityStore, existing: JsonDict, desired: Mapping[str, Any], *, max_attempts: int = 5
) -> tuple[JsonDict, bool]:
    """Bring `existing` to `desired` with guarded minimal patches; (final state, wrote anything).

    A rejected patch is retried only if the offer's etag moved since the read (a concurrent
    writer); otherwise the rejection is real and raised. A patch whose outcome is unknown is
    re-read and recomputed: if it committed, the recomputed patch is empty.
    """
    current, wrote = existing, False
    for _ in range(max_attempts):
        operations = diff.update_patch(current, desired)
        if not operations:
            return current, wrote
        try:
            return store.patch(current["id"], operations), True
        except OutcomeUnknownError:
            log.warning("Outcome of PATCH %s unknown; re-reading before deciding", current["id"])
            wrote = True
        except _REJECTED:
            fresh = store.get(current["id"])
            if same_etag(fresh.get("etag"), current.get("etag")):
                raise
            log.warning(
                "Offer %s changed concurrently (etag %s -> %s); recomputing the patch",
                current["id"],
                current.get("etag"),
                fresh.get("etag"),
            )
            current = fresh
            continue
        current = store.get(current["id"])
    raise ConcurrentModificationError(
        f"offer {existing['id']!r} changed under every one of {max_attempts} guarded patches"
    )


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
    keeper = min(namesakes, key=_age)
    for entity in namesakes:
        if entity["id"] != keeper["id"] and deletable(entity):
            log.warning(
                "Offer %r was created twice at once (%s, %s); deleting %s, keeping the oldest",
                entity.get("name"),
                keeper["id"],
                entity["id"],
                entity["id"],
            )
            with contextlib.suppress(NotFoundError):
                store.delete(entity["id"])
    if adopt is not None and not adopt(keeper):
        log.warning(
            "Offer %r (%s), the oldest of its name, was made elsewhere; leaving it as it is",
            keeper.get("name"),
            keeper["id"],
        )
        return keeper, False
    return converge(store, keeper, desired)


def _age(entity: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key, oldest first: the `created` instant (offsets compared as instants); an
    unreadable one after every readable one, by its text (lenient on read); then the id."""
    created = entity.get("created") or entity.get("createdDate")
    try:
        moment = parse_modified(created, "created", assume_utc=True)
    except InvalidInputError:
        moment = None
    if moment is not None:
        return (0, moment.timestamp(), "", str(entity["id"]))
    return (1, 0.0, str(created or ""), str(entity["id"]))


def _is(entity_id: str) -> Callable[[JsonDict], bool]:
    return lambda entity: entity["id"] == entity_id


def _raced(store: EntityStore, name: str, created_id: str) -> list[JsonDict]:
    """Every object named `name` if another was created next to ours; else []."""
    try:
        store.find_by_name(name)
    except ConflictError as exc:
        if created_id in exc.conflicting_ids:
            return [store.get(entity_id) for entity_id in exc.conflicting_ids]
        raise
    return []


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
    if_exists = parse_if_exists(if_exists)
    name = desired["name"]
    record = journal.get() if journal is not None else None
    journalled = record if record and record.get("name") == name else None
    lost_create = False
    for _ in range(max_attempts):
        existing = store.find_by_name(name)
        uncertain = lost_create or (journalled is not None and "id" not in journalled)
        if existing is None and uncertain and settle_seconds > 0:
            log.info("No offer named %r yet; looking again in %s s", name, settle_seconds)
            time.sleep(settle_seconds)
            existing = store.find_by_name(name)
        if existing is None:
            if journal is not None:
                journal.set({"name": name})
            try:
                receipt = store.create(dict(desired))
            except OutcomeUnknownError:
                log.warning("Outcome of creating offer %r unknown; looking it up by name", name)
                lost_create = True
                continue
            if journal is not None:
                journal.set({"name": name, "id": receipt["id"]})
            namesakes = _raced(store, name, receipt["id"])
            if namesakes:
                own: str = receipt["id"]
                final, wrote = keep_oldest(store, namesakes, desired, deletable=_is(own))
                if final["id"] != own:
                    if journal is not None:
                        journal.set({"name": name, "id": final["id"]})
                    return Result.of(final, "updated" if wrote else "unchanged", name)
            return Result.of(receipt, "created", name)
        ours = lost_create or (
            journalled is not None and journalled.get("id") in (None, existing["id"])
        )
        if ours:
            log.info("Offer %r (%s) was created by this task; converging", name, existing["id"])
            if journal is not None:
                journal.set({"name": name, "id": existing["id"]})
        elif if_exists == "fail":
            raise NameTakenError(name, existing["id"])
        elif if_exists == "skip":
            return Result.of(existing, "unchanged", name)
        final, wrote = converge(store, existing, desired, max_attempts=max_attempts)
        action = "created" if ours else ("updated" if wrote else "unchanged")
        return Result.of(final, action, name)
    raise OutcomeUnknownError(
        f"creating offer {name!r}: outcome unknown on {max_attempts} attempts and the name "
        "never appeared; a retry of the task will look it up again before creating"
    )


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
    ops = [dict(op) for op in operations]
    if expected_etag is None:
        try:
            return Result.of(store.patch(offer_id, ops), "updated")
        except ReceiptMissingError:
            return Result.of(store.get(offer_id), "updated")  # applied: read the new version
    current = store.get(offer_id)
    record = journal.get() if journal is not None else None
    if (
        record
        and record.get("id") == offer_id
        and same_etag(record.get("expected_etag"), expected_etag)
        and not same_etag(current["etag"], expected_etag)
        and diff.holds(current, record["expected"])
    ):
        log.info("Offer %s already carries this patch (an earlier attempt wrote it)", offer_id)
        return Result.of(current, "updated")
    if not same_etag(current["etag"], expected_etag):
        raise EtagMismatchError(offer_id, expected_etag, current["etag"])
    try:
        expected = diff.expected_members(current, ops)
    except jsonpatch.JsonPatchException as exc:
        raise OperationsDoNotApplyError(
            f"the operations do not apply to offer {offer_id!r} at etag {expected_etag}: {exc}; "
            "nothing was written"
        ) from None
    guarded = diff.guard(current, ops)
    if journal is not None:
        journal.set({"id": offer_id, "expected_etag": expected_etag, "expected": expected})
    try:
        return Result.of(store.patch(offer_id, guarded), "updated")
    except OutcomeUnknownError:
        fresh = store.get(offer_id)
        if not same_etag(fresh["etag"], expected_etag) and diff.holds(fresh, expected):
            return Result.of(fresh, "updated")
        if same_etag(fresh["etag"], expected_etag):
            # Nothing committed; the guarded patch is safe to send once more.
            return Result.of(store.patch(offer_id, guarded), "updated")
        raise EtagMismatchError(offer_id, expected_etag, fresh["etag"], after_check=True) from None
    except _REJECTED:
        fresh = store.get(offer_id)
        if same_etag(fresh["etag"], expected_etag):
            raise
        raise EtagMismatchError(offer_id, expected_etag, fresh["etag"], after_check=True) from None
