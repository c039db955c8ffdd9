"""The plan as a person reads it: a text table for the task log, Markdown for the approval.

The approval text shows the values each write writes (old -> new for an update, each member
of a create): a long value is cut around its first difference, so a change always shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_offers.api.catalog.plan import COUNTS, RENAMED_FROM

WIDTH = 80  # characters of one value shown; longer ones are cut around the change
CONTEXT = 20  # unchanged characters shown before the first difference

_COLUMNS = ("action", "name", "id", "fields", "etag")
_SETUP_COLUMNS = ("action", "kind", "name", "id", "fields", "etag")  # a whole-setup plan


def _columns(entries: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return _SETUP_COLUMNS if any(entry.get("kind") for entry in entries) else _COLUMNS


def _summary(entries: Sequence[Mapping[str, Any]]) -> str:
    counts = dict.fromkeys(COUNTS, 0)
    for entry in entries:
        counts[entry["action"]] += 1
    nothing = "no objects" if _columns(entries) == _SETUP_COLUMNS else "no offers"
    return ", ".join(f"{n} {COUNTS[action]}" for action, n in counts.items() if n) or nothing


def _rows(entries: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per entry that is not `unchanged` (a large catalog is mostly unchanged)."""
    rows = []
    entries = list(entries)
    setup = _columns(entries) == _SETUP_COLUMNS
    for entry in entries:
        if entry["action"] == "unchanged":
            continue
        fields = ", ".join(entry.get("fields") or ())
        used = []
        if entry.get("decisions"):
            used.append("fallback of " + ", ".join(entry["decisions"]))
        if entry.get("collections"):
            used.append("in collection(s) " + ", ".join(entry["collections"]))
        if used:
            fields = "; ".join(used)
        rows.append(
            [
                str(entry["action"]),
                *([str(entry.get("kind"))] if setup else []),
                str(entry.get("name")),
                str(entry.get("id") or "-"),
                fields or "-",
                "-" if entry.get("etag") is None else str(entry["etag"]),
            ]
        )
    return rows


def plan_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """The plan as a fixed-width text table (the task log), after a one-line summary."""
    rows = _rows(entries)
    if not rows:
        return f"{_summary(entries)}: nothing to change"
    rows.insert(0, list(_columns(entries)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([_summary(entries), *(line.rstrip() for line in lines)])


def plan_markdown(entries: Sequence[Mapping[str, Any]]) -> str:
    """The plan as Markdown (the approval form in the Airflow UI): a summary and a table."""

    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    rows = _rows(entries)
    if not rows:
        return f"**{_summary(entries)}**: nothing to change."
    columns = _columns(entries)
    table = [cells(columns), cells(["---"] * len(columns)), *map(cells, rows)]
    values = _values(entries)
    tail = ["", "**Values written**", "", *values] if values else []
    return "\n".join([f"**{_summary(entries)}**", "", *table, *tail])


def _values(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """One bullet per write carrying values: each changed field old -> new, each created one."""
    lines = []
    for entry in entries:
        what = f"{entry['action']}, {entry['id']}" if entry.get("id") else str(entry["action"])
        if entry.get(RENAMED_FROM):
            what += f", renamed from {_code(json.dumps(entry[RENAMED_FROM]))}"
        parts = []
        for field, change in (entry.get("changes") or {}).items():
            old = _text(change["old"]) if "old" in change else None
            new = _text(change.get("new"))
            if old is None:
                parts.append(f"{_code(field)}: (absent) → {_code(_cut(new, 0))}")
            else:
                shown_old, shown_new = shorten(old, new)
                parts.append(f"{_code(field)}: {_code(shown_old)} → {_code(shown_new)}")
        for field, value in (entry.get("body") or {}).items():
            parts.append(f"{_code(field)}: {_code(_cut(_text(value), 0))}")
        if parts:
            name = f"{entry['kind']}/{entry['name']}" if entry.get("kind") else str(entry["name"])
            lines.append(f"- {_code(name)} ({what}): " + "; ".join(parts))
    return lines


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _cut(text: str, start: int) -> str:
    """`text` from `start` (minus some context), at most WIDTH characters, `…` where cut."""
    begin = max(0, start - CONTEXT) if len(text) > WIDTH else 0
    shown = text[begin : begin + WIDTH]
    return ("…" if begin else "") + shown + ("…" if begin + WIDTH < len(text) else "")


def shorten(old: str, new: str) -> tuple[str, str]:
    """Both texts, each cut to about WIDTH characters starting a little before where they
    first differ, so that the difference is in what is shown."""
    if len(old) <= WIDTH and len(new) <= WIDTH:
        return old, new
    first = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    return _cut(old, first), _cut(new, first)


def _code(text: str) -> str:
    """Inline code (no Markdown or HTML in a value takes effect)."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"
