"""Has an offer changed? The one decision shared by OfferChangeSensor.poke() and its trigger.

Pure and Airflow-free so the sensor (sync, in a worker) and the trigger (async, in the
triggerer) cannot drift apart. Adobe bumps an offer's integer ``etag`` on every update and
moves its ``modified`` time forward, so either one moving past the caller's baseline is a change.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from airflow_provider_offers.api.errors import InvalidInputError

_INTEGER = re.compile(r"[0-9]+")
_FRACTION = re.compile(r"\.([0-9]+)")


def _invalid(field: str, value: Any, problem: str) -> InvalidInputError:
    return InvalidInputError(field, f"{value!r} {problem}")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_etag(value: Any, field: str = "since_etag") -> int | None:
    """An etag given as an int or as the string a Jinja template renders it to; blank is None."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise _invalid(field, value, "is not an etag: expected a non-negative integer")
    if isinstance(value, int):
        if value < 0:
            raise _invalid(field, value, "is not an etag: expected a non-negative integer")
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise _invalid(
        field,
        value,
        "is not an etag: expected a non-negative integer (an int or a string of digits; "
        "a template that rendered 'None' usually pulled an XCom that does not exist)",
    )


def parse_modified(value: Any, field: str = "since_modified") -> datetime | None:
    """An aware datetime from a datetime or an ISO-8601 string with ``Z`` or an offset."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        # Python 3.10's fromisoformat() knows neither "Z" (Adobe writes both Z and +00:00) nor
        # fractions other than 3 or 6 digits.
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        text = _FRACTION.sub(lambda digits: "." + f"{digits[1]:0<6}"[:6], text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _invalid(field, value, "is not an ISO-8601 date-time") from None
    else:
        raise _invalid(field, value, "is not a date-time: expected an ISO-8601 string or datetime")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _invalid(field, value, "has no UTC offset: add 'Z' or an offset such as '+02:00'")
    return parsed


def offer_snapshot(offer: Any) -> dict[str, Any]:
    """The offer's ``id``, ``etag`` and ``modified`` (ISO-8601 to the millisecond, as Adobe
    writes it) as JSON values: what the sensor and trigger keep, compare and return."""
    modified = offer.modified
    return {
        "id": offer.id,
        "etag": offer.etag,
        "modified": modified.isoformat(timespec="milliseconds") if modified else None,
    }


def baseline_of(snapshot: dict[str, Any]) -> dict[str, Any]:
    """With no since_etag/since_modified, what the first look saw is the baseline to beat;
    ``previous_etag`` is the etag a change is reported against."""
    return {
        "previous_etag": snapshot["etag"],
        "since_etag": snapshot["etag"],
        "since_modified": snapshot["modified"],
    }


def has_offer_changed(
    etag: Any,
    modified: Any,
    *,
    since_etag: Any = None,
    since_modified: Any = None,
) -> bool:
    """True when ``etag`` is greater than ``since_etag`` or ``modified`` is later than
    ``since_modified``.

    ``etag``/``modified`` are what the offer shows now (as read from Adobe: int and ISO string
    or datetime). With neither baseline there is nothing to compare against, so the answer is
    False: callers take the current state as their baseline instead.
    """
    baseline_etag = parse_etag(since_etag, "since_etag")
    baseline_modified = parse_modified(since_modified, "since_modified")
    if baseline_etag is not None:
        current_etag = parse_etag(etag, "etag")
        if current_etag is not None and current_etag > baseline_etag:
            return True
    if baseline_modified is not None:
        current_modified = parse_modified(modified, "modified")
        if current_modified is not None and current_modified > baseline_modified:
            return True
    return False
