"""A sandbox's setup written as a whole-setup document: what a promotion starts from.

Ids become `{"name": ...}` references, server-managed members and the catalog's marker are
dropped, objects are sorted by name and members by key, so two exports differ exactly where
the setups do, and an export synced into another sandbox and exported again is the same
document. Experience Decisioning's objects are never exported (`document.Sandbox`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_offers.api.catalog import document
from airflow_provider_offers.api.catalog.kinds import BY_KEY, KINDS, reference_sites
from airflow_provider_offers.api.catalog.plan import MARKER, CatalogError, JsonDict
from airflow_provider_offers.api.errors import InvalidInputError


def export_setup(
    sandbox: document.Sandbox,
    kinds: Iterable[str] | None = None,
    decisions: Iterable[str] | None = None,
) -> JsonDict:
    """The document of `sandbox`'s setup: every kind, or those of `kinds`; with `decisions`
    (names), only those decisions and what they need."""
    chosen = list(BY_KEY) if kinds is None else list(kinds)
    unknown = [key for key in chosen if key not in BY_KEY]
    if unknown:
        raise InvalidInputError(
            "kinds", f"{unknown} are not kinds (expected some of {list(BY_KEY)})"
        )
    objects = sandbox.objects if decisions is None else needed_by(sandbox, list(decisions))
    names = sandbox.names_by_id()
    problems = []
    exported: JsonDict = {}
    for kind in KINDS:
        if kind.key not in chosen:
            continue
        bodies = []
        for obj in sorted(objects[kind.key], key=lambda o: (str(o.get("name")), str(o.get("id")))):
            if str(obj.get("id")) not in names[kind.key]:
                problems.append(
                    f"{kind.key}: several are named {obj.get('name')!r} ({obj.get('id')})"
                )
                continue
            bodies.append(
                _sorted(document.named(kind, _unmarked(kind.resource.sendable(obj)), names))
            )
        exported[kind.key] = bodies
    if problems:
        raise CatalogError(
            "; ".join(problems) + ": a document names each object once; rename one, then export"
        )
    return exported


def _unmarked(body: JsonDict) -> JsonDict:
    """The body without the catalog's marker: the sync sets it on what it creates."""
    characteristics = body.get("characteristics")
    if isinstance(characteristics, Mapping) and MARKER in characteristics:
        rest = {k: v for k, v in characteristics.items() if k != MARKER}
        body = {k: v for k, v in body.items() if k != "characteristics"}
        if rest:
            body["characteristics"] = rest
    return body


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def needed_by(sandbox: document.Sandbox, decisions: list[str]) -> dict[str, list[JsonDict]]:
    """The named decisions and every object they reach: their references, the offers their
    collections list or pick by tag, and what those offers reference."""
    by_id = {
        key: {str(o.get("id")): o for o in objects} for key, objects in sandbox.objects.items()
    }
    missing = [name for name in decisions if not sandbox.ids_named("decisions", name)]
    if missing:
        raise InvalidInputError("decisions", f"no decision named {', '.join(map(repr, missing))}")
    todo = [("decisions", i) for name in decisions for i in sandbox.ids_named("decisions", name)]
    seen: set[tuple[str, str]] = set()
    while todo:
        key, object_id = todo.pop()
        obj = by_id[key].get(object_id)
        if obj is None or (key, object_id) in seen:
            continue
        seen.add((key, object_id))
        todo.extend(
            (site.target, site.value)
            for site in reference_sites(BY_KEY[key], obj)
            if isinstance(site.value, str)
        )
        if key == "collections" and obj.get("filterType") != "offers":
            tags = set(obj.get("ids") or ())
            todo.extend(
                ("personalized_offers", str(o.get("id")))
                for o in sandbox.objects["personalized_offers"]
                if tags & set(o.get("tags") or ())
            )
    return {
        key: [o for o in objects if (key, str(o.get("id"))) in seen]
        for key, objects in sandbox.objects.items()
    }


def dump_document(exported: Mapping[str, Any], suffix: str) -> str:
    """The document as text: YAML for `.yaml`/`.yml`, else JSON (2-space indent, sorted)."""
    if suffix.lower() in (".yaml", ".yml"):
        import yaml  # type: ignore[import-untyped]

        return yaml.safe_dump(dict(exported), sort_keys=True, allow_unicode=True, width=100)
    return json.dumps(exported, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
