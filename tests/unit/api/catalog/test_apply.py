"""api/catalog/apply.py: the writes, the backoff gate, the clean-up after creates and long
rate limits (the client mocked with pytest-mock; nothing crosses HTTP here)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import SimpleNamespace

import pytest

from airflow_provider_offers.api import catalog
from airflow_provider_offers.api.answers import Receipt
from airflow_provider_offers.api.catalog import apply as catalog_apply
from airflow_provider_offers.api.catalog.plan import MARKER, compute_plan
from airflow_provider_offers.api.errors import (
    OutcomeUnknownError,
    RateLimitedError,
    RequestValidationError,
)
from airflow_provider_offers.api.resources import FALLBACK_OFFERS
from airflow_provider_offers.api.retry import RetryPolicy

from .catalog_helpers import listed, offer


def test_progress_is_logged_at_most_every_few_seconds_and_at_the_end(caplog):
    now = [100.0]
    progress = catalog_apply.Progress(5, every=5.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger=catalog_apply.__name__)
    for moment in (101.0, 104.0, 106.0, 107.0, 108.0):
        now[0] = moment
        progress.step()

    assert [r.getMessage() for r in caplog.records] == [
        "Applied 3/5 writes (0.5/s)",
        "Applied 5/5 writes (0.6/s)",
    ]


# -- the apply ----------------------------------------------------------------------------------


def test_a_wait_one_worker_is_told_holds_every_worker():
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = catalog.BackoffGate(clock=lambda: now[0], idle=fake_sleep)
    policy = gate.policy(RetryPolicy(max_attempts=3))
    assert (policy.max_attempts, policy.async_sleep) == (3, gate.sleep)

    asyncio.run(policy.async_sleep(2.0))  # one worker's 429 said "Retry-After: 2"
    now[0] = 0.5  # another worker, about to send, half a second after the 429
    asyncio.run(gate.wait())
    now[0] = 3.0  # once the time is up nobody waits
    asyncio.run(gate.wait())

    assert slept == [2.0, 1.5]


def test_a_shorter_back_off_never_reopens_the_gate_before_a_retry_after():
    now = [0.0]
    waits: list[tuple[float, float]] = []

    class Sent(Exception):
        """Ends a worker's wait once it has said how long it would wait."""

    async def fake_sleep(seconds: float) -> None:
        waits.append((now[0], seconds))
        raise Sent

    gate = catalog.BackoffGate(clock=lambda: now[0], idle=fake_sleep)

    def at(moment: float, step) -> None:
        now[0] = moment
        with contextlib.suppress(Sent):
            asyncio.run(step)

    at(0.0, gate.sleep(10.0))  # one worker's 429: "Retry-After: 10"
    at(1.0, gate.sleep(0.5))  # another worker's own, shorter, retry back-off
    at(2.0, gate.wait())  # a third worker about to send

    assert waits == [(0.0, 10.0), (1.0, 9.0), (2.0, 8.0)]


def test_a_failed_write_does_not_stop_the_others_and_is_named(mocker):
    async def create(resource, body):
        if body["name"] == "Refused":
            raise RequestValidationError("POST /offers failed with HTTP 400", status=400)
        return Receipt(id=f"id-{body['name']}", etag=1)

    async def list_json(resource, **query):  # the clean-up after creates lists once
        for name in ("Fine", "Also fine"):
            yield {**offer(name), "id": f"id-{name}", "etag": 1}

    client = mocker.Mock(create=create, list_json=list_json)
    plan = compute_plan("c", [offer("Fine"), offer("Refused"), offer("Also fine")], [])

    with pytest.raises(catalog.ApplyError) as raised:
        asyncio.run(
            catalog.apply_plan(
                client,
                plan,
                resource=FALLBACK_OFFERS,
                gate=catalog.BackoffGate(),
                max_concurrency=2,
            )
        )

    assert list(raised.value.failures) == ["Refused"]
    assert raised.value.counts["created"] == 2
    assert "'Refused': POST /offers failed with HTTP 400" in str(raised.value)


class Sandbox:
    """What the mocked client reads and writes: offers by id, and the writes it was sent."""

    def __init__(self, *offers: dict) -> None:
        self.offers = {o["id"]: dict(o) for o in offers}
        self.writes: list[tuple[str, str]] = []
        self.made = 0
        #: name -> an offer someone else makes right after our create of that name
        self.namesake_after_create: dict[str, dict] = {}

    def client(self, mocker, create=None):
        async def create_(resource, body):
            self.made += 1
            new = {**body, "id": f"ours-{self.made}", "etag": 1, "created": "2026-01-02T00:00Z"}
            self.offers[new["id"]] = new
            self.writes.append(("create", new["id"]))
            if body["name"] in self.namesake_after_create:
                theirs = self.namesake_after_create[body["name"]]
                self.offers[theirs["id"]] = theirs
            return Receipt(id=new["id"], etag=1)

        async def list_json(resource, **query):
            for value in list(self.offers.values()):
                yield value

        async def get(resource, offer_id):
            return SimpleNamespace(raw_json=lambda: dict(self.offers[offer_id]))

        async def patch(resource, offer_id, operations):
            self.writes.append(("patch", offer_id))
            return Receipt(id=offer_id, etag=2)

        async def delete(resource, offer_id):
            self.writes.append(("delete", offer_id))
            del self.offers[offer_id]

        return mocker.Mock(
            create=create or create_, list_json=list_json, get=get, patch=patch, delete=delete
        )


def run_apply(client, plan, max_concurrency: int = 2):
    return asyncio.run(
        catalog.apply_plan(
            client,
            plan,
            resource=FALLBACK_OFFERS,
            gate=catalog.BackoffGate(),
            max_concurrency=max_concurrency,
        )
    )


@pytest.mark.parametrize(
    ("theirs_created", "survivor"),
    [
        # Made by hand just before our create: it is older. Ours goes; theirs is not touched.
        ("2026-01-01T23:59:59.000Z", "theirs"),
        # Written with an offset: 2026-01-02T00:30+02:00 is 22:30Z the day before, older than
        # ours although its text sorts after ours.
        ("2026-01-02T00:30:00.000+02:00", "theirs"),
        # Made by hand just after our create: it is newer. It is never deleted.
        ("2026-01-02T00:00:01.000Z", "ours-1"),
    ],
)
def test_the_clean_up_after_creates_never_deletes_nor_marks_an_offer_made_elsewhere(
    mocker, theirs_created, survivor
):
    sandbox = Sandbox()
    theirs = {**offer("Spring"), "id": "theirs", "etag": 1, "created": theirs_created}
    sandbox.namesake_after_create["Spring"] = theirs
    plan = compute_plan("c", [offer("Spring", description="ours")], [])

    run_apply(sandbox.client(mocker), plan)

    assert sandbox.offers["theirs"] == theirs  # neither deleted, nor patched, nor marked
    kept = sorted(sandbox.offers)
    assert kept == (["theirs"] if survivor == "theirs" else ["ours-1", "theirs"])
    assert ("patch", "theirs") not in sandbox.writes


def test_the_clean_up_deletes_only_the_copy_this_run_created(mocker):
    """Another run of the same catalog made copies too (marked): they are that run's to
    delete; this run deletes its own newer copy and brings the oldest to the catalog."""
    older = {
        **listed("Spring", "run-a", characteristics={MARKER: "c"}),
        "created": "2026-01-01T00:00Z",
    }
    newer = {
        **listed("Spring", "run-b", characteristics={MARKER: "c"}),
        "created": "2026-01-03T00:00Z",
    }
    sandbox = Sandbox()
    sandbox.namesake_after_create["Spring"] = older
    plan = compute_plan("c", [offer("Spring", description="v2")], [])
    client = sandbox.client(mocker)
    sandbox.offers["run-b"] = newer

    run_apply(client, plan)

    assert sorted(sandbox.offers) == ["run-a", "run-b"]
    assert ("delete", "ours-1") in sandbox.writes
    assert ("delete", "run-b") not in sandbox.writes
    assert ("patch", "run-a") in sandbox.writes  # the catalog's own oldest copy, converged


def test_the_clean_up_runs_even_when_another_write_failed(mocker):
    earlier = {
        **listed("Fine", "earlier", characteristics={MARKER: "c"}),
        "created": "2026-01-01T00:00Z",
    }
    sandbox = Sandbox()
    sandbox.namesake_after_create["Fine"] = earlier  # a listing missed it: created again
    plan = compute_plan("c", [offer("Fine"), offer("Refused")], [])
    honest = sandbox.client(mocker).create

    async def create(resource, body):
        if body["name"] == "Refused":
            raise RequestValidationError("POST /offers failed with HTTP 400", status=400)
        return await honest(resource, body)

    with pytest.raises(catalog.ApplyError, match="'Refused'"):
        run_apply(sandbox.client(mocker, create=create), plan)

    assert [o["name"] for o in sandbox.offers.values()] == ["Fine"]
    assert list(sandbox.offers) == ["earlier"]


def test_a_rate_limit_beyond_the_wait_cap_stops_new_writes_and_is_raised(mocker):
    sandbox = Sandbox()
    honest = sandbox.client(mocker).create
    plan = compute_plan("c", [offer(f"Offer {i}") for i in range(6)], [])

    async def create(resource, body):
        if body["name"] == "Offer 1":
            error = RateLimitedError("HTTP 429", status=429, retry_after=600.0)
            error.beyond_wait_cap = True
            raise error
        return await honest(resource, body)

    with pytest.raises(RateLimitedError) as raised:
        run_apply(sandbox.client(mocker, create=create), plan, max_concurrency=1)

    assert raised.value.retry_after == 600.0 and raised.value.beyond_wait_cap
    assert sorted(o["name"] for o in sandbox.offers.values()) == ["Offer 0"]


def test_progress_logs_every_five_seconds_by_default_at_the_second(caplog):
    now = [0.0]
    progress = catalog_apply.Progress(3, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger=catalog_apply.__name__)
    for moment in (1.0, 5.0, 5.5):
        now[0] = moment
        progress.step()
    assert [r.getMessage() for r in caplog.records] == [
        "Applied 2/3 writes (0.4/s)",
        "Applied 3/3 writes (0.5/s)",
    ]
    instant = catalog_apply.Progress(1, clock=lambda: 7.0)
    instant.step()  # no time has passed: the rate is still a number
    assert caplog.records[-1].getMessage().startswith("Applied 1/1 writes (")


def test_the_gate_holds_a_worker_for_a_wait_shorter_than_a_second():
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = catalog.BackoffGate(clock=lambda: now[0], idle=fake_sleep)
    asyncio.run(gate.wait())  # a new gate is open
    asyncio.run(gate.sleep(0.5))
    asyncio.run(gate.wait())  # open again once the half second is over
    assert slept == [0.5]


def test_an_apply_error_names_ten_failures_and_counts_the_rest():
    failures = {f"offer {i:02d}": ValueError(f"refused {i}") for i in range(12)}
    error = catalog.ApplyError(failures, {"created": 1})
    message = str(error)
    assert message.startswith("12 offer(s) could not be written ('offer 00': refused 0; ")
    assert "'offer 09': refused 9; and 2 more (see the log)); done: {'created': 1}" in message
    assert "offer 10" not in message
    exactly_ten = str(catalog.ApplyError(dict(list(failures.items())[:10]), {}))
    assert "more" not in exactly_ten


def test_the_apply_counts_what_it_did_for_each_kind_of_write(mocker):
    mine = {**listed("Old", "id-old", characteristics={MARKER: "c"})}
    changed = {**listed("Changed", "id-changed"), "description": "before"}
    same = listed("Same", "id-same")
    sandbox = Sandbox(mine, changed, same)
    wanted = [offer("New"), {**offer("Changed"), "description": "after"}, offer("Same")]
    plan = compute_plan("c", wanted, list(sandbox.offers.values()), prune=True)

    counts = run_apply(sandbox.client(mocker), plan)

    assert counts == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 1, "blocked": 0}
    assert sorted(kind for kind, _ in sandbox.writes) == ["create", "delete", "patch"]


def test_a_create_whose_answer_was_lost_is_found_by_name_not_sent_again(mocker):
    sandbox = Sandbox()
    fine = sandbox.client(mocker)

    async def lost(resource, body):  # the server made it; the answer never came back
        await fine.create(resource, body)
        raise OutcomeUnknownError("POST /offers: connection lost after sending")

    client = sandbox.client(mocker, create=lost)

    async def find_by_name(resource, name):
        found = [o for o in sandbox.offers.values() if o["name"] == name]
        return SimpleNamespace(raw_json=lambda: dict(found[0])) if found else None

    client.find_by_name = find_by_name
    plan = compute_plan("c", [offer("Spring")], [])

    counts = run_apply(client, plan)

    assert counts["created"] == 1
    assert [name for name in (o["name"] for o in sandbox.offers.values())] == ["Spring"]
    assert sandbox.writes == [("create", "ours-1")]
