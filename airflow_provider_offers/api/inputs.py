"""Every rule for a value a caller gives us, defined once; each raises `InvalidInputError`.

Operators, the sensor, the trigger and the client all parse their inputs here, so a rule (what
an offer type, an id, an etag or a time may look like) cannot differ between them. Values from
Jinja templates arrive as strings, so each parser also takes the string form of its value.

Case rule for offer types: Adobe's query parameter is lower case (`offer-type=fallback`); we
accept any case and surrounding blanks (`"Fallback "`) and always send the lower-case value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from airflow_provider_offers import ORG_ID_PATTERN, SANDBOX_NAME_PATTERN
from airflow_provider_offers.api.errors import InvalidInputError

__all__ = [
    "IF_EXISTS_MODES",
    "MAX_ITEM_COUNT",
    "IfExists",
    "OfferType",
    "format_instant",
    "parse_bool",
    "parse_context_data",
    "parse_etag",
    "parse_id",
    "parse_if_exists",
    "parse_item_count",
    "parse_max_attempts",
    "parse_max_concurrency",
    "parse_max_retry_after",
    "parse_modified",
    "parse_offer_type",
    "parse_org_id",
    "parse_sandbox_name",
    "parse_timeout",
    "rendered_nothing",
    "same_etag",
]

IfExists = Literal["update", "skip", "fail"]
IF_EXISTS_MODES: tuple[IfExists, ...] = ("update", "skip", "fail")
MAX_ITEM_COUNT = 30  # offer-library-api.md 16.1

_DIGITS = re.compile(r"[0-9]+")
_FRACTION = re.compile(r"\.([0-9]+)")
_ORG_ID = re.compile(ORG_ID_PATTERN)
_SANDBOX_NAME = re.compile(SANDBOX_NAME_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What a template renders for a missing value; never a real id or etag.
_RENDERED_NOTHING = ("", "none", "null")
_TEMPLATE_HINT = "a template that rendered 'None' usually pulled an XCom that does not exist"


def rendered_nothing(value: Any) -> bool:
    """Whether `value` is what a template renders for a missing value (None, `None`, `null`,
    blank): given, but empty."""
    return value is None or (isinstance(value, str) and value.strip().lower() in _RENDERED_NOTHING)


class OfferType(str, Enum):
    """The two kinds of offer, as Adobe's `offer-type` query parameter spells them."""

    FALLBACK = "fallback"
    PERSONALIZED = "personalized"

    def __str__(self) -> str:
        return self.value


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_whole_number(value: Any) -> bool:
    """An int (not a bool) or a string of digits, as a template renders one."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and bool(_DIGITS.fullmatch(value.strip()))
    )


def _invalid(field: str, value: Any, problem: str) -> InvalidInputError:
    return InvalidInputError(field, f"{value!r} {problem}")


def parse_offer_type(value: Any, field: str = "offer_type") -> OfferType:
    """`fallback` or `personalized`, in any case (see the module docstring)."""
    if isinstance(value, OfferType):
        return value
    try:
        return OfferType(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(repr(t.value) for t in OfferType)
        raise _invalid(field, value, f"is not an offer type: expected one of {choices}") from None


def parse_id(value: Any, field: str = "offer_id") -> str:
    """An object id: a non-empty string, blanks around it removed, that stays one segment of
    the object's URL path.

    Adobe's ids never hold `/`, control characters or nothing but dots; the HTTP layer would
    drop `.` and `..` as dot segments, so `DELETE .../offers/..` would reach the collection.
    A template that rendered nothing (`None`, `null`, blank) is refused with a hint.
    """
    if not isinstance(value, str):
        raise _invalid(field, value, "is not an id: expected a non-empty string")
    text = value.strip()
    if rendered_nothing(text):
        raise _invalid(
            field, value, f"is not an id: expected a non-empty string ({_TEMPLATE_HINT})"
        )
    if "/" in text or _CONTROL.search(text) or text in (".", ".."):
        raise _invalid(
            field,
            value,
            "is not an id: ids hold no '/' or control characters and are not '.' or '..' "
            "(they would leave the object's URL path)",
        )
    return text


def parse_org_id(value: Any, field: str = "org_id") -> str:
    """An IMS org id (`1234ABCD5678EF90@AdobeOrg`), blanks around it removed: every call with
    another value fails at the gateway, so it is refused before the first one."""
    org_id = value.strip() if isinstance(value, str) else value
    if not isinstance(org_id, str) or not _ORG_ID.match(org_id):
        raise _invalid(
            field, value, "is not an IMS org id: expected letters and digits then @AdobeOrg"
        )
    return org_id


def parse_sandbox_name(value: Any, field: str = "sandbox_name") -> str:
    """A sandbox technical name: lower case (adobe-auth-and-clients.md 3.7); the title the UI
    shows is not one, and the gateway answers another value with a cryptic error."""
    name = value.strip() if isinstance(value, str) else value
    if not isinstance(name, str) or not _SANDBOX_NAME.fullmatch(name):
        lower = " (sandbox technical names are lower case)" if name != str(name).lower() else ""
        raise _invalid(
            field,
            value,
            f"is not a sandbox technical name{lower}: lower-case letters, digits, '-' and '_', "
            "e.g. 'prod' or 'dev-2' (the name, not the title the UI shows)",
        )
    return name


def parse_if_exists(value: Any, field: str = "if_exists") -> IfExists:
    """What a create-by-name step does when the name is taken: update, skip or fail."""
    if value not in IF_EXISTS_MODES:
        raise _invalid(field, value, f"is not one of {', '.join(IF_EXISTS_MODES)}")
    return value


_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def parse_bool(value: Any, field: str, *, default: bool | None = None) -> bool:
    """A yes/no setting as a bool, or the text a template or form renders (`true`/`false`,
    `yes`/`no`, `1`/`0`, any case). Blank is `default` where there is one (an unset extra);
    anything else is refused, never guessed (`bool("false")` is True: `prune="false"` must
    not prune)."""
    if _is_blank(value) and default is not None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _invalid(field, value, "is not a yes/no value: expected true/false, yes/no or 1/0")


def _whole_number(value: Any, field: str) -> int:
    if not _is_whole_number(value):
        raise _invalid(field, value, "is not a whole number")
    return int(value)


def parse_item_count(value: Any, field: str = "item_count") -> int:
    """How many options a decision returns: a whole number from 1 to 30 (int or digits)."""
    count = _whole_number(value, field)
    if not 1 <= count <= MAX_ITEM_COUNT:
        raise _invalid(field, value, f"is not between 1 and {MAX_ITEM_COUNT}")
    return count


def parse_context_data(value: Any, field: str = "context_data") -> list[dict[str, Any]]:
    """XDM context items: each an object with a non-empty `@type` string and an `xdm:data`
    object (Adobe's decisioning schema, `profile-reference.xdm:contextData`); other members
    pass through."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise InvalidInputError(field, "expected a list of {'@type': ..., 'xdm:data': {...}}")
    items = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError(where, "expected an object with '@type' and 'xdm:data'")
        if not isinstance(item.get("@type"), str) or not item["@type"].strip():
            raise InvalidInputError(f"{where}.@type", "is required: the context's schema URI")
        if not isinstance(item.get("xdm:data"), Mapping):
            raise InvalidInputError(f"{where}.xdm:data", "is required: an object")
        items.append(dict(item))
    return items


def parse_max_concurrency(value: Any, field: str = "max_concurrency") -> int:
    """How many writes a sync sends at once: a whole number, at least 1 (int or digits)."""
    count = _whole_number(value, field)
    if count < 1:
        raise _invalid(field, value, "is less than 1")
    return count


def parse_timeout(value: Any, field: str = "timeout") -> float | None:
    """Seconds to wait for one HTTP request: a positive number (or its string); blank is None."""
    if _is_blank(value):
        return None
    if not isinstance(value, bool):
        try:
            seconds = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            seconds = None
        if seconds is not None and 0 < seconds < float("inf"):
            return seconds
    raise _invalid(field, value, "is not a timeout: expected a positive number of seconds")


def parse_max_attempts(value: Any, field: str = "max_attempts") -> int | None:
    """How often a retryable request is tried in all: a whole number from 1 (int or digits);
    blank is None."""
    if _is_blank(value):
        return None
    if not _is_whole_number(value):
        raise _invalid(field, value, "is not a whole number of attempts")
    if int(value) < 1:
        raise _invalid(field, value, "is not at least 1 (1 means no retry)")
    return int(value)


def parse_max_retry_after(value: Any, field: str = "max_retry_after") -> float | None:
    """The longest `Retry-After` waited in-process: seconds, zero or more (or their string);
    blank is None."""
    if _is_blank(value):
        return None
    if not isinstance(value, bool):
        try:
            seconds = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            seconds = None
        if seconds is not None and 0 <= seconds < float("inf"):
            return seconds
    raise _invalid(field, value, "is not a wait: expected a number of seconds, 0 or more")


def parse_etag(value: Any, field: str = "since_etag") -> int | None:
    """An etag given as an int or as the string a Jinja template renders it to; blank is None."""
    if _is_blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    problem = "is not an etag: expected a non-negative integer (an int or a string of digits)"
    if isinstance(value, str) and value.strip().lower() in ("none", "null"):
        problem = f"{problem}; {_TEMPLATE_HINT}"
    elif isinstance(value, float) and value.is_integer() and value >= 0:
        problem = f"{problem}, e.g. {int(value)} (a float is not an etag)"
    raise _invalid(field, value, problem)


def same_etag(a: Any, b: Any) -> bool:
    """Etags are opaque tokens: `3` and `"3"` are the same version (Adobe's pages show both)."""
    if a is None or b is None:
        return a is b
    return str(a).strip() == str(b).strip()


def format_instant(moment: datetime) -> str:
    """The one way we write a date-time: UTC, milliseconds, `+00:00` (Adobe's example form);
    `parse_modified` reads it and every form Adobe's pages show."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_modified(
    value: Any, field: str = "since_modified", *, assume_utc: bool = False
) -> datetime | None:
    """An aware datetime from a datetime or an ISO-8601 string with `Z` or an offset.

    A caller's time without an offset is refused (ambiguous); `assume_utc` is for times read
    from Adobe, which means UTC when it writes none.
    """
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
        if assume_utc:
            return parsed.replace(tzinfo=timezone.utc)
        raise _invalid(field, value, "has no UTC offset: add 'Z' or an offset such as '+02:00'")
    return parsed
