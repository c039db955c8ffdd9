"""RFC 6902 JSON Patch operations as a caller gives them, checked before any request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, model_serializer, model_validator

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.models import AdobeModel, parse_input

__all__ = ["PatchOperation", "parse_operations"]

# RFC 6901: "" or a sequence of "/"-prefixed tokens where "~" only appears as "~0" or "~1".
_JSON_POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")
_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})


class PatchOperation(AdobeModel):
    """One RFC 6902 JSON Patch operation; dumps only the members its `op` defines."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _rfc6902(self) -> PatchOperation:
        if not _JSON_POINTER.match(self.path):
            raise ValueError(f"path {self.path!r} is not a JSON Pointer (e.g. '/name')")
        if self.op in _NEEDS_VALUE and "value" not in self.model_fields_set:
            raise ValueError(f"op {self.op!r} needs a `value`")
        if self.op in _NEEDS_FROM:
            if self.from_ is None:
                raise ValueError(f"op {self.op!r} needs `from`")
            if not _JSON_POINTER.match(self.from_):
                raise ValueError(f"from {self.from_!r} is not a JSON Pointer")
            if self.op == "move" and self.path.startswith(self.from_ + "/"):
                raise ValueError("cannot move a value into one of its own children")
        return self

    @model_serializer
    def _members(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op in _NEEDS_VALUE:
            body["value"] = self.value
        if self.op in _NEEDS_FROM:
            body["from"] = self.from_
        return body


def parse_operations(operations: Any) -> list[PatchOperation]:
    """A non-empty JSON Patch array, each operation validated per RFC 6902."""
    if isinstance(operations, PatchOperation | Mapping) or not isinstance(operations, Iterable):
        raise InvalidInputError("operations", "expected a list of JSON Patch operations")
    operations = list(operations)
    if not operations:
        raise InvalidInputError("operations", "at least one operation is required")
    return [
        parse_input(PatchOperation, op, f"operations[{index}]")
        for index, op in enumerate(operations)
    ]
