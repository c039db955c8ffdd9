"""Glue between the operators and `api.reconcile`: the hook as an `EntityStore` and Airflow's
task state store as a `Journal`.

Imported only from inside `execute` (it pulls in pydantic and the client).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_offers.api import models
from airflow_provider_offers.api.resources import resolve_resource
from airflow_provider_offers.hooks.offers import OfferLibraryHook

JsonDict = dict[str, Any]


def _json(value: Any) -> JsonDict:
    """The JSON the server sent (guards and diffs are built from it, never from a model)."""
    if isinstance(value, models.AdobeModel):
        return value.raw_json()
    return dict(value)


class HookResourceStore:
    """`api.reconcile.EntityStore` over `OfferLibraryHook`, for one resource kind.

    `kind` is the client's resource kind: "fallback-offers", "placements", "offer-decisions", ...
    """

    def __init__(self, hook: OfferLibraryHook, kind: str) -> None:
        self.hook = hook
        self.kind = kind

    def body(self, value: Any, field: str) -> JsonDict:
        """`value` as the JSON body we send: validated, Adobe's spelling, no server fields."""
        return models.parse_input(resolve_resource(self.kind).model, value, field).to_body()

    def find_by_name(self, name: str) -> JsonDict | None:
        found = self.hook.find_resource_by_name(self.kind, name)
        return None if found is None else _json(found)

    def get(self, entity_id: str) -> JsonDict:
        return _json(self.hook.get_resource(self.kind, entity_id))

    def create(self, entity: JsonDict) -> JsonDict:
        return _json(self.hook.create_resource(self.kind, entity))

    def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict:
        return _json(self.hook.patch_resource(self.kind, entity_id, operations))

    def delete(self, entity_id: str) -> None:
        self.hook.delete_resource(self.kind, entity_id)
