"""api/reconcile's async twins (`aensure_by_name`, `apatch_offer`, ...) follow the same rules as
the sync functions: each pair is one rule (`reconcile.rules`) over two kinds of store. The same
in-memory Offer Library, called directly or awaited, must see the same calls and end the same."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_offers.api import reconcile
from airflow_provider_offers.api.errors import ConflictError, OutcomeUnknownError


class Store:
    """Offers by id; the next `lost` creates or patches commit, then lose their answer."""

    def __init__(self, *offers: dict[str, Any]) -> None:
        self.offers = {o["id"]: dict(o) for o in offers}
        self.lost: dict[str, int] = {}
        self.calls: list[str] = []

    def _lose(self, method: str) -> None:
        if self.lost.get(method):
            self.lost[method] -= 1
            raise OutcomeUnknownError(f"{method}: connection lost after sending")

    def find_by_name(self, name: str) -> dict[str, Any] | None:
        self.calls.append("find")
        found = [dict(o) for o in self.offers.values() if o["name"] == name]
        if len(found) > 1:
            raise ConflictError("several", conflicting_ids=[o["id"] for o in found])
        return found[0] if found else None

    def get(self, entity_id: str) -> dict[str, Any]:
        self.calls.append("get")
        return dict(self.offers[entity_id])

    def create(self, entity: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create")
        number = len(self.offers) + 1
        self.offers[f"o-{number}"] = {**entity, "id": f"o-{number}", "etag": 1}
        self._lose("create")
        return {"id": f"o-{number}", "etag": 1}

    def patch(self, entity_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append("patch")
        offer = self.offers[entity_id]
        for op in operations:
            if op["op"] == "test" and offer.get(op["path"][1:]) != op["value"]:
                raise ConflictError("test failed", status=409)
        for op in operations:
            if op["op"] in ("add", "replace"):
                offer[op["path"][1:]] = op["value"]
        offer["etag"] += 1
        self._lose("patch")
        return dict(offer)

    def delete(self, entity_id: str) -> None:
        self.calls.append("delete")
        del self.offers[entity_id]


class Awaited:
    """The same store, as `reconcile.AsyncEntityStore`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def find_by_name(self, name: str) -> dict[str, Any] | None:
        return self.store.find_by_name(name)

    async def get(self, entity_id: str) -> dict[str, Any]:
        return self.store.get(entity_id)

    async def create(self, entity: dict[str, Any]) -> dict[str, Any]:
        return self.store.create(entity)

    async def patch(self, entity_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return self.store.patch(entity_id, operations)

    async def delete(self, entity_id: str) -> None:
        self.store.delete(entity_id)


OFFER = {"id": "o-1", "etag": 1, "name": "Summer", "priority": 1}


async def both(rule: str, make_store, *args: Any, **kwargs: Any) -> list[tuple[Any, Store]]:
    """`reconcile.<rule>` on one store and `reconcile.a<rule>` on a twin: (result, store) each."""
    sync_store, async_store = make_store(), make_store()
    sync_result = getattr(reconcile, rule)(sync_store, *args, **kwargs)
    async_result = await getattr(reconcile, f"a{rule}")(Awaited(async_store), *args, **kwargs)
    return [(sync_result, sync_store), (async_result, async_store)]


def _lost_create() -> Store:
    store = Store()
    store.lost["create"] = 1
    return store


async def test_a_lost_create_is_found_by_name_in_both():
    results = await both("ensure_by_name", _lost_create, {"name": "Summer", "priority": 2})
    for result, store in results:
        assert (result.id, result.action) == ("o-1", "created")
        assert store.calls == ["find", "create", "find"]  # looked up, not sent again
        assert store.offers["o-1"]["priority"] == 2 and list(store.offers) == ["o-1"]


async def test_a_patch_of_unknown_outcome_is_reread_not_resent_in_both():
    def store() -> Store:
        lost = Store(OFFER)
        lost.lost["patch"] = 1
        return lost

    results = await both("converge", store, dict(OFFER), {"priority": 2})
    for (final, wrote), offers in results:
        assert (final["priority"], final["etag"], wrote) == (2, 2, True)
        assert offers.calls == ["patch", "get"]


async def test_a_guarded_patch_on_another_version_fails_in_both():
    def moved() -> Store:
        return Store({**OFFER, "etag": 2})

    for rule in (reconcile.patch_offer, reconcile.apatch_offer):
        store = moved()
        target = store if rule is reconcile.patch_offer else Awaited(store)
        ops = [{"op": "replace", "path": "/priority", "value": 5}]
        with pytest.raises(reconcile.EtagMismatchError, match="expected etag 1, current etag 2"):
            outcome = rule(target, "o-1", ops, expected_etag=1)
            if rule is reconcile.apatch_offer:
                await outcome
        assert store.offers["o-1"]["priority"] == 1 and "patch" not in store.calls


async def test_two_namesakes_keep_the_oldest_in_both():
    def twins() -> Store:
        return Store(
            {**OFFER, "created": "2026-01-01T00:00:00Z"},
            {**OFFER, "id": "o-2", "created": "2026-01-02T00:00:00Z"},
        )

    namesakes = list(twins().offers.values())
    results = await both(
        "keep_oldest", twins, namesakes, {"name": "Summer"}, deletable=lambda o: o["id"] == "o-2"
    )
    for (kept, wrote), store in results:
        assert (kept["id"], wrote) == ("o-1", False)
        assert list(store.offers) == ["o-1"]
