"""api/reconcile.py over the real hook and the emulator, for what a DAG run cannot show cheaply."""

from __future__ import annotations

import pytest

from airflow_provider_offers.api import reconcile
from airflow_provider_offers.api.errors import RequestValidationError
from airflow_provider_offers.hooks.offers import OfferLibraryHook
from airflow_provider_offers.operators._store import HookResourceStore


@pytest.fixture
def store(adobe_connection):
    hook = OfferLibraryHook()
    yield HookResourceStore(hook, "fallback-offers")
    hook.close()


@pytest.fixture
def body(dps) -> dict:
    return dps.offer_body("Reconciled", dps.create_placement("Banner"))


def test_a_refused_patch_nobody_raced_is_raised_not_retried(
    store, body, offer_library_emulator, dps
):
    dps.create_offer(body)
    desired = {**body, "representations": [{**body["representations"][0], "placement": "gone"}]}

    with pytest.raises(RequestValidationError, match="placement"):
        reconcile.ensure_by_name(store, desired)

    patches = [r for r in offer_library_emulator.requests if r.method == "PATCH"]
    assert len(patches) == 1  # the etag did not move, so it is not a race: no second try


def test_an_offer_the_journal_knows_is_ours_even_with_if_exists_fail(store, body):
    """What a task retry relies on, with a dict-backed journal instead of Airflow's store."""

    class Journal:
        value = None

        def get(self):
            return self.value

        def set(self, value):
            self.value = value

    journal = Journal()
    first = reconcile.ensure_by_name(store, body, if_exists="fail", journal=journal)
    again = reconcile.ensure_by_name(store, body, if_exists="fail", journal=journal)

    assert (first.action, again.action, again.id) == ("created", "created", first.id)
    assert journal.value == {"name": "Reconciled", "id": first.id}
    with pytest.raises(reconcile.NameTakenError, match=first.id):
        reconcile.ensure_by_name(store, body, if_exists="fail")  # no journal: not known as ours


def test_a_create_that_did_not_commit_is_looked_for_twice_then_sent_again(
    store, body, offer_library_emulator, dps
):
    """A 502 to a POST: the client cannot know whether it was applied (OutcomeUnknownError).
    Here it was not: two empty look-ups (the second after the settle delay), one more POST,
    then the check that nobody created the name at the same moment."""
    offer_library_emulator.inject_fault("POST", "/data/core/dps/offers", status=502)

    result = reconcile.ensure_by_name(store, body, settle_seconds=0.01)

    calls = [
        (r.method, r.status)
        for r in offer_library_emulator.requests
        if r.path == "/data/core/dps/offers" and r.status != 401  # 401: a token renewal
    ]
    created = offer_library_emulator.config.create_status  # 201, or 200 as Adobe's examples
    looks_twice_creates = [
        ("GET", 200),
        ("POST", 502),
        ("GET", 200),
        ("GET", 200),
        ("POST", created),
    ]
    assert calls == [*looks_twice_creates, ("GET", 200)]  # the last: no namesake created at once
    assert result.action == "created"
    assert [o["id"] for o in dps.offers()] == [result.id]


def test_operations_that_fail_on_the_expected_version_are_not_sent(
    store, body, offer_library_emulator, dps
):
    offer_id = dps.create_offer({**body, "description": "current"})["id"]
    operations = [
        {"op": "test", "path": "/description", "value": "what the caller believed"},
        {"op": "replace", "path": "/description", "value": "new"},
    ]

    with pytest.raises(reconcile.OperationsDoNotApplyError, match="at etag 1"):
        reconcile.patch_offer(store, offer_id, operations, expected_etag=1)

    assert [r for r in offer_library_emulator.requests if r.method == "PATCH"] == []
