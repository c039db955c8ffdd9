"""The plan as a person reads it: a text table for the task log, Markdown for the approval."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_offers.api.catalog.plan import COUNTS

_COLUMNS = ("action", "name", "id", "fields", "etag")


def _summary(entries: Sequence[Mapping[str, Any]]) -> str:
    counts = dict.fromkeys(COUNTS, 0)
    for entry in entries:
        counts[entry["action"]] += 1
    return ", ".join(f"{n} {COUNTS[action]}" for action, n in counts.items() if n) or "no offers"


def _rows(entries: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per entry that is not `unchanged` (a large catalog is mostly unchanged)."""
    rows = []
    for entry in entries:
        if entry["action"] == "unchanged":
            continue
        fields = ", ".join(entry.get("fields") or ())
        if entry.get("decisions"):
            fields = "fallback of " + ", ".join(entry["decisions"])
        rows.append(
            [
                str(entry["action"]),
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
    rows.insert(0, list(_COLUMNS))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
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
    table = [cells(_COLUMNS), cells(["---"] * len(_COLUMNS)), *map(cells, rows)]
    return "\n".join([f"**{_summary(entries)}**", "", *table])
