"""The approval: an approved plan compared with the one computed now, before any write.

A person approves values (`plan.Plan.entries`: each write's fields old -> new, each create's
body); `check_plan` refuses a plan that differs from the approved one in anything but the
writes an earlier run of that plan already made, and a plan that would delete an object
something still references.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from airflow_provider_offers.api.catalog.plan import RENAMED_FROM, CatalogError, JsonDict
from airflow_provider_offers.api.errors import InvalidInputError


class Approvable(Protocol):
    """What is approved: an offer catalog's `plan.Plan` or a whole setup's `graph.SetupPlan`."""

    @property
    def entries(self) -> list[JsonDict]: ...

    def blocked(self) -> list[JsonDict]: ...


def plan_entries(value: Any) -> list[JsonDict]:
    """A plan as given back to us: the entries, a sync result (`{"plan": [...]}`) or its JSON."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInputError("expected_plan", f"not valid JSON ({exc})") from None
    if isinstance(value, Mapping) and "plan" in value:
        value = value["plan"]
    if not isinstance(value, Sequence) or not all(isinstance(e, Mapping) for e in value):
        raise InvalidInputError("expected_plan", "expected a list of plan entries or a result")
    return [dict(entry) for entry in value]


def _key(entry: Mapping[str, Any]) -> tuple[str, str]:
    # A wanted name is one entry whatever its id (a create becomes an offer); a pruned offer
    # is one entry per id (a catalog may have made two of one name by hand... or by accident).
    # A whole-setup plan names the kind too: "placements/web".
    pruned = entry.get("action") in ("delete", "blocked")
    label = f"{entry['kind']}/{entry.get('name')}" if entry.get("kind") else str(entry.get("name"))
    return label, str(entry.get("id") or "") if pruned else ""


def _already_applied(before: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> bool:
    """An approved write that a run of the same plan already made (a retry after a partial
    apply): the create or update now shows as unchanged, the delete as gone."""
    if before is None:
        return False
    if now is None:
        return before.get("action") == "delete"
    return before.get("action") in ("create", "update") and now.get("action") == "unchanged"


def drift(expected: Sequence[Mapping[str, Any]], plan: Approvable) -> list[str]:
    """Names whose entries differ between the approved plan and the one computed now, leaving
    out the approved writes that are already done."""
    return sorted(differences(expected, plan))


def differences(expected: Sequence[Mapping[str, Any]], plan: Approvable) -> dict[str, list[str]]:
    """name -> what differs from the approved plan (action, id, etag, each field's value),
    leaving out the approved writes that are already done."""
    before = {_key(e): e for e in expected}
    now = {_key(e): e for e in plan.entries}
    found: dict[str, list[str]] = {}
    for key in sorted(before.keys() | now.keys()):
        a, b = before.get(key), now.get(key)
        if a is not None and b is not None and _canonical(a) == _canonical(b):
            continue
        if _already_applied(a, b):
            continue
        found.setdefault(key[0], []).extend(_what_differs(a, b))
    return found


def _what_differs(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[str]:
    if a is None:
        return [f"not in the approved plan, now {b and b.get('action')}"]
    if b is None:
        return [f"approved {a.get('action')}, now not planned"]
    lines = [
        f"{member} approved {_short(a.get(member))}, now {_short(b.get(member))}"
        for member in ("action", "id", "etag", RENAMED_FROM)
        if _canonical(a.get(member)) != _canonical(b.get(member))
    ]
    for member in ("changes", "body"):
        old, new = a.get(member) or {}, b.get(member) or {}
        for field in sorted(old.keys() | new.keys()):
            if _canonical(old.get(field)) != _canonical(new.get(field)):
                lines.append(
                    f"{field} approved {_short(old.get(field))}, now {_short(new.get(field))}"
                )
    return lines or ["the entry differs"]


def _short(value: Any, limit: int = 60) -> str:
    text = "-" if value is None else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def referenced_by(entry: Mapping[str, Any]) -> str:
    """What keeps a blocked offer: "is the fallback of decision(s) ..., is listed by ..."."""
    parts = []
    if entry.get("decisions"):
        parts.append("is the fallback of decision(s) " + ", ".join(entry["decisions"]))
    if entry.get("collections"):
        parts.append("is listed by collection(s) " + ", ".join(entry["collections"]))
    return " and ".join(parts)


def check_plan(plan: Approvable, *, expected: Any = None, skip_blocked: bool = False) -> None:
    """Refuse, before any write, a plan that drifted from the approved one (naming each offer
    and what differs) or deletes an offer something in the sandbox still references."""
    if expected is not None:
        drifted = differences(plan_entries(expected), plan)
        if drifted:
            raise CatalogError(
                "the plan changed since it was approved, for "
                + ", ".join(repr(name) for name in drifted)
                + " ("
                + "; ".join(f"{name!r}: {', '.join(lines)}" for name, lines in drifted.items())
                + "); nothing was written"
            )
    blocked = plan.blocked()
    if blocked and not skip_blocked:
        lines = [f"offer {e['name']!r} ({e['id']}) {referenced_by(e)}" for e in blocked]
        raise CatalogError(
            "; ".join(lines) + "; not deleting it (skip_blocked=True skips such offers); "
            "nothing was written"
        )
