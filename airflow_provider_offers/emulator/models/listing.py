"""List queries: the `property` filter grammar, `orderby`, and the `start` cursor."""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import problem
from .entities import parse_datetime

_EXPRESSION = re.compile(
    r"^(?P<neg>!)?(?P<field>[A-Za-z_@$][\w.:@$-]*?)(?:(?P<op>==|!=|<=|>=|<|>|~)(?P<value>.*))?$",
    re.DOTALL,
)
_FIELD = re.compile(r"^[A-Za-z_@$][\w.:@$-]*$")


def leaf_values(document: Any, path: list[str]) -> list[Any]:
    """All values at a dot path, walking into lists (`representations.placement`)."""
    if isinstance(document, list):
        return [v for item in document for v in leaf_values(item, path)]
    if not path:
        return [] if document is None else [document]
    if not isinstance(document, dict) or path[0] not in document:
        return []
    return leaf_values(document[path[0]], path[1:])


def _compare(actual: Any, raw: str) -> int | None:
    """-1/0/1 comparing a stored value with a filter's text, or None if they don't compare."""
    if isinstance(actual, bool):
        if raw.lower() not in ("true", "false"):
            return None
        other: Any = raw.lower() == "true"
    elif isinstance(actual, (int, float)):
        try:
            other = float(raw)
        except ValueError:
            return None
    elif isinstance(actual, str):
        right = parse_datetime(raw)
        left = parse_datetime(actual) if right is not None else None
        if left is not None and right is not None:
            actual, other = left, right
        else:
            other = raw
    else:
        return None
    return (actual > other) - (actual < other)


@dataclass(frozen=True)
class Expression:
    negate: bool
    path: list[str]
    op: str | None
    value: str
    pattern: re.Pattern | None
    full_match: bool

    def matches(self, document: dict) -> bool:
        values = leaf_values(document, self.path)
        if self.op is None:
            result = bool(values)
        elif self.op == "!=":
            result = not any(_compare(v, self.value) == 0 for v in values)
        elif self.op == "~":
            assert self.pattern is not None  # parse_filters compiles it for every "~"
            match = self.pattern.fullmatch if self.full_match else self.pattern.search
            result = any(
                not isinstance(v, (dict, list)) and match(_text(v)) is not None for v in values
            )
        else:
            wanted = {"==": {0}, "<": {-1}, ">": {1}, "<=": {-1, 0}, ">=": {0, 1}}[self.op]
            result = any(_compare(v, self.value) in wanted for v in values)
        return result != self.negate


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_filters(values: list[str], full_match: bool) -> list[Expression]:
    """`property` values (already URL-decoded); repeated or comma-joined expressions AND."""
    expressions = []
    for value in values:
        for part in value.split(","):
            match = _EXPRESSION.match(part)
            if not part or match is None:
                raise problem(400, f"property: cannot parse filter expression {part!r}", code=1002)
            op, raw = match["op"], match["value"] or ""
            pattern = None
            if op == "~":
                try:
                    pattern = re.compile(raw)
                except re.error as exc:
                    raise problem(
                        400, f"property: bad regular expression {raw!r}: {exc}", code=1002
                    ) from exc
            expressions.append(
                Expression(
                    bool(match["neg"]), match["field"].split("."), op, raw, pattern, full_match
                )
            )
    return expressions


def parse_orderby(value: str) -> list[tuple[str, bool]]:
    """`orderby=id,-name` -> [("id", False), ("name", True)] (True = descending)."""
    fields = []
    for part in value.split(","):
        descending = part.startswith("-")
        name = part[1:] if descending else part
        if not _FIELD.match(name):
            raise problem(400, f"orderby: cannot sort by {part!r}", code=1002)
        fields.append((name, descending))
    return fields


def _sort_value(document: dict, field: str) -> Any:
    values = leaf_values(document, field.split("."))
    value = values[0] if values else None
    return value if isinstance(value, (bool, int, float, str)) else None


def _rank(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    return (3, value)


def sort_key(document: dict, order: list[tuple[str, bool]]) -> list[Any]:
    """The cursor key of a document: its sort values, then its id as the tiebreak."""
    return [_sort_value(document, f) for f, _ in order] + [document.get("id")]


def key_comparator(order: list[tuple[str, bool]]) -> Callable[[list, list], int]:
    """Compare two keys: each sort field in its direction, then the id ascending."""
    directions = [desc for _, desc in order] + [False]

    def compare(a: list, b: list) -> int:
        for left, right, desc in zip(a, b, directions, strict=True):
            lr, rr = _rank(left), _rank(right)
            result = (lr > rr) - (lr < rr)
            if result:
                return -result if desc else result
        return 0

    return compare


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str, length: int) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise problem(400, f"start: not a cursor this server issued: {value!r}", code=1002) from exc
    if not isinstance(key, list) or len(key) != length:
        raise problem(400, "start: cursor does not match this orderby", code=1002)
    return key


@dataclass
class Page:
    results: list[dict]
    total: int
    next_start: str | None
    prev_start: str | None  # "" means: the first page (no start parameter)


def sort_documents(documents: list[dict], order: list[tuple[str, bool]]) -> list[tuple[list, dict]]:
    """(cursor key, document) pairs in list order: what `page_of` cuts pages from."""
    by_key = functools.cmp_to_key(key_comparator(order))
    return sorted(((sort_key(d, order), d) for d in documents), key=lambda pair: by_key(pair[0]))


def page_of(
    keyed: list[tuple[list, dict]], order: list[tuple[str, bool]], limit: int, start: str | None
) -> Page:
    """The `limit` documents strictly after the cursor (keyset paging) of sorted pairs."""
    by_key = functools.cmp_to_key(key_comparator(order))
    index = 0
    if start is not None:
        cursor = by_key(decode_cursor(start, len(order) + 1))
        index = bisect.bisect_right(keyed, cursor, key=lambda pair: by_key(pair[0]))
    page = keyed[index : index + limit]
    next_start = encode_cursor(page[-1][0]) if index + limit < len(keyed) and page else None
    prev_start = None
    if index > 0:
        first = max(0, index - limit)
        prev_start = "" if first == 0 else encode_cursor(keyed[first - 1][0])
    return Page([d for _, d in page], len(keyed), next_start, prev_start)
