"""Where an offer holds its customer's content: the one rule for what is sent byte for byte.

Journey Optimizer personalization (`{{profile.person.name.firstName}}`, `{{#if ...}}...{{/if}}`,
helpers) is written in the `content` of an offer's components
(`representations[i].components[j].content`, Adobe's text, HTML and JSON content). It is the
customer's: no template engine of ours may read it. These functions find those strings in an
offer, a list of offers or a JSON Patch, and hand each to `keep` (the Airflow layer wraps them
so that its Jinja leaves them alone); everything else is returned as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Pointer = tuple[str, ...]
_CONTENT_PATH = ("representations", "#", "components", "#", "content")


def _index(token: str) -> bool:
    return token.isdigit() or token == "-"


def is_offer_content(pointer: Pointer) -> bool:
    """Whether `pointer` (tokens from an offer's root) is a component's `content`."""
    if len(pointer) != len(_CONTENT_PATH):
        return False
    return all(
        _index(token) if want == "#" else token == want
        for token, want in zip(pointer, _CONTENT_PATH, strict=True)
    )


def _map(value: Any, pointer: Pointer, keep: Callable[[Any], Any]) -> Any:
    if is_offer_content(pointer):
        return keep(value)
    if len(pointer) >= len(_CONTENT_PATH):
        return value  # nothing below a content member is anything else
    if isinstance(value, dict):
        return {k: _map(v, (*pointer, str(k)), keep) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, (*pointer, str(i)), keep) for i, v in enumerate(value)]
    return value


def _parsed(value: Any) -> Any:
    """A JSON text given for a structure (`offer='{"name": ...}'`), parsed; anything else
    (an Airflow template naming an XCom, say) as it is."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def keep_offer_content(offer: Any, keep: Callable[[Any], Any]) -> Any:
    """`offer` (one offer as Adobe's JSON, or its JSON text) with `keep` applied to each
    component content."""
    return _map(_parsed(offer), (), keep)


def keep_offers_content(offers: Any, keep: Callable[[Any], Any]) -> Any:
    """`keep_offer_content` for each offer of a list (or its JSON text)."""
    offers = _parsed(offers)
    if not isinstance(offers, list):
        return offers
    return [keep_offer_content(offer, keep) for offer in offers]


def keep_setup_content(document: Any, keep: Callable[[Any], Any]) -> Any:
    """`keep_offers_content` for the offer lists of a whole-setup document (or its JSON text):
    `personalized_offers` and `fallback_offers`."""
    document = _parsed(document)
    if not isinstance(document, dict):
        return document
    return {
        key: keep_offers_content(value, keep) if key.endswith("_offers") else value
        for key, value in document.items()
    }


def _pointer(path: str) -> Pointer:
    tokens = path.split("/")[1:] if path.startswith("/") else []
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in tokens)


def keep_patch_content(operations: Any, keep: Callable[[Any], Any]) -> Any:
    """JSON Patch operations on an offer (or their JSON text) with `keep` applied to each
    component content their `value` writes."""
    operations = _parsed(operations)
    if not isinstance(operations, list):
        return operations
    kept = []
    for operation in operations:
        if isinstance(operation, dict) and "value" in operation:
            where = _pointer(operation.get("path") or "")
            operation = {**operation, "value": _map(operation["value"], where, keep)}
        kept.append(operation)
    return kept
