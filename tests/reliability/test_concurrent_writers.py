"""Two tasks writing the same offer at the same moment: no update is lost. Each applies its
change on the state the other left, or fails naming the conflict; two syncs of overlapping
catalogs at once end in a state a third sync leaves unchanged.

The tasks run in two threads of this process, through the operators' `execute`, against the
emulator over loopback HTTP. The emulator holds the first writes a while, so the second task
reads the version the first one read: the race is forced, not hoped for.
"""

from __future__ import annotations

import pytest
from reliability_helpers import run_together, task_context

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    PatchFallbackOfferOperator,
    SyncFallbackOffersOperator,
)

OFFERS = "/data/core/dps/offers"


@pytest.fixture
def offer(adobe_connection, dps) -> dict:
    """An approved fallback offer at etag 1, and its body as declared."""
    body = dps.offer_body("Shared banner", dps.create_placement(), description="original")
    return {**dps.create_offer(body), "body": body}


def hold_writes(emulator, seconds: float = 2.0) -> None:
    """The next two offer patches wait before being applied: the second task reads while the
    first one's write is held, so both read one version and both write."""
    emulator.inject_fault("PATCH", OFFERS, delay_seconds=seconds, times=2)


def patches(emulator) -> list:
    return [r for r in emulator.requests if r.method == "PATCH" and r.path.startswith(OFFERS)]


def declare(task_id: str, body: dict):
    task = CreateFallbackOfferOperator(task_id=task_id, offer=body)
    return lambda: task.execute(task_context())


def test_two_updates_of_different_fields_both_land(offer_library_emulator, dps, offer):
    emulator = offer_library_emulator
    hold_writes(emulator)
    first = declare("describe", {**offer["body"], "description": "from task one"})
    without_description = {k: v for k, v in offer["body"].items() if k != "description"}
    second = declare("characterise", {**without_description, "characteristics": {"team": "two"}})

    outcomes = run_together(first, second)

    assert [o["action"] for o in outcomes] == ["updated", "updated"]
    stored = dps.get_offer(offer["id"])
    assert stored["description"] == "from task one"
    assert stored["characteristics"] == {"team": "two"}
    assert int(stored["etag"]) == 3  # two writes, none lost
    # Each patch tests only the members it changes, so neither refused the other.
    assert [r.status for r in patches(emulator)] == [200, 200]


def test_two_updates_of_the_same_field_apply_in_turn_each_on_the_fresh_state(
    offer_library_emulator, dps, offer
):
    emulator = offer_library_emulator
    hold_writes(emulator)
    one = declare("one", {**offer["body"], "description": "one"})
    two = declare("two", {**offer["body"], "description": "two"})

    outcomes = run_together(one, two)

    assert [o["action"] for o in outcomes] == ["updated", "updated"]
    first, refused, last = patches(emulator)
    assert (first.status, refused.status, last.status) == (200, 409, 200)
    winner = next(op["value"] for op in first.json if op["op"] != "test")
    assert {"op": "test", "path": "/description", "value": "original"} in refused.json
    # The later write was computed from the state the first one left, and checked against it.
    assert {"op": "test", "path": "/description", "value": winner} in last.json
    assert dps.get_offer(offer["id"])["description"] == next(
        op["value"] for op in last.json if op["op"] != "test"
    )


def test_two_patches_of_one_field_at_one_expected_etag_one_fails_naming_the_conflict(
    offer_library_emulator, dps, offer
):
    emulator = offer_library_emulator
    hold_writes(emulator)
    tasks = [
        PatchFallbackOfferOperator(
            task_id=f"patch{index}",
            offer_id=offer["id"],
            operations=[{"op": "replace", "path": "/description", "value": f"text {index}"}],
            expected_etag=1,
        )
        for index in range(2)
    ]

    outcomes = run_together(*(lambda task=task: task.execute(task_context()) for task in tasks))

    applied = [o for o in outcomes if isinstance(o, dict)]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(applied) == 1 and len(failed) == 1
    assert isinstance(failed[0], AirflowFailException)
    assert str(failed[0]) == (
        f"offer {offer['id']!r} changed between the etag check and the write: expected etag 1, "
        "current etag 2; nothing was written (sandbox 'prod')"
    )
    stored = dps.get_offer(offer["id"])
    assert int(stored["etag"]) == 2  # exactly one write: the one that succeeded
    assert stored["description"] == f"text {outcomes.index(applied[0])}"


def test_two_patches_of_different_fields_at_one_expected_etag_both_land(
    offer_library_emulator, dps, offer
):
    """Each patch's guards pin the members it touches; another member changing is no conflict."""
    hold_writes(offer_library_emulator)
    changes = {"/description": "new text", "/status": "draft"}
    tasks = [
        PatchFallbackOfferOperator(
            task_id=f"patch{index}",
            offer_id=offer["id"],
            operations=[{"op": "replace", "path": path, "value": value}],
            expected_etag=1,
        )
        for index, (path, value) in enumerate(changes.items())
    ]

    outcomes = run_together(*(lambda task=task: task.execute(task_context()) for task in tasks))

    assert sorted(int(o["etag"]) for o in outcomes) == [2, 3]
    stored = dps.get_offer(offer["id"])
    assert (stored["description"], stored["status"]) == ("new text", "draft")


def test_two_syncs_of_overlapping_catalogs_at_once_leave_nothing_for_a_third(
    offer_library_emulator, dps, adobe_connection
):
    placement = dps.create_placement()
    catalog = [dps.offer_body(f"Offer {n:02d}", placement) for n in range(30)]
    first = SyncFallbackOffersOperator(task_id="a", catalog="shared", offers=catalog[:20])
    second = SyncFallbackOffersOperator(task_id="b", catalog="shared", offers=catalog[10:])

    outcomes = run_together(
        lambda: first.execute(task_context()), lambda: second.execute(task_context())
    )

    assert all(isinstance(o, dict) for o in outcomes), outcomes
    names = [o["name"] for o in dps.offers()]
    assert sorted(names) == sorted(o["name"] for o in catalog)  # none twice
    third = SyncFallbackOffersOperator(task_id="c", catalog="shared", offers=catalog)
    result = third.execute(task_context())
    assert result["counts"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 30,
        "deleted": 0,
        "blocked": 0,
    }
