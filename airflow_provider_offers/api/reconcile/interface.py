"""What reconciliation takes and gives: the stores it reads and writes (sync or async), the
journal that survives task retries, its `Result`, and the errors that are its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_offers.api.errors import OfferLibraryError

JsonDict = dict[str, Any]


class EntityStore(Protocol):
    """Reads and writes of one kind of object (offers, placements, decisions, ...) as Adobe's
    JSON (representations and receipts)."""

    def find_by_name(self, name: str) -> JsonDict | None: ...
    def get(self, entity_id: str) -> JsonDict: ...
    def create(self, entity: JsonDict) -> JsonDict: ...
    def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict: ...
    def delete(self, entity_id: str) -> None: ...


class AsyncEntityStore(Protocol):
    """`EntityStore`, awaited."""

    async def find_by_name(self, name: str) -> JsonDict | None: ...
    async def get(self, entity_id: str) -> JsonDict: ...
    async def create(self, entity: JsonDict) -> JsonDict: ...
    async def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict: ...
    async def delete(self, entity_id: str) -> None: ...


class Journal(Protocol):
    """One JSON value remembered across attempts of the same task."""

    def get(self) -> JsonDict | None: ...
    def set(self, value: JsonDict) -> None: ...


class NameTakenError(OfferLibraryError):
    """`if_exists="fail"` and an object with that name exists."""

    def __init__(self, name: str, entity_id: str):
        super().__init__(f"an object named {name!r} already exists: id {entity_id!r}")
        self.name = name
        self.entity_id = entity_id


class EtagMismatchError(OfferLibraryError):
    """The offer is not at the version the caller expected; nothing was written."""

    def __init__(self, offer_id: str, expected: int, actual: int, *, after_check: bool = False):
        when = "changed between the etag check and the write" if after_check else "has etag"
        super().__init__(
            f"offer {offer_id!r} {when}: expected etag {expected}, current etag {actual}; "
            "nothing was written"
        )
        self.offer_id = offer_id
        self.expected = expected
        self.actual = actual


class OperationsDoNotApplyError(OfferLibraryError):
    """The caller's operations fail on the version they were meant for; nothing was written."""


class ConcurrentModificationError(OfferLibraryError):
    """The offer kept changing under us for every attempt; the last write was not applied."""


@dataclass(frozen=True)
class Result:
    """What the operators return: the offer's id and version after the step."""

    id: str
    etag: int | str
    last_modified: str | None
    action: str
    name: str | None = None

    @classmethod
    def of(cls, entity: Mapping[str, Any], action: str, name: str | None = None) -> Result:
        """From a receipt (`lastModifiedDate`) or a representation (`modified`)."""
        modified = entity.get("lastModifiedDate") or entity.get("modified")
        return cls(entity["id"], entity["etag"], modified, action, name or entity.get("name"))
