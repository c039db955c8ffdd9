"""The offer operators through real Airflow (`dag.test()`) against the emulator over loopback.

`dag.test()` costs seconds per run on this machine, so each test runs one DAG (a few at most)
and checks several things a user would look at: task states, XCom, the task output, and what
the Offer Library actually received (the emulator's request log).
"""

from __future__ import annotations

import json

import pytest

DPS_OFFERS = "/data/core/dps/offers"
SECRET_FREE = ("offers-emulator-secret",)


def offer(name: str, placement: str, url: str = "https://cdn.example.com/a.png", **extra) -> dict:
    body = {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": "https://ns.adobe.com/xdm/channel-types/web",
                "placement": placement,
                "components": [{"type": "imagelink", "format": "image/png", "deliveryURL": url}],
            }
        ],
    }
    body.update(extra)
    return body


def dag_source(dag_id: str, tasks: str) -> str:
    """A DAG file: the operators are imported the way a user's DAG imports them."""
    return f"""
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    CreateOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
)

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
{tasks}
"""


def link(run, task_id: str, map_index: int = -1) -> str | None:
    """The extra link as the UI reads it: the raw XCom Airflow stored when the task finished
    (not JSON, so `DagTestRun.xcom` cannot read it)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(
            XComModel.__table__.select()
            .with_only_columns(XComModel.value)
            .where(
                XComModel.dag_id == run.dag.dag_id,
                XComModel.run_id == run.dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == map_index,
                XComModel.key == "_link_AdobeOfferLink",
            )
        )


def writes(requests) -> list:
    """The DPS offer writes among logged requests."""
    return [r for r in requests if r.path.startswith(DPS_OFFERS) and r.method != "GET"]


@pytest.fixture
def placement(outsider) -> str:
    return outsider.placement("Homepage banner")


def test_create_twice_writes_once_then_updates_only_what_changed(
    run_dag, adobe_connection, offer_library_emulator, outsider, placement, capfd
):
    emulator = offer_library_emulator
    first = offer("Spring fallback", placement, description="Shown when nothing else fits")
    tasks = f"    CreateFallbackOfferOperator(task_id='create', offer={first!r})"

    run = run_dag(dag_source("offers_idempotent", tasks), "offers_idempotent")

    assert run.task_states() == {"create": "success"}
    created = run.xcom("create")
    (stored,) = outsider.offers()
    assert created == {
        "id": stored["id"],
        "name": "Spring fallback",
        "etag": 1,
        "lastModifiedDate": created["lastModifiedDate"],
        "sandbox": "prod",
        "action": "created",
    }
    assert created["lastModifiedDate"].startswith(stored["modified"][:19])
    assert {k: stored[k] for k in first} == first
    assert link(run, "create") == (
        "https://experience.adobe.com/#/@/sname:prod/journey-optimizer/offers/fallback/"
        + stored["id"]
    )

    # The same DAG again: one lookup, no write at all.
    before = len(emulator.requests)
    run = run_dag(dag_source("offers_idempotent", tasks), "offers_idempotent")
    assert run.task_states() == {"create": "success"}
    assert writes(emulator.requests[before:]) == []
    assert run.xcom("create")["action"] == "unchanged"
    assert run.xcom("create")["etag"] == 1

    # Changed content, and a field (description) no longer given: the smallest guarded patch,
    # and the description the DAG no longer mentions is left alone.
    second = offer("Spring fallback", placement, url="https://cdn.example.com/b.png")
    tasks = f"    CreateFallbackOfferOperator(task_id='create', offer={second!r})"
    before = len(emulator.requests)
    run = run_dag(dag_source("offers_idempotent", tasks), "offers_idempotent")
    (patch,) = writes(emulator.requests[before:])
    assert patch.method == "PATCH"
    assert patch.json == [
        {"op": "test", "path": "/representations", "value": first["representations"]},
        {
            "op": "replace",
            "path": "/representations/0/components/0/deliveryURL",
            "value": "https://cdn.example.com/b.png",
        },
    ]
    assert run.xcom("create") | {"lastModifiedDate": None} == {
        "id": stored["id"],
        "name": "Spring fallback",
        "etag": 2,
        "lastModifiedDate": None,
        "sandbox": "prod",
        "action": "updated",
    }
    (stored,) = outsider.offers()
    assert stored["description"] == "Shown when nothing else fits"
    assert stored["representations"] == second["representations"]

    # Neither the client secret nor any access token reached the task output or XCom.
    output = "".join(capfd.readouterr())
    tokens = list(emulator.backend.tokens)
    assert tokens
    for secret in [emulator.client_secret, *tokens]:
        assert secret not in output
        assert secret not in json.dumps(run.xcom("create"))


def test_if_exists_modes_and_personalized_offers(
    run_dag, adobe_connection, offer_library_emulator, outsider, placement, capfd
):
    emulator = offer_library_emulator
    ids = {
        name: outsider.create_offer(offer(name, placement, description="original"))["id"]
        for name in ("Skip me", "Fail me", "Update me")
    }
    personalized = offer(
        "Ten percent off",
        placement,
        rank={"priority": 3},
        selectionConstraint={
            "startDate": "2026-01-01T00:00:00.000+00:00",
            "endDate": "2027-01-01T00:00:00.000+00:00",
            "profileConstraintType": "none",
        },
    )
    tasks = "\n".join(
        f"    CreateFallbackOfferOperator(task_id={mode!r}, if_exists={mode!r}, "
        f"offer={offer(name, placement, description='changed')!r})"
        for mode, name in (("skip", "Skip me"), ("fail", "Fail me"), ("update", "Update me"))
    )
    tasks += (
        "\n    CreateOfferOperator(task_id='personalized', offer_type='personalized', "
        f"offer={personalized!r})"
    )
    before = len(emulator.requests)

    run = run_dag(dag_source("offers_if_exists", tasks), "offers_if_exists")

    assert run.task_states() == {
        "skip": "success",
        "fail": "failed",
        "update": "success",
        "personalized": "success",
    }
    assert run.xcom("skip")["action"] == "unchanged"
    assert run.xcom("skip")["id"] == ids["Skip me"]
    assert run.xcom("update")["action"] == "updated"
    assert run.xcom("fail") is None
    output = "".join(capfd.readouterr())
    assert f"an offer named 'Fail me' already exists: id {ids['Fail me']!r}" in output
    descriptions = {o["name"]: o["description"] for o in outsider.offers()}
    assert descriptions == {"Skip me": "original", "Fail me": "original", "Update me": "changed"}
    (patch, create) = sorted(writes(emulator.requests[before:]), key=lambda r: r.method)
    assert patch.method == "PATCH" and patch.path == f"{DPS_OFFERS}/{ids['Update me']}"
    assert patch.json == [
        {"op": "test", "path": "/description", "value": "original"},
        {"op": "replace", "path": "/description", "value": "changed"},
    ]
    assert create.method == "POST" and create.query["offer-type"] == ["personalized"]
    (stored,) = outsider.offers(offer_type="personalized")
    assert run.xcom("personalized")["id"] == stored["id"]
    assert link(run, "personalized").endswith(f"/offers/personalized/{stored['id']}")


def test_lost_create_is_reconciled_within_the_task_and_across_retries(
    run_dag, adobe_connection, offer_library_emulator, outsider, placement, when_received, capfd
):
    """Both creates commit and then lose their connection. `within` finds its offer by name at
    once. `across` cannot look (its look-up after the lost create is refused), fails, and its
    retry finds the offer: with if_exists="fail" it must still succeed, as the offer is its own.
    """
    emulator = offer_library_emulator
    emulator.inject_fault("POST", DPS_OFFERS, drop_after_commit=True, delay_seconds=0.5, times=2)
    when_received(
        "POST",
        DPS_OFFERS,
        lambda: emulator.inject_fault("GET", DPS_OFFERS, status=400, times=1),
        nth=2,
    )
    tasks = f"""
    within = CreateFallbackOfferOperator(task_id="within", offer={offer("Within", placement)!r})
    across = CreateFallbackOfferOperator(
        task_id="across",
        offer={offer("Across", placement)!r},
        if_exists="fail",
        retries=1,
        retry_delay=timedelta(0),
    )
    within >> across
"""
    run = run_dag(dag_source("offers_lost_create", tasks), "offers_lost_create")

    assert run.task_states() == {"within": "success", "across": "success"}
    stored = {o["name"]: o["id"] for o in outsider.offers()}
    assert sorted(stored) == ["Across", "Within"]
    assert [r.method for r in writes(emulator.requests)] == ["POST", "POST"]
    for task_id, name in (("within", "Within"), ("across", "Across")):
        assert run.xcom(task_id) | {"lastModifiedDate": None} == {
            "id": stored[name],
            "name": name,
            "etag": 1,
            "lastModifiedDate": None,
            "sandbox": "prod",
            "action": "created",
        }
    assert [r.status for r in emulator.requests if r.status == 400] == [400]
    assert "was created by this task" in "".join(capfd.readouterr())
