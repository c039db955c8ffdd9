"""Has an offer changed? The one step shared by OfferChangeSensor.poke() and its trigger.

Pure and Airflow-free so the sensor (sync, in a worker) and the trigger (async, in the
triggerer) are two loops around the same `observe()` and cannot drift apart. Adobe gives an
offer a new `etag` on every update and moves its `modified` time forward, so an etag other
than the baseline's, or a later `modified`, is a change (`version_changed`, the one rule). Etags
are opaque tokens compared for equality (`inputs.same_etag`): integers and digit strings both
occur.

Every look works on the server's JSON (`offer_snapshot`), never on a typed model, so one
object our read models cannot type (made elsewhere, or a newer shape) is watched like any other.

A baseline is one JSON object, `{"previous_etag", "since_etag", "since_modified"}`: what the
caller gave (`given_baseline`), or else what the first look saw. It travels to the trigger
as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import (
    format_instant,
    parse_etag,
    parse_modified,
    same_etag,
)

Baseline = dict[str, Any]


def _baseline(etag: int | None, modified: str | None) -> Baseline:
    """`previous_etag` is the etag a change is reported against."""
    return {"previous_etag": etag, "since_etag": etag, "since_modified": modified}


def given_baseline(since_etag: Any, since_modified: Any) -> Baseline | None:
    """The baseline a caller gave (checked: `InvalidInputError` names the field), or None."""
    etag = parse_etag(since_etag, "since_etag")
    modified = parse_modified(since_modified, "since_modified")
    if etag is None and modified is None:
        return None
    return _baseline(etag, format_instant(modified) if modified else None)


def read_instant(value: Any) -> datetime | None:
    """A `modified` as the server wrote it, as an instant (UTC when it gives no offset); None
    when there is none or it is not a date: lenient, since one odd object must not stop a
    watcher (what a caller gives is checked strictly instead, by `parse_modified`)."""
    try:
        return parse_modified(value, "modified", assume_utc=True)
    except InvalidInputError:
        return None


def offer_snapshot(offer: Mapping[str, Any]) -> dict[str, Any]:
    """The offer's `id`, `etag` and `modified` from the server's JSON (any object, typed by our
    models or not), as JSON values: what the sensor and trigger keep, compare and return.
    `modified` is ISO-8601 to the millisecond, as Adobe writes it (kept as sent if unreadable)."""
    modified = offer.get("modified")
    instant = read_instant(modified)
    return {
        "id": offer.get("id"),
        "etag": offer.get("etag"),
        # The server's own offset, to the millisecond (what a user compares with Adobe's UI).
        "modified": instant.isoformat(timespec="milliseconds")
        if instant
        else (modified if isinstance(modified, str) else None),
    }


def version_changed(
    etag: Any, modified: Any, *, seen_etag: Any, seen_modified: datetime | None
) -> bool:
    """The rule itself: an etag other than the one seen, or a `modified` later than the one
    seen. Lenient, for values as the server sent them: an odd etag is compared as a token, an
    unreadable `modified` is not compared; None on either side means nothing to compare."""
    if seen_etag is not None and etag is not None and not same_etag(etag, seen_etag):
        return True
    if seen_modified is not None:
        current_modified = read_instant(modified)
        if current_modified is not None and current_modified > seen_modified:
            return True
    return False


def has_offer_changed(
    etag: Any,
    modified: Any,
    *,
    since_etag: Any = None,
    since_modified: Any = None,
) -> bool:
    """True when `etag` is not `since_etag` or `modified` is later than `since_modified`.

    `etag`/`modified` are what the offer shows now (as read from Adobe: an int or a string, and
    an ISO string or datetime; one without an offset is UTC; an unreadable one is not compared).
    The baseline is a caller's, checked strictly (`InvalidInputError` names the field). With
    neither baseline there is nothing to compare against, so the answer is False: callers take
    the current state as their baseline instead.
    """
    return version_changed(
        etag,
        modified,
        seen_etag=parse_etag(since_etag, "since_etag"),
        seen_modified=parse_modified(since_modified, "since_modified"),
    )


@dataclass(frozen=True)
class Observation:
    """One look at the offer: the baseline to keep, the change if any, and what to log."""

    baseline: Baseline
    change: dict[str, Any] | None  # {"id", "etag", "modified", "previous_etag"}
    message: str


def observe(offer: Mapping[str, Any], baseline: Baseline | None) -> Observation:
    """Compare one read of the offer (the server's JSON) with the baseline; with none, this
    read becomes it."""
    seen = offer_snapshot(offer)
    if baseline is None:
        return Observation(
            _baseline(seen["etag"], seen["modified"]),
            None,
            f"Offer {seen['id']}: baseline etag {seen['etag']}, modified {seen['modified']}; "
            "waiting for a change.",
        )
    # A baseline the first look took holds the server's values (checked leniently); one a
    # caller gave was checked strictly by `given_baseline`.
    if version_changed(
        seen["etag"],
        seen["modified"],
        seen_etag=baseline["since_etag"],
        seen_modified=read_instant(baseline["since_modified"]),
    ):
        return Observation(
            baseline,
            {**seen, "previous_etag": baseline["previous_etag"]},
            f"Offer {seen['id']} changed: etag {baseline['previous_etag']} -> {seen['etag']}.",
        )
    return Observation(baseline, None, f"Offer {seen['id']} unchanged (etag {seen['etag']}).")


def poll_delay(poll_interval: float, deadline: datetime | None, now: datetime) -> float:
    """Seconds until the next look: one interval, or less so the last look is at the deadline."""
    if deadline is None:
        return poll_interval
    return max(0.0, min(poll_interval, (deadline - now).total_seconds()))


# -- "what changed since I last looked" over a listing (OfferChangeEventTrigger) -------------
#
# A cursor is one JSON object, `{"floor", "seen"}`:
#   seen:  {id: [etag, modified]} of the versions already reported (or taken as the baseline),
#          `modified` in epoch milliseconds (None if the server gave none);
#   floor: epoch milliseconds or None. An offer absent from `seen` whose `modified` is before
#          the floor counts as seen; every entry of `seen` is at or after it.
# A listed offer is new when its version is not the one `seen` holds for its id and either its
# id is in `seen` (a new version, whatever its `modified` says) or its `modified` is at or
# after the floor. So a change is reported once even when its `modified` is older than one
# already seen (another writer's clock, an eventually consistent listing), within the window.
#
# The window, and so what the state store holds, is bounded: the floor trails the newest
# `modified` seen by LAG_WINDOW, but never passes the RECENT-th newest version seen (one writer
# whose clock runs ahead cannot hide everyone else's changes), and rises further if more than
# MAX_SEEN versions would be kept. A cursor holds at most MAX_SEEN entries (~60 bytes each),
# usually RECENT; a change older than both bounds when it is first listed is missed.

Cursor = dict[str, Any]
EMPTY_CURSOR: Cursor = {"floor": None, "seen": {}}
#: How far behind the newest `modified` seen a change may arrive and still be reported.
LAG_WINDOW = timedelta(minutes=10)
#: The newest versions the window always keeps, whatever the clocks say.
RECENT = 100
#: The most versions a cursor keeps (10,000 offers changed at once keep the newest ones).
MAX_SEEN = 1000

_LAG_MS = int(LAG_WINDOW.total_seconds() * 1000)


def listed_offer(offer: Mapping[str, Any]) -> dict[str, Any]:
    """`offer_snapshot` plus the offer's `name`: one offer (the server's JSON) as a listing
    watcher sees it."""
    return {**offer_snapshot(offer), "name": offer.get("name")}


def _millis(modified: Any) -> int | None:
    instant = read_instant(modified)
    return None if instant is None else int(instant.timestamp() * 1000)


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _order(offer: dict[str, Any]) -> tuple[float, str]:
    """Oldest change first; an offer without a `modified` before every real time."""
    ms = _millis(offer["modified"])
    return (float("-inf") if ms is None else ms, str(offer["id"]))


def watched_offers(listed: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]]:
    """The offers a watcher limited to `names` cares about (all of them without names)."""
    if names is None:
        return listed
    wanted = set(names)
    return [offer for offer in listed if offer["name"] in wanted]


def is_new_since(cursor: Cursor, offer: dict[str, Any]) -> bool:
    """Created or changed since the cursor (see the rule above)."""
    known = cursor["seen"].get(offer["id"])
    if known is not None:  # the sensor's rule, against the version seen
        return version_changed(
            offer["etag"],
            offer["modified"],
            seen_etag=known[0],
            seen_modified=None if known[1] is None else _instant(known[1]),
        )
    if cursor["floor"] is None:
        return True
    ms = _millis(offer["modified"])
    return ms is not None and ms >= cursor["floor"]


def changes_since(cursor: Cursor, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed offers created or changed since the cursor, oldest change first (the order
    they are reported in, so the cursor can advance past each one as it goes)."""
    return sorted((offer for offer in listed if is_new_since(cursor, offer)), key=_order)


def _bounded(floor: int | None, seen: dict[str, list[Any]]) -> Cursor:
    """The cursor with its floor raised as far as the bounds allow and `seen` cut to it."""
    stamps = sorted((entry[1] for entry in seen.values() if entry[1] is not None), reverse=True)
    if len(stamps) >= RECENT:
        candidate = min(stamps[0] - _LAG_MS, stamps[RECENT - 1])
        floor = candidate if floor is None else max(floor, candidate)
    if len(stamps) > MAX_SEEN:
        # Keep at most MAX_SEEN: the floor goes just past the newest version left out.
        floor = max(floor or 0, stamps[MAX_SEEN] + 1)
    if floor is None:
        return {"floor": None, "seen": seen}
    kept = {oid: e for oid, e in seen.items() if e[1] is not None and e[1] >= floor}
    return {"floor": floor, "seen": kept}


def advance_cursor(cursor: Cursor, offer: dict[str, Any]) -> Cursor:
    """The cursor once `offer` is reported: its version is seen."""
    seen = {**cursor["seen"], offer["id"]: [offer["etag"], _millis(offer["modified"])]}
    return _bounded(cursor["floor"], seen)


def cursor_at(listed: list[dict[str, Any]]) -> Cursor:
    """The present as a baseline: a cursor that has seen every listed offer."""
    seen = {offer["id"]: [offer["etag"], _millis(offer["modified"])] for offer in listed}
    return _bounded(None, seen)


def stored_cursor(value: Any) -> Cursor | None:
    """A cursor read back from a store, or None if there is none or it is not one of ours.

    The high-water mark older releases stored (`{"modified", "etags"}`) reads as the cursor
    it stands for, so an upgrade neither replays nor misses a change."""
    if not isinstance(value, dict):
        return None
    if set(value) == {"modified", "etags"} and isinstance(value["etags"], dict):
        mark = value["modified"]
        if mark is None or (isinstance(mark, str) and _millis(mark) is not None):
            ms = _millis(mark)
            return {"floor": ms, "seen": {oid: [e, ms] for oid, e in value["etags"].items()}}
        return None
    if (
        set(value) == {"floor", "seen"}
        and (value["floor"] is None or _is_millis(value["floor"]))
        and isinstance(value["seen"], dict)
        and all(
            isinstance(e, list) and len(e) == 2 and (e[1] is None or _is_millis(e[1]))
            for e in value["seen"].values()
        )
    ):
        return value
    return None


def _is_millis(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
