"""Glue between the offer operators and `api.reconcile`: the hook as an `EntityStore`, Airflow's
task state store as a `Journal`, and input validation with the client's models.

Imported only from inside `execute` (it pulls in pydantic and the client).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel

from airflow_provider_offers.api import models
from airflow_provider_offers.api.errors import InvalidInputError

JsonDict = dict[str, Any]


def _json(value: Any) -> JsonDict:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(value)


class HookResourceStore:
    """`api.reconcile.EntityStore` over `OfferLibraryHook`, for one resource kind.

    `kind` is the client's resource kind: "fallback-offers", "placements", "offer-decisions", ...
    """

    def __init__(self, hook: Any, kind: str) -> None:
        self.hook = hook
        self.kind = kind

    def find_by_name(self, name: str) -> JsonDict | None:
        found = self.hook.find_resource_by_name(self.kind, name)
        return None if found is None else _json(found)

    def get(self, entity_id: str) -> JsonDict:
        return _json(self.hook.get_resource(self.kind, entity_id))

    def create(self, entity: JsonDict) -> JsonDict:
        return _json(self.hook.create_resource(self.kind, entity))

    def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict:
        return _json(self.hook.patch_resource(self.kind, entity_id, operations))


class TaskStateJournal:
    """`api.reconcile.Journal` in Airflow's task state store (shared by a task's retries)."""

    def __init__(self, task_state_store: Any, key: str) -> None:
        self.store = task_state_store
        self.key = key

    def get(self) -> JsonDict | None:
        value = self.store.get(self.key)
        return value if isinstance(value, dict) else None

    def set(self, value: JsonDict) -> None:
        self.store.set(self.key, value)


def _invalid(exc: InvalidInputError) -> AirflowFailException:
    return AirflowFailException(f"invalid input, nothing was sent: {exc}")


def validate_entity(kind: str, value: Any, field: str) -> JsonDict:
    """The object as the JSON body we send: validated, Adobe's spelling, no server fields."""
    from airflow_provider_offers.api.resources import resolve_resource

    try:
        return models.parse_input(resolve_resource(kind).model, value, field).to_body()
    except InvalidInputError as exc:
        raise _invalid(exc) from None


def validate_operations(operations: Any) -> list[JsonDict]:
    """RFC 6902 operations as plain JSON, validated with the client's `PatchOperation`."""
    try:
        return [_json(op) for op in models.parse_operations(operations)]
    except InvalidInputError as exc:
        raise _invalid(exc) from None


def validate_offer_id(offer_id: Any) -> str:
    if not isinstance(offer_id, str) or not offer_id.strip():
        raise AirflowFailException(
            "invalid input, nothing was sent: offer_id: must be a non-empty string, "
            f"got {offer_id!r}"
        )
    return offer_id.strip()


def validate_expected_etag(expected_etag: Any) -> int | None:
    """None, or a non-negative integer (templated values arrive as strings)."""
    from airflow_provider_offers.api.change import parse_etag

    try:
        return parse_etag(expected_etag, "expected_etag")
    except InvalidInputError:
        raise AirflowFailException(
            "invalid input, nothing was sent: expected_etag: must be a non-negative integer "
            f"(Adobe's etags are integers), got {expected_etag!r}"
        ) from None
