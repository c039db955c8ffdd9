"""api/reconcile.py: the defaults the operators run with, lost writes, races, guarded patches the
server refuses, and what the errors say. The Offer Library is an in-memory `EntityStore` (or a
mock); no Airflow, no emulator."""

from __future__ import annotations

import dataclasses
from typing import Any

import jsonpatch
import pytest

from airflow_provider_offers.api import reconcile
from airflow_provider_offers.api.errors import (
    ConflictError,
    ConnectionFailedError,
    OutcomeUnknownError,
    ReceiptMissingError,
    RequestValidationError,
    error_from_response,
)


class Store:
    """Offers by id; `fail` holds, per method, exceptions to raise on its next calls (after a
    `commit_then_fail` one the write is applied first, as a lost connection after sending)."""

    def __init__(self, *offers: dict[str, Any]) -> None:
        self.offers = {o["id"]: dict(o) for o in offers}
        self.fail: dict[str, list[Exception]] = {}
        self.commit_then_fail: set[str] = set()
        self.calls: list[str] = []
        self.appear_on_look: dict[int, dict[str, Any]] = {}  # look number -> offer shows up

    def _maybe_fail(self, method: str, before_commit: bool) -> None:
        queue = self.fail.get(method)
        if queue and (method in self.commit_then_fail) != before_commit:
            raise queue.pop(0)

    def find_by_name(self, name: str) -> dict[str, Any] | None:
        self.calls.append("find")
        looks = self.calls.count("find")
        if looks in self.appear_on_look:
            offer = self.appear_on_look.pop(looks)
            self.offers[offer["id"]] = offer
        found = [dict(o) for o in self.offers.values() if o["name"] == name]
        if len(found) > 1:
            raise ConflictError("several", conflicting_ids=[o["id"] for o in found])
        return found[0] if found else None

    def get(self, entity_id: str) -> dict[str, Any]:
        self.calls.append("get")
        return dict(self.offers[entity_id])

    def create(self, entity: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create")
        self._maybe_fail("create", before_commit=True)
        number = len(self.offers) + 1
        offer = {**entity, "id": f"o-{number}", "etag": 1, "created": f"t{number:03d}"}
        self.offers[offer["id"]] = offer
        self._maybe_fail("create", before_commit=False)
        return {"id": offer["id"], "etag": 1}

    def patch(self, entity_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append("patch")
        self._maybe_fail("patch", before_commit=True)
        offer = self.offers[entity_id]
        updated = jsonpatch.apply_patch(offer, operations)
        self.offers[entity_id] = {**updated, "etag": offer["etag"] + 1}
        self._maybe_fail("patch", before_commit=False)
        return dict(self.offers[entity_id])

    def delete(self, entity_id: str) -> None:
        self.calls.append("delete")
        del self.offers[entity_id]

    def write_behind_our_back(self, entity_id: str, **members: Any) -> None:
        offer = self.offers[entity_id]
        self.offers[entity_id] = {**offer, **members, "etag": offer["etag"] + 1}


class Journal:
    def __init__(self, value: dict[str, Any] | None = None) -> None:
        self.value = value

    def get(self) -> dict[str, Any] | None:
        return self.value

    def set(self, value: dict[str, Any]) -> None:
        self.value = value


OFFER = {"id": "o-1", "etag": 1, "name": "Summer", "priority": 1}


@pytest.fixture
def sleeps(mocker):
    """The settle delay, recorded instead of slept."""
    return mocker.patch.object(reconcile.time, "sleep")


def test_a_result_is_an_immutable_value():
    result = reconcile.Result.of(OFFER, "unchanged")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.action = "updated"  # type: ignore[misc]


# -- ensure_by_name ---------------------------------------------------------------------------


def _always_raced() -> Store:
    """Every guarded patch is refused, and each re-read shows another writer's new version."""
    store = Store(OFFER)
    store.fail["patch"] = [ConflictError("test failed", status=409) for _ in range(10)]
    real_get = store.get

    def get_after_a_concurrent_write(entity_id):
        store.write_behind_our_back(entity_id, description="theirs")
        return real_get(entity_id)

    store.get = get_after_a_concurrent_write
    return store


def test_an_offer_that_keeps_changing_fails_after_five_guarded_patches_by_default():
    store = _always_raced()
    with pytest.raises(reconcile.ConcurrentModificationError, match="every one of 5 guarded"):
        reconcile.ensure_by_name(store, {"name": "Summer", "priority": 2})
    assert store.calls.count("patch") == 5

    store = _always_raced()
    with pytest.raises(reconcile.ConcurrentModificationError, match="every one of 5 guarded"):
        reconcile.converge(store, dict(OFFER), {"priority": 2})
    assert store.calls.count("patch") == 5


def test_a_patch_of_unknown_outcome_that_committed_is_reported_as_an_update():
    store = Store(OFFER)
    store.fail["patch"] = [OutcomeUnknownError("connection lost after sending")]
    store.commit_then_fail.add("patch")

    result = reconcile.ensure_by_name(store, {"name": "Summer", "priority": 2})

    assert (result.action, result.id, result.etag) == ("updated", "o-1", 2)
    assert store.calls.count("patch") == 1  # re-read, found committed: not sent again


def test_creates_of_unknown_outcome_give_up_after_five_attempts_waiting_two_seconds(sleeps):
    store = Store()
    store.fail["create"] = [OutcomeUnknownError("lost") for _ in range(10)]

    with pytest.raises(OutcomeUnknownError, match="outcome unknown on 5 attempts"):
        reconcile.ensure_by_name(store, {"name": "Summer"})

    assert store.calls.count("create") == 5
    assert sleeps.call_args_list == [((2.0,),)] * 4  # before each create after a lost one


def test_a_create_journalled_by_an_earlier_attempt_is_waited_for_not_sent_again(sleeps):
    store = Store()
    store.appear_on_look[2] = dict(OFFER)  # Adobe lists it a moment later

    result = reconcile.ensure_by_name(
        store, {"name": "Summer", "priority": 1}, journal=Journal({"name": "Summer"})
    )

    assert (result.action, result.id) == ("created", "o-1")
    assert "create" not in store.calls
    assert sleeps.call_args_list == [((2.0,),)]


def test_a_journalled_create_with_a_known_id_is_not_waited_for(sleeps):
    store = Store()  # the offer created earlier was deleted since: create it again at once

    result = reconcile.ensure_by_name(
        store, {"name": "Summer"}, journal=Journal({"name": "Summer", "id": "o-9"})
    )

    assert result.action == "created"
    assert store.calls == ["find", "create", "find"]  # the last: was it created twice at once?
    sleeps.assert_not_called()


def test_a_settle_delay_of_zero_looks_once_per_attempt(sleeps):
    store = Store()
    store.fail["create"] = [OutcomeUnknownError("lost")]  # not committed

    result = reconcile.ensure_by_name(store, {"name": "Summer"}, settle_seconds=0)

    assert result.action == "created"
    assert store.calls == ["find", "create", "find", "create", "find"]
    sleeps.assert_not_called()


# -- patch_offer with an expected etag --------------------------------------------------------


def test_an_etag_mismatch_before_writing_says_so():
    store = Store(OFFER)
    ops = [{"op": "replace", "path": "/priority", "value": 2}]

    with pytest.raises(reconcile.EtagMismatchError) as caught:
        reconcile.patch_offer(store, "o-1", ops, expected_etag=7)

    assert str(caught.value) == (
        "offer 'o-1' has etag: expected etag 7, current etag 1; nothing was written"
    )
    assert "patch" not in store.calls


@pytest.mark.parametrize(
    "failure",
    [ConflictError("test failed", status=409), OutcomeUnknownError("connection lost")],
)
def test_a_writer_between_the_etag_check_and_the_write_is_named_in_the_error(failure):
    """The patch is refused, or lost before it committed, and the offer has moved meanwhile."""
    store = Store(OFFER)
    store.fail["patch"] = [failure]
    real_patch = store.patch

    def patch_after_a_concurrent_write(entity_id, operations):
        store.write_behind_our_back(entity_id, priority=5)
        return real_patch(entity_id, operations)

    store.patch = patch_after_a_concurrent_write
    ops = [{"op": "replace", "path": "/priority", "value": 2}]

    with pytest.raises(reconcile.EtagMismatchError) as caught:
        reconcile.patch_offer(store, "o-1", ops, expected_etag=1)

    assert str(caught.value) == (
        "offer 'o-1' changed between the etag check and the write: expected etag 1, "
        "current etag 2; nothing was written"
    )
    assert store.calls.count("patch") == 1


# -- if_exists and plain patches --------------------------------------------------------------


def test_skip_reports_the_existing_offer_unchanged_and_writes_nothing():
    store = Store(OFFER)

    result = reconcile.ensure_by_name(store, {"name": "Summer", "priority": 9}, if_exists="skip")

    assert result == reconcile.Result("o-1", 1, None, "unchanged", "Summer")
    assert "patch" not in store.calls


def test_a_patch_without_an_expected_etag_returns_the_new_version():
    store = Store(OFFER)

    result = reconcile.patch_offer(
        store, "o-1", [{"op": "replace", "path": "/priority", "value": 2}]
    )

    assert result == reconcile.Result("o-1", 2, None, "updated", "Summer")
    assert store.offers["o-1"]["priority"] == 2


def test_a_patch_applied_without_a_receipt_returns_the_version_read_back():
    store = Store(OFFER)
    store.fail["patch"] = [ReceiptMissingError("2xx without a receipt")]
    store.commit_then_fail.add("patch")

    result = reconcile.patch_offer(
        store, "o-1", [{"op": "replace", "path": "/priority", "value": 2}]
    )

    assert result == reconcile.Result("o-1", 2, None, "updated", "Summer")
    assert store.calls == ["patch", "get"]


# -- patch_offer: lost writes and task retries ------------------------------------------------

PRIORITY_2 = [{"op": "replace", "path": "/priority", "value": 2}]


def test_a_lost_patch_that_committed_is_reported_not_sent_again():
    store = Store(OFFER)
    store.fail["patch"] = [OutcomeUnknownError("lost")]
    store.commit_then_fail.add("patch")

    result = reconcile.patch_offer(store, "o-1", PRIORITY_2, expected_etag=1)

    assert (result.action, result.etag) == ("updated", 2)
    assert store.calls.count("patch") == 1


def test_a_lost_patch_that_did_not_commit_is_sent_once_more():
    store = Store(OFFER)
    store.fail["patch"] = [OutcomeUnknownError("lost")]

    result = reconcile.patch_offer(store, "o-1", PRIORITY_2, expected_etag=1)

    assert (result.action, result.etag) == ("updated", 2)
    assert store.calls.count("patch") == 2
    assert store.offers["o-1"]["priority"] == 2


def test_a_task_retry_recognises_the_patch_its_earlier_attempt_committed():
    store = Store(OFFER)
    journal = Journal()
    store.fail["patch"] = [OutcomeUnknownError("lost")]
    store.commit_then_fail.add("patch")
    store.fail["get"] = [ConnectionFailedError("network down")]
    real_get = store.get

    def get_failing_after_the_patch(entity_id):
        if "patch" in store.calls and store.fail["get"]:
            raise store.fail["get"].pop(0)
        return real_get(entity_id)

    store.get = get_failing_after_the_patch
    with pytest.raises(ConnectionFailedError):  # the first attempt fails after committing
        reconcile.patch_offer(store, "o-1", PRIORITY_2, expected_etag=1, journal=journal)

    again = reconcile.patch_offer(store, "o-1", PRIORITY_2, expected_etag=1, journal=journal)

    assert (again.action, again.etag) == ("updated", 2)
    assert store.calls.count("patch") == 1


def test_a_journal_of_another_offer_does_not_excuse_an_etag_mismatch():
    store = Store(OFFER, {**OFFER, "id": "o-2", "name": "Winter", "etag": 2, "priority": 2})
    journal = Journal({"id": "o-1", "expected_etag": 1, "expected": {"present": {}, "absent": []}})

    with pytest.raises(reconcile.EtagMismatchError):
        reconcile.patch_offer(store, "o-2", PRIORITY_2, expected_etag=1, journal=journal)


def test_a_patch_refused_with_nobody_racing_is_raised_as_the_servers_error():
    store = Store(OFFER)
    store.fail["patch"] = [RequestValidationError("priority must be positive", status=400)]

    with pytest.raises(RequestValidationError, match="priority must be positive"):
        reconcile.patch_offer(store, "o-1", PRIORITY_2, expected_etag=1)
    assert store.calls.count("patch") == 1


@pytest.mark.parametrize(
    ("theirs_created", "kept", "left"),
    [("t999", "o-1", ["o-1", "o-x"]), ("t000", "o-x", ["o-x"])],
)
def test_a_name_created_twice_at_once_is_kept_once_the_oldest(theirs_created, kept, left):
    """Another writer's create of the same name lands next to ours (shows up on our check).
    Each writer deletes only its own, if it is the newer: theirs is left for them."""
    store = Store()
    theirs = {"id": "o-x", "name": "Summer", "etag": 1, "created": theirs_created}
    store.appear_on_look[2] = theirs

    result = reconcile.ensure_by_name(store, {"name": "Summer", "description": "ours"})

    assert list(store.offers) == left
    assert store.offers[kept]["description"] == "ours"
    assert (result.id, result.action) == (kept, "created" if kept == "o-1" else "updated")
    assert "delete" in store.calls if kept == "o-x" else "delete" not in store.calls


def test_a_namesake_that_is_not_ours_is_never_deleted_by_keep_oldest():
    store = Store(
        {"id": "o-a", "name": "Summer", "etag": 1, "created": "t001"},
        {"id": "o-b", "name": "Summer", "etag": 1, "created": "t002"},
    )
    final, wrote = reconcile.keep_oldest(
        store, list(store.offers.values()), {"name": "Summer"}, deletable=lambda o: False
    )
    assert (final["id"], wrote, sorted(store.offers)) == ("o-a", False, ["o-a", "o-b"])


# -- a guarded patch refused, in any status Adobe may use for a failed `test` ----------------------


GUARDED_OFFER = {"id": "o-1", "etag": 1, "name": "x", "description": "old"}


def refusal(status: int, title: str):
    """The client's error for a PATCH the server refused with `status`."""
    return error_from_response(
        status=status,
        body=f'{{"title": "{title}"}}'.encode(),
        content_type="application/json",
        method="PATCH",
        path="/data/core/dps/offers/o-1",
        request_id=None,
    )


@pytest.mark.parametrize("status", [400, 409, 412, 422])
def test_a_refused_test_op_is_a_conflict_to_re_read_not_a_crash(status, mocker):
    refused = refusal(status, "test failed")
    store = mocker.Mock()
    store.patch.side_effect = [refused, {"id": "o-1", "etag": 3}]
    store.get.return_value = {**GUARDED_OFFER, "etag": "2", "description": "theirs"}

    final, wrote = reconcile.converge(store, GUARDED_OFFER, {"description": "new"})

    assert (final, wrote) == ({"id": "o-1", "etag": 3}, True)
    (_, resent), _ = store.patch.call_args
    assert resent[0] == {"op": "test", "path": "/description", "value": "theirs"}


def test_a_refusal_with_no_concurrent_change_is_raised(mocker):
    refused = refusal(422, "bad value")
    store = mocker.Mock()
    store.patch.side_effect = refused
    store.get.return_value = {**GUARDED_OFFER, "etag": "1"}  # the same version, as a digit string

    with pytest.raises(type(refused)):
        reconcile.converge(store, GUARDED_OFFER, {"description": "new"})
