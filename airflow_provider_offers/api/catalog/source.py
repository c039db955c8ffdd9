"""The desired catalog: the offers a team wants, read from what it gave, validated.

No Airflow here. A catalog file is DATA, never a template: it is parsed (JSON, or YAML with
JSON's types only: no dates, no `yes`/`no`, no octal), never read past its size bound,
and the only way a run-time value gets into it is a whole node `{"$value": NAME}`,
replaced after parsing by `values[NAME]` as a value (never re-read as text, so a value with a
newline and `- name:` stays one string). Offer content thus reaches Adobe as written,
Journey Optimizer personalization (`{{profile.person.name.firstName}}`) included, and a file
can never reach a connection, a variable or Python code. Local files must stay inside the
folder they are given relative to (`local_source`), unless the caller opts out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from airflow_provider_offers.api.catalog.plan import MARKER, RENAMED_FROM, JsonDict
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.models import _Entity, parse_input
from airflow_provider_offers.api.resources import offer_resource

#: The largest catalog file read, in bytes (checked before the file is parsed).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: The most nodes (scalars, lists, mappings) a YAML file may expand to through its aliases.
MAX_NODES = 2_000_000
#: The one key of a node that a run-time value replaces: `{"$value": "placement"}`.
VALUE_KEY = "$value"
SUFFIXES = (".json", ".yaml", ".yml")


class CatalogFile(Protocol):
    """What a catalog file must offer: a `pathlib.Path` or Airflow's `ObjectStoragePath`."""

    name: str
    suffix: str

    def open(self, mode: str = "r") -> Any: ...

    def is_dir(self) -> bool: ...

    def iterdir(self) -> Iterable[CatalogFile]: ...


def local_source(
    location: str, folder: Path, *, allow_outside: bool = False, field: str = "offers_file"
) -> Path:
    """The local file or folder `location` names, relative to `folder` (the DAG's folder).

    A relative path must stay inside `folder` once symlinks are resolved; an absolute path or
    a `file:` URL needs `allow_outside`. The error names the location, never what the file
    holds.
    """
    if location.lower().startswith("file:"):
        path, explicit = Path(unquote(urlsplit(location).path)), True
    else:
        path = Path(location)
        explicit = path.is_absolute()
    if explicit:
        if not allow_outside:
            raise InvalidInputError(
                field,
                f"{location!r} is not relative to the DAG's folder: catalog files are read "
                "from the DAG's folder (or an object storage URL); allow_outside_dag_folder="
                "True reads any local path",
            )
        return path.resolve()
    base = folder.resolve()
    resolved = (base / path).resolve()
    if not allow_outside and not resolved.is_relative_to(base):
        raise InvalidInputError(
            field,
            f"{location!r} leads outside the DAG's folder ({base}) once '..' and symlinks are "
            "resolved; allow_outside_dag_folder=True reads it anyway",
        )
    return resolved


def catalog_files(root: CatalogFile) -> list[CatalogFile]:
    """`root` itself, or the JSON and YAML files directly in it, by name."""
    if not root.is_dir():
        return [root]
    found = [f for f in root.iterdir() if f.suffix.lower() in SUFFIXES and not f.is_dir()]
    return sorted(found, key=lambda f: f.name)


def read_text(file: CatalogFile, source: str, field: str = "offers_file") -> str:
    """The file's text, refused past `MAX_FILE_BYTES` without reading the rest."""
    with file.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInputError(field, f"{source}: larger than {MAX_FILE_BYTES:,} bytes, not read")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(field, f"{source}: not UTF-8 text (byte {exc.start})") from None


def parse_document(text: str, source: str, field: str = "offers_file") -> Any:
    """A catalog file's data: JSON (`.json`) or YAML (anything else); errors give the line and
    column, never the text."""
    if source.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise InvalidInputError(
                field, f"{source}: not valid JSON ({exc.msg} at {where})"
            ) from None
    from airflow_provider_offers.api.catalog import yaml_data

    return yaml_data.load(text, source, max_nodes=MAX_NODES)


def substitute(
    data: Any, values: Mapping[str, Any], source: str, field: str = "offers_file"
) -> Any:
    """`data` with every `{"$value": NAME}` node replaced by `values[NAME]`, as a value."""

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            if VALUE_KEY in node:
                name = node[VALUE_KEY]
                if len(node) != 1 or not isinstance(name, str):
                    raise InvalidInputError(
                        field,
                        f"{source}: {path or '/'}: a {VALUE_KEY!r} node holds only the name of "
                        'a value, e.g. {"$value": "placement"}',
                    )
                if name not in values:
                    known = ", ".join(sorted(map(repr, values))) or "none were given"
                    raise InvalidInputError(
                        "values",
                        f"{source}: {path or '/'} asks for the value {name!r}, which `values` "
                        f"does not have ({known})",
                    )
                return values[name]
            return {key: walk(value, f"{path}/{key}") for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, f"{path}/{index}") for index, value in enumerate(node)]
        return node

    return walk(data, "")


def offers_in(data: Any, source: str) -> list[Any]:
    """The offers a document holds: a list of offers, `{"offers": [...]}`, or one offer."""
    if isinstance(data, Mapping):
        data = data.get("offers", [data])
    if data is None:
        return []
    if not isinstance(data, list):
        raise InvalidInputError(
            "offers_file", f"{source}: expected a list of offers, got {type(data).__name__}"
        )
    return data


def offers_from_text(text: str, source: str, values: Mapping[str, Any] | None = None) -> list[Any]:
    """The offers in one catalog file's text, its `$value` nodes replaced from `values`."""
    return offers_in(substitute(parse_document(text, source), values or {}, source), source)


def read_catalog(root: CatalogFile, values: Mapping[str, Any] | None = None) -> list[Any]:
    """Every offer in `root` (a file, or a folder of them), in file-name order."""
    offers: list[Any] = []
    for file in catalog_files(root):
        source = str(file)
        offers.extend(offers_from_text(read_text(file, source), source, values))
    return offers


def read_document(
    root: CatalogFile, values: Mapping[str, Any] | None = None, field: str = "source"
) -> dict[str, Any]:
    """A whole-setup document from `root` (a file, or a folder of them in file-name order,
    whose lists of each kind are joined)."""
    merged: dict[str, Any] = {}
    for file in catalog_files(root):
        source = str(file)
        text = read_text(file, source, field)
        data = substitute(parse_document(text, source, field), values or {}, source, field)
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                field, f"{source}: expected a mapping of kinds to lists, got {type(data).__name__}"
            )
        for key, objects in data.items():
            joined = isinstance(merged.get(key), list) and isinstance(objects, list)
            merged[key] = [*merged[key], *objects] if joined else objects
    return merged


def _label(where: str, index: int, value: Any) -> str:
    name = value.get("name") if isinstance(value, Mapping) else None
    return f"{where}[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")


def parse_catalog(offers: Any, offer_type: str, catalog: str) -> list[JsonDict]:
    """The offers as the JSON bodies we send, validated; every problem named before any request.

    The rules are `parse_objects`'.
    """
    bodies, problems = parse_objects(offers, offer_resource(offer_type).model, catalog, "offers")
    if problems:
        raise InvalidInputError(
            "offers", f"{len(problems)} problem(s), nothing was sent: " + "; ".join(problems)
        )
    return bodies


def parse_objects(
    objects: Any, model: type[_Entity], catalog: str, where: str
) -> tuple[list[JsonDict], list[str]]:
    """The objects of one kind as the JSON bodies we send, and every problem found (each named
    by its place, `where[index]`).

    Each object is checked by the write models (`models.parse_input`); names must be unique.
    The marker is the sync's to set (on what it creates), so an object carrying it is refused
    whatever its value: given by the user it would take over a namesake made by hand.
    `renamed_from` (the object's old name, a rename in place) is kept on the body for the plan,
    which never sends it; one old name is renamed once, and not to a name the catalog keeps.
    """
    if not isinstance(objects, Sequence) or isinstance(objects, (str, bytes)):
        noun = where.replace("_", " ")
        return [], [f"{where}: expected a list of {noun}, got {type(objects).__name__}"]
    bodies: list[JsonDict] = []
    problems: list[str] = []
    renamed: dict[str, list[int]] = {}
    for index, value in enumerate(objects):
        label = _label(where, index, value)
        old_name = value.get(RENAMED_FROM) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping) and RENAMED_FROM in value:
            value = {k: v for k, v in value.items() if k != RENAMED_FROM}
            if not isinstance(old_name, str) or not old_name.strip():
                problems.append(f"{label}.{RENAMED_FROM}: {old_name!r} is not a name")
                old_name = None
            elif old_name == value.get("name"):
                problems.append(f"{label}.{RENAMED_FROM}: the object's own name")
                old_name = None
            else:
                renamed.setdefault(old_name, []).append(index)
        try:
            body = parse_input(model, value, label).to_body()
        except InvalidInputError as error:
            problems.append(str(error))
            continue
        if MARKER in (body.get("characteristics") or {}):
            problems.append(
                f"{label}.characteristics.{MARKER}: the sync sets this marker on the offers it "
                f"creates (catalog {catalog!r}); remove it from the catalog"
            )
        if old_name is not None:
            body[RENAMED_FROM] = old_name
        bodies.append(body)
    positions: dict[str, list[int]] = {}
    for index, value in enumerate(objects):
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            positions.setdefault(value["name"], []).append(index)
    for name, found in positions.items():
        if len(found) > 1:
            places = ", ".join(f"{where}[{i}]" for i in found)
            problems.append(f"{where}: the name {name!r} is used {len(found)} times ({places})")
    for old_name, found in renamed.items():
        places = ", ".join(f"{where}[{i}]" for i in found)
        if len(found) > 1:
            problems.append(
                f"{where}: {len(found)} {where.replace('_', ' ')} are renamed from "
                f"{old_name!r} ({places})"
            )
        if old_name in positions:
            problems.append(
                f"{where}: {places} is renamed from {old_name!r}, which "
                f"{where}[{positions[old_name][0]}] still names"
            )
    return bodies, problems
