"""Replaying Adobe's documented examples (tests/data/adobe_documented_examples.json).

The pages' ids are placeholders (`offerPlacement1234`, `tag1234`, ...). The mapping rule:
`<noun>1234` is the first object the replay made from that kind's documented create body,
`<noun>5678` the second (only placements need two: the decision create example names both).
The data file is never edited; `substitute` applies the rule to every body and path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from adobe_documented_examples import EXAMPLES
from emulator_helpers import Api

BY_ID = {entry["id"]: entry for entry in EXAMPLES}

#: The noun each kind's placeholder ids use on Adobe's pages.
NOUNS = {
    "placements": "offerPlacement",
    "tags": "tag",
    "offer-rules": "offerRule",
    "fallback-offers": "fallbackOffer",
    "personalized-offers": "personalizedOffer",
    "offer-collections": "offerCollection",
    "offer-decisions": "offerDecision",
    "ranking-formulas": "rankingFormula",
}
KIND_OF_NOUN = {noun: kind for kind, noun in NOUNS.items()}
#: The creation order of the API notes (offer-library-api.md section 2): what a body names
#: exists before it; ranking formulas name nothing.
CREATION_ORDER = tuple(NOUNS)
PLACEHOLDER = re.compile(rf"^({'|'.join(NOUNS.values())})(1234|5678)$")
#: What the server adds; a representation's other members are the body's. The adobe-examples
#: style's extra members (read-only, never stored) are left out too.
SERVER_MEMBERS = {"id", "etag", "created", "modified", "schemas", "createdBy", "lastModifiedBy"}
EXTRA_MEMBERS = {"repo:createdDate", "repo:lastModifiedDate", "_repo", "_experience"}


def entries(operation: str) -> list[dict[str, Any]]:
    return [entry for entry in EXAMPLES if entry["operation"] == operation]


def create_example(kind: str) -> dict[str, Any]:
    return BY_ID[f"{kind}-create"]


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def placeholders(kind: str) -> list[str]:
    """The placeholders of `kind` that documented requests name (bodies and paths)."""
    named = {
        text
        for entry in EXAMPLES
        for text in (*_strings(entry["body"]), *entry["path"].split("/"))
        if PLACEHOLDER.match(text) and KIND_OF_NOUN[PLACEHOLDER.match(text)[1]] == kind
    }
    return sorted(named) or [f"{NOUNS[kind]}1234"]


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """`value` with every placeholder the replay has made an object for replaced by its id."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    return value


def members(stored: dict[str, Any]) -> dict[str, Any]:
    """A representation's own members: what a create body may carry."""
    return {k: v for k, v in stored.items() if k not in SERVER_MEMBERS | EXTRA_MEMBERS}


@dataclass
class Replay:
    """The objects the documented create bodies made: placeholder -> id, and each body sent."""

    api: Api
    ids: dict[str, str] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> body
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> receipt

    def create_all(self) -> Replay:
        for kind in CREATION_ORDER:
            for placeholder in placeholders(kind):
                self.create(kind, placeholder)
        return self

    def create(self, kind: str, placeholder: str) -> str:
        entry = create_example(kind)
        body = substitute(entry["body"], self.ids)
        receipt = self.api.create(entry["path"].lstrip("/"), body, **entry["query"])
        self.ids[placeholder] = receipt["id"]
        self.sent[receipt["id"]] = body
        self.receipts[receipt["id"]] = receipt
        return receipt["id"]

    def get(self, kind: str, ident: str):
        """A look-up where the kind's create example posts (with its `offer-type`)."""
        entry = create_example(kind)
        return self.api.call("GET", f"{entry['path']}/{ident}", params=entry["query"])

    def request(self, entry: dict[str, Any], **kwargs: Any):
        """The entry's documented request, its placeholders replaced."""
        path = substitute_path(entry["path"], self.ids)
        body = substitute(entry["body"], self.ids)
        sent = {"json": body} if body is not None else {}
        return self.api.call(entry["method"], path, params=entry["query"], **sent, **kwargs)

    def target(self, entry: dict[str, Any]) -> str:
        """The id of the object an entry's path names (`/placements/offerPlacement1234`)."""
        (placeholder,) = [part for part in entry["path"].split("/") if PLACEHOLDER.match(part)]
        return self.ids[placeholder]

    def of_kind(self, kind: str) -> list[str]:
        return [self.ids[p] for p in placeholders(kind)]


def substitute_path(path: str, ids: dict[str, str]) -> str:
    return "/".join(ids.get(part, part) for part in path.split("/"))


def etag(value: Any) -> int:
    """Integers in the strict style, digit strings in adobe-examples."""
    return int(value)
