"""JSON Patch computation for declarative offer updates, guarded against concurrent writers.

Pure functions over plain JSON (dicts and lists), no I/O: the operators use them, and anyone
can reuse them outside Airflow.

Guarding. A patch is computed from a snapshot of the entity. DPS documents no `If-Match` (see
offer-library-api.md section 12), so the only optimistic-concurrency tool Adobe documents is
the JSON Patch `test` op (section 3.2). Every top-level member a patch touches and that exists
in the snapshot gets one `test` op, placed first, with its value in the snapshot. If any of
those members changed since the read, the server rejects the whole patch (RFC 6902: a patch is
atomic) and the caller re-reads and recomputes. When the tests pass, the touched members are
exactly what the patch was computed from, so the result is exactly what was intended; members
the patch does not touch are never part of it, so concurrent changes there are kept.
Members that are absent in the snapshot cannot be tested (RFC 6902 has no "absent" test); an
`add` there sets the member whatever a concurrent writer put in, which is the declared value.

Server JSON, as sent. The snapshot is the JSON the server returned (`AdobeModel.raw_json()`),
never a re-serialised model, so a `test` compares the server's value with itself. Whether a
member differs is decided on a canonical form (`canonical`): date-time members (`...Date`,
`created`, `modified`) as the same instant in UTC to the millisecond, whatever offset or
precision the server wrote; dict member order never matters. A desired value that differs only
in form sends no PATCH.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonpatch

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import format_instant, parse_modified

JsonDict = dict[str, Any]

# The ops Adobe documents for DPS PATCH (offer-library-api.md 3.2); computed patches use only
# these, so `move` and `copy` that jsonpatch may produce are rewritten as remove/add.
_DOCUMENTED_OPS = {"add", "remove", "replace", "test"}


def _is_date_member(key: str | None) -> bool:
    return key is not None and (key.endswith("Date") or key in ("created", "modified"))


def canonical(value: Any, key: str | None = None) -> Any:
    """`value` with every date-time member as UTC milliseconds (Adobe's example form)."""
    if isinstance(value, Mapping):
        return {k: canonical(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, str) and _is_date_member(key):
        try:
            moment = parse_modified(value, key or "date")
        except InvalidInputError:
            return value
        if moment is None:
            return value
        return format_instant(moment)
    return value


def _member(path: str) -> str:
    """The top-level member a JSON Pointer starts in (unescaped), '' for the root."""
    if not path:
        return ""
    token = path.split("/", 2)[1]
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(member: str) -> str:
    return "/" + member.replace("~", "~0").replace("/", "~1")


def touched_members(operations: Iterable[Mapping[str, Any]]) -> list[str]:
    """Top-level members written by the operations (`path` and `from` of non-test ops), in order."""
    seen: dict[str, None] = {}
    for op in operations:
        if op["op"] == "test":
            continue
        for key in ("from", "path"):
            if key in op:
                seen.setdefault(_member(op[key]), None)
    return list(seen)


def guard(snapshot: Mapping[str, Any], operations: Sequence[Mapping[str, Any]]) -> list[JsonDict]:
    """Prefix `operations` with `test` ops pinning every touched member to its snapshot value."""
    if any(_member(op.get("path", "")) == "" and op["op"] != "test" for op in operations):
        raise ValueError("operations that replace the whole document cannot be guarded")
    tests = [
        {"op": "test", "path": _pointer(member), "value": copy.deepcopy(snapshot[member])}
        for member in touched_members(operations)
        if member in snapshot
    ]
    return tests + [dict(op) for op in operations]


def _documented_ops(source: JsonDict, operations: list[JsonDict]) -> list[JsonDict]:
    """Rewrite `move`/`copy` as `remove`/`add` with explicit values (applied in sequence)."""
    state = copy.deepcopy(source)
    result: list[JsonDict] = []
    for op in operations:
        if op["op"] in ("move", "copy"):
            value = jsonpatch.JsonPointer(op["from"]).resolve(state)
            rewritten = [{"op": "add", "path": op["path"], "value": copy.deepcopy(value)}]
            if op["op"] == "move":
                rewritten.insert(0, {"op": "remove", "path": op["from"]})
        else:
            rewritten = [op]
        for new_op in rewritten:
            state = jsonpatch.apply_patch(state, [new_op])
            result.append(new_op)
    return result


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON: what `jsonpatch.make_patch` finds no operation for (1, 1.0 and True
    differ, dict member order does not), at the cost of two C-encoded dumps."""
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):  # not plain JSON: let jsonpatch compare it
        return False


def update_patch(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> list[JsonDict]:
    """The smallest guarded patch bringing `existing`'s members named in `desired` to `desired`.

    Members of `existing` that `desired` does not name are left alone. Empty when nothing
    differs but form (so callers send no PATCH at all). `existing` is the server's JSON; the
    `test` ops carry its values as they are.
    """
    projection = {key: existing[key] for key in desired if key in existing}
    if _same_json(projection, desired):  # most offers of a re-sync: skip the diff entirely
        return []
    projection = {key: canonical(value, key) for key, value in projection.items()}
    target = canonical(dict(desired))
    if _same_json(projection, target):
        return []
    operations = _documented_ops(projection, jsonpatch.make_patch(projection, target).patch)
    if not operations:
        return []
    return guard(existing, operations)


def expected_members(
    snapshot: Mapping[str, Any], operations: Sequence[Mapping[str, Any]]
) -> JsonDict:
    """What the touched members will be once `operations` apply to `snapshot`.

    Returned as {"present": {member: value}, "absent": [member, ...]}, JSON-serialisable so it
    can be remembered across task retries and compared with a later read (`holds`).
    """
    after = jsonpatch.apply_patch(dict(snapshot), [dict(op) for op in operations])
    members = touched_members(operations)
    return {
        "present": {m: after[m] for m in members if m in after},
        "absent": [m for m in members if m not in after],
    }


def holds(entity: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    """True if `entity` shows the member values recorded by `expected_members`."""
    present = all(
        canonical(entity.get(m, _MISSING), m) == canonical(v, m)
        for m, v in expected["present"].items()
    )
    return present and not any(m in entity for m in expected["absent"])


_MISSING = object()
