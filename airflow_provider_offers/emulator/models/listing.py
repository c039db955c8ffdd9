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


def _own_cursor(value: str, length: int) -> list[Any] | None:
    """The key of a cursor `encode_cursor` made, or None if `value` is not one."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return key if isinstance(key, list) and len(key) == length else None


#: An Adobe-form `start`'s tie-breaker: `~` and the id of the first object of the page, added
#: only when the object before it has the same sort value (`...048Z~dps:tag:1a2b`).
_TIE_BREAKER = re.compile(r"^(?P<value>.*)~(?P<id>\w+:[\w-]+:\w+)$", re.DOTALL)


def _adobe_text(value: Any) -> str | None:
    """A sort value as an Adobe-form `start` shows it (None: it cannot show this one)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)) and value != "":
        return str(value)
    return None


def adobe_start(keyed: list[tuple[list, dict]], index: int, order: list) -> str | None:
    """Adobe's form of a `start` whose page begins at `keyed[index]`: the value of the sort
    field there (a `modified` timestamp, an id), plus `~<id>` only if `keyed[index - 1]` has
    the same value. Adobe's ranking-formula list shows such a page start (its next link's
    `start` is earlier than the last `-modified` object shown). None where that form cannot
    hold the position (several sort fields, a missing or empty value): use our own cursor."""
    if len(order) != 1:
        return None
    key = keyed[index][0]
    text = _adobe_text(key[0])
    if text is None:
        return None
    tied = index > 0 and _compare(keyed[index - 1][0][0], text) == 0
    return f"{text}~{key[1]}" if tied else text


def _from_adobe_start(token: str, order: list[tuple[str, bool]]) -> Callable[[list], bool]:
    """Whether a key is on a page that begins at an Adobe-form `start`: its first sort value
    is the token's or past it in the listing's direction, and if equal, its id is the
    tie-breaker's or past it (ids ascend; a tie-breaker only with one sort field, the only
    form this server issues)."""
    tie = _TIE_BREAKER.match(token) if len(order) == 1 else None
    text, tie_id = (tie["value"], tie["id"]) if tie else (token, None)
    descending = order[0][1]

    def on_or_after(key: list) -> bool:
        compared = _compare(key[0], text)
        if compared is None:  # a value of another type than the token's: order by type
            lr, rr = _rank(key[0]), _rank(text)
            compared = (lr[0] > rr[0]) - (lr[0] < rr[0])
        if descending:
            compared = -compared
        if compared:
            return compared > 0
        return tie_id is None or str(key[1]) >= tie_id

    return on_or_after


def start_index(keyed: list[tuple[list, dict]], order: list, start: str) -> int:
    """Where the page after `start` begins: keyset paging on the emulator's own cursor, or on
    an Adobe-form value of the first sort field, where the page begins (any other text is
    read as one)."""
    key = _own_cursor(start, len(order) + 1)
    if key is not None:
        by_key = functools.cmp_to_key(key_comparator(order))
        return bisect.bisect_right(keyed, by_key(key), key=lambda pair: by_key(pair[0]))
    on_or_after = _from_adobe_start(start, order)
    return next((i for i, (k, _) in enumerate(keyed) if on_or_after(k)), len(keyed))


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
    keyed: list[tuple[list, dict]],
    order: list[tuple[str, bool]],
    limit: int,
    start: str | None,
    adobe_form: bool = False,
) -> Page:
    """The `limit` documents from `start` (keyset paging) of sorted pairs; links' `start` in
    Adobe's form where it can hold the position (`adobe_form`), else our cursor (which names
    the object before the page)."""

    def begin_at(index: int) -> str:
        adobe = adobe_start(keyed, index, order) if adobe_form else None
        return adobe if adobe is not None else encode_cursor(keyed[index - 1][0])

    index = start_index(keyed, order, start) if start else 0
    page = keyed[index : index + limit]
    next_start = begin_at(index + limit) if index + limit < len(keyed) else None
    prev_start = None
    if index > 0:
        first = max(0, index - limit)
        prev_start = "" if first == 0 else begin_at(first)
    return Page([d for _, d in page], len(keyed), next_start, prev_start)
