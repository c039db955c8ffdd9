"""YAML read as data: JSON's types only, aliases bounded, errors that never quote the file.

PyYAML's `safe_load` follows YAML 1.1: `2026-01-01` becomes a date, `yes`/`no`/`on`/`off`
booleans, `0123` an octal number, and a few hundred bytes of nested aliases expand to
hundreds of megabytes. A catalog holds Adobe's JSON, so scalars here resolve as JSON would
(YAML 1.2's core schema without its octal and hex forms: `null`, `true`/`false`, decimal
numbers; anything else stays the string it is), and the document's node graph is measured,
aliases counted as often as they are expanded, before any Python object is built.
"""

from __future__ import annotations

import re
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with Airflow

from airflow_provider_offers.api.errors import InvalidInputError

_SCALARS = (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("tag:yaml.org,2002:int", r"[-+]?(?:0|[1-9][0-9]*)", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:merge", r"<<", ["<"]),
)


class _DataLoader(yaml.SafeLoader):
    """SafeLoader resolving plain scalars by `_SCALARS` only."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _pattern, _first in _SCALARS:
    _DataLoader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), _first)


def _expanded_size(root: yaml.Node, limit: int, source: str) -> int:
    """Nodes the document holds once every alias is expanded; refused beyond `limit`."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise InvalidInputError("offers_file", f"{source}: an alias refers to itself")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > limit:
            raise InvalidInputError(
                "offers_file",
                f"{source}: expands to more than {limit:,} values through its aliases; "
                "refused before reading it",
            )
        sizes[key] = total
        return total

    return size(root)


def load(text: str, source: str, *, max_nodes: int) -> Any:
    """The data of one YAML document (None when empty)."""
    loader = _DataLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InvalidInputError(
            "offers_file", f"{source}: not valid YAML ({problem}{where})"
        ) from None
    finally:
        loader.dispose()
