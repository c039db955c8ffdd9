"""Has an offer changed? The one step shared by OfferChangeSensor.poke() and its trigger.

Pure and Airflow-free so the sensor (sync, in a worker) and the trigger (async, in the
triggerer) are two loops around the same `observe()` and cannot drift apart. Adobe gives an
offer a new `etag` on every update and moves its `modified` time forward, so an etag other
than the baseline's, or a later `modified`, is a change. Etags are opaque tokens compared for
equality (`inputs.same_etag`): integers and digit strings both occur.

A baseline is one JSON object, `{"previous_etag", "since_etag", "since_modified"}`: what the
caller gave (`given_baseline`), or else what the first look saw. It travels to the trigger
as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_offers.api.inputs import parse_etag, parse_modified, same_etag

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
    return _baseline(etag, modified.isoformat() if modified else None)


def offer_snapshot(offer: Any) -> dict[str, Any]:
    """The offer's `id`, `etag` and `modified` (ISO-8601 to the millisecond, as Adobe writes
    it) as JSON values: what the sensor and trigger keep, compare and return."""
    modified = offer.modified
    return {
        "id": offer.id,
        "etag": offer.etag,
        "modified": modified.isoformat(timespec="milliseconds") if modified else None,
    }


def has_offer_changed(
    etag: Any,
    modified: Any,
    *,
    since_etag: Any = None,
    since_modified: Any = None,
) -> bool:
    """True when `etag` is not `since_etag` or `modified` is later than `since_modified`.

    `etag`/`modified` are what the offer shows now (as read from Adobe: an int or a string, and
    an ISO string or datetime; one without an offset is UTC). With neither baseline there is
    nothing to compare against, so the answer is False: callers take the current state as
    their baseline instead.
    """
    baseline_etag = parse_etag(since_etag, "since_etag")
    baseline_modified = parse_modified(since_modified, "since_modified")
    if baseline_etag is not None and etag is not None and not same_etag(etag, baseline_etag):
        return True
    if baseline_modified is not None:
        current_modified = parse_modified(modified, "modified", assume_utc=True)
        if current_modified is not None and current_modified > baseline_modified:
            return True
    return False


@dataclass(frozen=True)
class Observation:
    """One look at the offer: the baseline to keep, the change if any, and what to log."""

    baseline: Baseline
    change: dict[str, Any] | None  # {"id", "etag", "modified", "previous_etag"}
    message: str


def observe(offer: Any, baseline: Baseline | None) -> Observation:
    """Compare one read of the offer with the baseline; with none, this read becomes it."""
    seen = offer_snapshot(offer)
    if baseline is None:
        return Observation(
            _baseline(seen["etag"], seen["modified"]),
            None,
            f"Offer {seen['id']}: baseline etag {seen['etag']}, modified {seen['modified']}; "
            "waiting for a change.",
        )
    if has_offer_changed(
        seen["etag"],
        seen["modified"],
        since_etag=baseline["since_etag"],
        since_modified=baseline["since_modified"],
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
# A cursor is one JSON object, `{"modified", "etags"}`: the latest `modified` seen (the
# high-water mark, ISO-8601, or None before any offer) and `{id: etag}` of the offers seen at
# exactly that time. Offers at the mark are told apart by etag, so two offers changed within
# the same millisecond are both reported and an offer is never reported twice for one version.

Cursor = dict[str, Any]
EMPTY_CURSOR: Cursor = {"modified": None, "etags": {}}


def listed_offer(offer: Any) -> dict[str, Any]:
    """`offer_snapshot` plus the offer's `name`: one offer as a listing watcher sees it."""
    return {**offer_snapshot(offer), "name": offer.name}


def _instant(modified: Any) -> datetime:
    """A `modified` value as an instant; none at all sorts before every real time."""
    return parse_modified(modified, "modified", assume_utc=True) or datetime.min.replace(
        tzinfo=timezone.utc
    )


def watched_offers(listed: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]]:
    """The offers a watcher limited to `names` cares about (all of them without names)."""
    if names is None:
        return listed
    wanted = set(names)
    return [offer for offer in listed if offer["name"] in wanted]


def is_new_since(cursor: Cursor, offer: dict[str, Any]) -> bool:
    """Created or changed since the cursor: a known offer by `has_offer_changed` against its etag
    at the mark; any other offer if its `modified` is at or after the mark."""
    known_etags = cursor["etags"]
    if offer["id"] in known_etags:
        return has_offer_changed(
            offer["etag"],
            offer["modified"],
            since_etag=known_etags[offer["id"]],
            since_modified=cursor["modified"],
        )
    return _instant(offer["modified"]) >= _instant(cursor["modified"])


def changes_since(cursor: Cursor, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed offers created or changed since the cursor, oldest change first (the order
    they are reported in, so the cursor can advance past each one as it goes)."""
    changed = [offer for offer in listed if is_new_since(cursor, offer)]
    return sorted(changed, key=lambda offer: (_instant(offer["modified"]), offer["id"]))


def advance_cursor(cursor: Cursor, offer: dict[str, Any]) -> Cursor:
    """The cursor once `offer` (a change at or after the mark, or a known offer) is reported."""
    seen, mark = _instant(offer["modified"]), _instant(cursor["modified"])
    if seen > mark:
        return {"modified": offer["modified"], "etags": {offer["id"]: offer["etag"]}}
    if seen == mark or offer["id"] in cursor["etags"]:
        return {**cursor, "etags": {**cursor["etags"], offer["id"]: offer["etag"]}}
    return cursor


def cursor_at(listed: list[dict[str, Any]]) -> Cursor:
    """The present as a baseline: a cursor past every listed offer, so none of them is new."""
    cursor = EMPTY_CURSOR
    for offer in changes_since(cursor, listed):
        cursor = advance_cursor(cursor, offer)
    return cursor


def stored_cursor(value: Any) -> Cursor | None:
    """A cursor read back from a store, or None if there is none or it is not one of ours."""
    if (
        isinstance(value, dict)
        and set(value) == {"modified", "etags"}
        and isinstance(value["etags"], dict)
        and (value["modified"] is None or isinstance(value["modified"], str))
    ):
        return value
    return None
