"""The rules of reconciliation, without I/O: each is a generator that yields the store calls
it needs (`Call`: an `EntityStore` method, or `"sleep"`) and is sent their answers, or has
their exceptions thrown in (httpx's sans-IO way). `api.reconcile` performs them, sync or async.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import jsonpatch

from airflow_provider_offers.api import diff
from airflow_provider_offers.api.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    OutcomeUnknownError,
    ReceiptMissingError,
    RequestValidationError,
)
from airflow_provider_offers.api.inputs import IfExists, parse_if_exists, parse_modified, same_etag
from airflow_provider_offers.api.reconcile.interface import (
    ConcurrentModificationError,
    EtagMismatchError,
    Journal,
    JsonDict,
    NameTakenError,
    OperationsDoNotApplyError,
    Result,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# A rejected guarded patch (a failed `test`) comes back as one of these; Adobe does not say
# which status a failed test gets, so both are treated alike and told apart by re-reading.
_REJECTED = (ConflictError, RequestValidationError)


@dataclass(frozen=True)
class Call:
    """One thing a rule needs done: a store method (`EntityStore`'s names) or `"sleep"`."""

    method: str
    args: tuple[Any, ...]


#: A rule: yields `Call`s, is sent each one's answer (or has its exception thrown in).
Steps = Generator[Call, Any, T]


def call(method: str, *args: Any) -> Call:
    return Call(method, args)


def converge(
    existing: JsonDict, desired: Mapping[str, Any], *, max_attempts: int = 5
) -> Steps[tuple[JsonDict, bool]]:
    """The rule of `reconcile.converge` and `reconcile.aconverge`."""
    current, wrote = existing, False
    for _ in range(max_attempts):
        operations = diff.update_patch(current, desired)
        if not operations:
            return current, wrote
        try:
            return (yield call("patch", current["id"], operations)), True
        except OutcomeUnknownError:
            log.warning("Outcome of PATCH %s unknown; re-reading before deciding", current["id"])
            wrote = True
        except _REJECTED:
            fresh = yield call("get", current["id"])
            if same_etag(fresh.get("etag"), current.get("etag")):
                raise
            log.warning(
                "Object %s changed concurrently (etag %s -> %s); recomputing the patch",
                current["id"],
                current.get("etag"),
                fresh.get("etag"),
            )
            current = fresh
            continue
        current = yield call("get", current["id"])
    raise ConcurrentModificationError(
        f"object {existing['id']!r} changed under every one of {max_attempts} guarded patches"
    )


def keep_oldest(
    namesakes: Sequence[JsonDict],
    desired: Mapping[str, Any],
    *,
    deletable: Callable[[JsonDict], bool],
    adopt: Callable[[JsonDict], bool] | None = None,
) -> Steps[tuple[JsonDict, bool]]:
    """The rule of `reconcile.keep_oldest` and `reconcile.akeep_oldest`."""
    keeper = min(namesakes, key=_age)
    for entity in namesakes:
        if entity["id"] != keeper["id"] and deletable(entity):
            log.warning(
                "Object %r was created twice at once (%s, %s); deleting %s, keeping the oldest",
                entity.get("name"),
                keeper["id"],
                entity["id"],
                entity["id"],
            )
            with contextlib.suppress(NotFoundError):
                yield call("delete", entity["id"])
    if adopt is not None and not adopt(keeper):
        log.warning(
            "Object %r (%s), the oldest of its name, was made elsewhere; leaving it as it is",
            keeper.get("name"),
            keeper["id"],
        )
        return keeper, False
    return (yield from converge(keeper, desired))


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


def raced(name: str, created_id: str) -> Steps[list[JsonDict]]:
    """Every object named `name` if another was created next to ours; else []."""
    try:
        (yield call("find_by_name", name))
    except ConflictError as exc:
        if created_id in exc.conflicting_ids:
            namesakes = []
            for entity_id in exc.conflicting_ids:
                namesakes.append((yield call("get", entity_id)))
            return namesakes
        raise
    return []


def ensure_by_name(
    desired: Mapping[str, Any],
    *,
    if_exists: IfExists = "update",
    journal: Journal | None = None,
    max_attempts: int = 5,
    settle_seconds: float,
) -> Steps[Result]:
    """The rule of `reconcile.ensure_by_name` and `reconcile.aensure_by_name`."""
    if_exists = parse_if_exists(if_exists)
    name = desired["name"]
    record = journal.get() if journal is not None else None
    journalled = record if record and record.get("name") == name else None
    lost_create = False
    for _ in range(max_attempts):
        existing = yield call("find_by_name", name)
        uncertain = lost_create or (journalled is not None and "id" not in journalled)
        if existing is None and uncertain and settle_seconds > 0:
            log.info("No object named %r yet; looking again in %s s", name, settle_seconds)
            yield call("sleep", settle_seconds)
            existing = yield call("find_by_name", name)
        if existing is None:
            if journal is not None:
                journal.set({"name": name})
            try:
                receipt = yield call("create", dict(desired))
            except OutcomeUnknownError:
                log.warning("Outcome of creating object %r unknown; looking it up by name", name)
                lost_create = True
                continue
            if journal is not None:
                journal.set({"name": name, "id": receipt["id"]})
            namesakes = yield from raced(name, receipt["id"])
            if namesakes:
                own: str = receipt["id"]
                final, wrote = yield from keep_oldest(namesakes, desired, deletable=_is(own))
                if final["id"] != own:
                    if journal is not None:
                        journal.set({"name": name, "id": final["id"]})
                    return Result.of(final, "updated" if wrote else "unchanged", name)
            return Result.of(receipt, "created", name)
        ours = lost_create or (
            journalled is not None and journalled.get("id") in (None, existing["id"])
        )
        if ours:
            log.info("Object %r (%s) was created by this task; converging", name, existing["id"])
            if journal is not None:
                journal.set({"name": name, "id": existing["id"]})
        elif if_exists == "fail":
            raise NameTakenError(name, existing["id"])
        elif if_exists == "skip":
            return Result.of(existing, "unchanged", name)
        final, wrote = yield from converge(existing, desired, max_attempts=max_attempts)
        action = "created" if ours else ("updated" if wrote else "unchanged")
        return Result.of(final, action, name)
    raise OutcomeUnknownError(
        f"creating object {name!r}: outcome unknown on {max_attempts} attempts and the name "
        "never appeared; a retry of the task will look it up again before creating"
    )


def patch_offer(
    offer_id: str,
    operations: Sequence[Mapping[str, Any]],
    *,
    expected_etag: int | None = None,
    journal: Journal | None = None,
) -> Steps[Result]:
    """The rule of `reconcile.patch_offer` and `reconcile.apatch_offer`."""
    ops = [dict(op) for op in operations]
    if expected_etag is None:
        try:
            return Result.of((yield call("patch", offer_id, ops)), "updated")
        except ReceiptMissingError:
            return Result.of(
                (yield call("get", offer_id)), "updated"
            )  # applied: read the new version
    current = yield call("get", offer_id)
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
        return Result.of((yield call("patch", offer_id, guarded)), "updated")
    except OutcomeUnknownError:
        fresh = yield call("get", offer_id)
        if not same_etag(fresh["etag"], expected_etag) and diff.holds(fresh, expected):
            return Result.of(fresh, "updated")
        if same_etag(fresh["etag"], expected_etag):
            # Nothing committed; the guarded patch is safe to send once more.
            return Result.of((yield call("patch", offer_id, guarded)), "updated")
        raise EtagMismatchError(offer_id, expected_etag, fresh["etag"], after_check=True) from None
    except _REJECTED:
        fresh = yield call("get", offer_id)
        if same_etag(fresh["etag"], expected_etag):
            raise
        raise EtagMismatchError(offer_id, expected_etag, fresh["etag"], after_check=True) from None
