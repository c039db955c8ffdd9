"""The offer operators through real Airflow (`dag.test()`) against the emulator over loopback.

`dag.test()` costs seconds per run on this machine, so each test runs one DAG (a few at most)
and checks several things a user would look at: task states, XCom, the task output, and what
the Offer Library actually received (the emulator's request log).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow_compat import needs_airflow_3_3
from test_extra_links import stored_link

DPS_OFFERS = "/data/core/dps/offers"
SECRET_FREE = ("offers-emulator-secret",)


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
    """The "Adobe offer" link as the UI reads it."""
    return stored_link(run, task_id, "AdobeOfferLink", map_index)


def writes(requests) -> list:
    """The DPS offer writes among logged requests."""
    return [r for r in requests if r.path.startswith(DPS_OFFERS) and r.method != "GET"]


@pytest.fixture
def placement(dps) -> str:
    return dps.create_placement("Homepage banner")


def test_create_twice_writes_once_then_updates_only_what_changed(
    etag, run_dag, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    first = dps.offer_body("Spring fallback", placement, description="Shown when nothing else fits")
    templated = {**first, "name": "{{ params.season }} fallback"}  # rendered before validation
    tasks = (
        "    CreateFallbackOfferOperator(task_id='create', params={'season': 'Spring'}, "
        f"offer={templated!r})"
    )

    run = run_dag(dag_source("offers_idempotent", tasks), "offers_idempotent")

    assert run.task_states() == {"create": "success"}
    created = run.xcom("create")
    (stored,) = dps.offers()
    assert created == {
        "id": stored["id"],
        "name": "Spring fallback",
        "etag": etag(1),
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
    assert run.xcom("create")["etag"] == etag(1)

    # Changed content, and a field (description) no longer given: the smallest guarded patch,
    # and the description the DAG no longer mentions is left alone.
    second = dps.offer_body("Spring fallback", placement, url="https://cdn.example.com/b.png")
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
        "etag": etag(2),
        "lastModifiedDate": None,
        "sandbox": "prod",
        "action": "updated",
    }
    (stored,) = dps.offers()
    assert stored["description"] == "Shown when nothing else fits"
    assert stored["representations"] == second["representations"]

    # Neither the client secret nor any access token reached the task output or XCom.
    output = task_output()
    tokens = list(emulator.backend.tokens)
    assert tokens
    for secret in [emulator.client_secret, *tokens]:
        assert secret not in output
        assert secret not in json.dumps(run.xcom("create"))


def test_if_exists_modes_and_personalized_offers(
    run_dag, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    ids = {
        name: dps.create_offer(dps.offer_body(name, placement, description="original"))["id"]
        for name in ("Skip me", "Fail me", "Update me")
    }
    personalized = dps.offer_body(
        "Ten percent off",
        placement,
        rank={"priority": 3},
        selectionConstraint={
            "startDate": "2026-01-01T00:00:00.000+00:00",
            "endDate": "2027-01-01T00:00:00.000+00:00",
            "profileConstraintType": "none",
        },
    )
    # `update` gets its offer as a JSON string, as a templated `{{ ... | tojson }}` renders.
    tasks = "\n".join(
        f"    CreateFallbackOfferOperator(task_id={mode!r}, if_exists={mode!r}, "
        f"offer={as_given(dps.offer_body(name, placement, description='changed'))!r})"
        for mode, name, as_given in (
            ("skip", "Skip me", dict),
            ("fail", "Fail me", dict),
            ("update", "Update me", json.dumps),
        )
    )
    tasks += (
        "\n    CreateOfferOperator(task_id='personalized', offer_type=' Personalized', "
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
    output = task_output()
    assert f"offer named 'Fail me' already exists: id {ids['Fail me']!r}" in output
    descriptions = {o["name"]: o["description"] for o in dps.offers()}
    assert descriptions == {"Skip me": "original", "Fail me": "original", "Update me": "changed"}
    (patch, create) = sorted(writes(emulator.requests[before:]), key=lambda r: r.method)
    assert patch.method == "PATCH" and patch.path == f"{DPS_OFFERS}/{ids['Update me']}"
    assert patch.json == [
        {"op": "test", "path": "/description", "value": "original"},
        {"op": "replace", "path": "/description", "value": "changed"},
    ]
    assert create.method == "POST" and create.query["offer-type"] == ["personalized"]
    (stored,) = dps.offers("personalized")
    assert run.xcom("personalized")["id"] == stored["id"]
    assert link(run, "personalized").endswith(f"/offers/personalized/{stored['id']}")


@needs_airflow_3_3
def test_lost_writes_are_reconciled_within_the_task_and_across_retries(
    etag,
    run_dag,
    adobe_connection,
    offer_library_emulator,
    dps,
    placement,
    when_received,
    task_output,
):
    """Every write here commits and then loses its connection. `within` finds its offer by name
    at once. `across` cannot look (its look-up after the lost create is refused), fails, and its
    retry finds the offer: with if_exists="fail" it must still succeed, as the offer is its own.
    `patch_across` (expected etag 1) likewise cannot re-read after its lost PATCH; its retry
    sees etag 2 and must recognise its own write instead of failing the etag check.
    """
    emulator = offer_library_emulator
    target = dps.create_offer(dps.offer_body("Patch target", placement, description="v1"))["id"]
    before = len(emulator.requests)
    emulator.inject_fault("POST", DPS_OFFERS, drop_after_commit=True, delay_seconds=0.5, times=2)
    emulator.inject_fault("PATCH", DPS_OFFERS, drop_after_commit=True, delay_seconds=0.5)
    refuse_next_read = emulator.inject_fault
    when_received(
        "POST", DPS_OFFERS, lambda: refuse_next_read("GET", DPS_OFFERS, status=400), nth=2
    )
    when_received("PATCH", DPS_OFFERS, lambda: refuse_next_read("GET", DPS_OFFERS, status=400))
    replace = [{"op": "replace", "path": "/description", "value": "v2"}]
    within, across = (dps.offer_body(name, placement) for name in ("Within", "Across"))
    tasks = f"""
    retry_once = dict(retries=1, retry_delay=timedelta(0))
    within = CreateFallbackOfferOperator(task_id="within", offer={within!r})
    across = CreateFallbackOfferOperator(
        task_id="across", offer={across!r}, if_exists="fail", **retry_once
    )
    patch_across = PatchFallbackOfferOperator(
        task_id="patch_across",
        offer_id={target!r},
        operations={replace!r},
        expected_etag=1,
        **retry_once,
    )
    within >> across >> patch_across
"""
    run = run_dag(dag_source("offers_lost_writes", tasks), "offers_lost_writes")

    assert run.task_states() == {
        "within": "success",
        "across": "success",
        "patch_across": "success",
    }
    stored = {o["name"]: o for o in dps.offers()}
    assert sorted(stored) == ["Across", "Patch target", "Within"]
    assert [r.method for r in writes(emulator.requests[before:])] == ["POST", "POST", "PATCH"]
    for task_id, name in (("within", "Within"), ("across", "Across")):
        assert run.xcom(task_id) | {"lastModifiedDate": None} == {
            "id": stored[name]["id"],
            "name": name,
            "etag": etag(1),
            "lastModifiedDate": None,
            "sandbox": "prod",
            "action": "created",
        }
    assert (stored["Patch target"]["description"], stored["Patch target"]["etag"]) == (
        "v2",
        etag(2),
    )
    assert run.xcom("patch_across")["etag"] == etag(2)
    assert [r.method for r in emulator.requests if r.status == 400] == ["GET", "GET"]
    output = task_output()
    assert "was created by this task" in output
    assert "already carries this patch (an earlier attempt wrote it)" in output


def test_patch_with_expected_etag_and_delete(
    etag,
    run_dag,
    adobe_connection,
    offer_library_emulator,
    dps,
    placement,
    when_received,
    task_output,
):
    """One run, in order: `patch_ok` checks etag 1 (templated) and its PATCH commits but the
    answer is lost, so it must recognise its own write; `patch_raced` checks etag 2, but while
    its PATCH is held someone else changes the description: its `test` guard makes the server
    refuse, so the other writer's change survives; `patch_stale` expects an old etag and writes
    nothing; then delete, and delete again (already gone is success)."""
    emulator = offer_library_emulator
    offer_id = dps.create_offer(dps.offer_body("Etag offer", placement, description="v1"))["id"]
    emulator.inject_fault("PATCH", DPS_OFFERS, drop_after_commit=True, times=1)
    emulator.inject_fault("PATCH", DPS_OFFERS, delay_seconds=1.0, times=1)
    when_received(
        "PATCH",
        DPS_OFFERS,
        lambda: dps.patch_offer(
            offer_id, [{"op": "replace", "path": "/description", "value": "theirs"}]
        ),
        nth=2,
    )
    replace = [{"op": "replace", "path": "/description", "value": "ours"}]
    tasks = f"""
    common = dict(offer_id={offer_id!r}, operations={replace!r})
    patch_ok = PatchFallbackOfferOperator(
        task_id="patch_ok", expected_etag="{{{{ params.etag }}}}", params={{"etag": 1}}, **common
    )
    patch_raced = PatchFallbackOfferOperator(task_id="patch_raced", expected_etag=2, **common)
    patch_stale = PatchFallbackOfferOperator(
        task_id="patch_stale", expected_etag=1, trigger_rule="all_done", **common
    )
    delete = DeleteFallbackOfferOperator(
        task_id="delete", offer_id={offer_id!r}, trigger_rule="all_done"
    )
    delete_again = DeleteFallbackOfferOperator(task_id="delete_again", offer_id={offer_id!r})
    patch_ok >> patch_raced >> patch_stale >> delete >> delete_again
"""
    run = run_dag(dag_source("offers_patch", tasks), "offers_patch")

    assert run.task_states() == {
        "patch_ok": "success",
        "patch_raced": "failed",
        "patch_stale": "failed",
        "delete": "success",
        "delete_again": "success",
    }
    assert run.xcom("patch_ok") | {"lastModifiedDate": None} == {
        "id": offer_id,
        "etag": etag(2),
        "lastModifiedDate": None,
        "sandbox": "prod",
    }
    assert link(run, "patch_ok").endswith(
        f"/sname:prod/journey-optimizer/offers/fallback/{offer_id}"
    )
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    guarded = [{"op": "test", "path": "/description", "value": "v1"}, *replace]
    raced = [{"op": "test", "path": "/description", "value": "ours"}, *replace]
    # patch_ok sent once (not re-sent after the lost answer); patch_raced's refused; theirs.
    assert [(r.json, r.status) for r in patches] == [
        (guarded, 200),  # committed, then the connection was cut before the answer
        (raced, 409),
        ([{"op": "replace", "path": "/description", "value": "theirs"}], 200),
    ]
    output = task_output()
    assert (
        f"offer {offer_id!r} changed between the etag check and the write: expected etag 2, "
        "current etag 3; nothing was written"
    ) in output
    assert f"offer {offer_id!r} has etag: expected etag 1, current etag 3" in output
    assert run.xcom("delete") == {"id": offer_id, "sandbox": "prod", "deleted": True}
    assert run.xcom("delete_again") == {"id": offer_id, "sandbox": "prod", "deleted": False}
    assert dps.offers() == []


def test_concurrent_change_between_read_and_patch_is_not_lost(
    etag, run_dag, adobe_connection, offer_library_emulator, dps, placement, when_received
):
    """The DAG changes the image of its representation, computed as a patch at
    /representations/0/... from what it read. While that PATCH is held, someone else inserts a
    representation for another placement at index 0 and sets a description. An unguarded patch
    would now write our image into *their* representation and leave ours stale; the guarded
    one is refused, re-read and recomputed: our image lands, and their description (a field the
    DAG does not declare) is kept."""
    emulator = offer_library_emulator
    other_placement = dps.create_placement("Sidebar")
    original = dps.offer_body("Raced offer", placement)
    offer_id = dps.create_offer(original)["id"]
    theirs = {
        "channel": "https://ns.adobe.com/xdm/channel-types/web",
        "placement": other_placement,
        "components": [{"type": "imagelink", "format": "image/png", "deliveryURL": "https://x/t"}],
    }
    emulator.inject_fault("PATCH", DPS_OFFERS, delay_seconds=1.0, times=1)
    when_received(
        "PATCH",
        DPS_OFFERS,
        lambda: dps.patch_offer(
            offer_id,
            [
                {"op": "add", "path": "/representations/0", "value": theirs},
                {"op": "add", "path": "/description", "value": "set by someone else"},
            ],
        ),
    )
    desired = dps.offer_body("Raced offer", placement, url="https://cdn.example.com/new.png")
    tasks = f"    CreateFallbackOfferOperator(task_id='create', offer={desired!r})"

    run = run_dag(dag_source("offers_raced", tasks), "offers_raced")

    assert run.task_states() == {"create": "success"}
    stored = dps.get_offer(offer_id)
    assert stored["representations"] == desired["representations"]
    assert stored["description"] == "set by someone else"
    ours = [r for r in emulator.requests if r.method == "PATCH" and r.json[0]["op"] == "test"]
    assert [r.status for r in ours] == [409, 200]
    assert ours[1].json[0] == {
        "op": "test",
        "path": "/representations",
        "value": [theirs, *original["representations"]],
    }
    assert run.xcom("create")["action"] == "updated"
    assert run.xcom("create")["etag"] == stored["etag"] == etag(3)


def test_mapped_create_of_twenty_offers_in_another_sandbox(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    emulator = offer_library_emulator
    dev = dps.in_sandbox("dev")
    placement = dev.create_placement("Dev banner")
    offers = [dps.offer_body(f"Mapped offer {i:02d}", placement) for i in range(20)]
    tasks = (
        "    CreateFallbackOfferOperator.partial(task_id='create', sandbox_name='dev')"
        f".expand(offer={offers!r})"
    )
    before = len(emulator.requests)

    run = run_dag(dag_source("offers_mapped", tasks), "offers_mapped")
    sent = [r for r in emulator.requests[before:] if r.path.startswith("/data/core/dps")]

    assert run.task_states() == {f"create[{i}]": "success" for i in range(20)}
    stored = {o["name"]: o["id"] for o in dev.offers()}
    assert sorted(stored) == [o["name"] for o in offers]
    assert dps.offers() == []
    for i in (0, 19):
        value = run.xcom("create", map_index=i)
        assert value["name"] == f"Mapped offer {i:02d}"
        assert (value["id"], value["sandbox"], value["action"]) == (
            stored[value["name"]],
            "dev",
            "created",
        )
        assert f"/sname:dev/journey-optimizer/offers/fallback/{value['id']}" in link(
            run, "create", i
        )
    assert len([r for r in sent if r.method == "POST"]) == 20
    assert {r.headers["x-sandbox-name"] for r in sent} == {"dev"}


def test_bad_input_fails_before_any_request(
    run_dag, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    emulator = offer_library_emulator
    good = dps.offer_body("Fine", placement)
    typo = dps.offer_body("Typo", placement)
    typo["representations"][0]["components"][0]["deliveryUrl"] = "https://cdn/x.png"
    del typo["representations"][0]["components"][0]["deliveryURL"]
    no_name = {k: v for k, v in good.items() if k != "name"}
    tasks = f"""
    CreateFallbackOfferOperator(task_id="typo", offer={typo!r})
    CreateFallbackOfferOperator(task_id="no_name", offer={no_name!r})
    CreateFallbackOfferOperator(task_id="bad_mode", offer={good!r}, if_exists="replace")
    CreateOfferOperator(task_id="bad_type", offer={good!r}, offer_type="seasonal")
    PatchFallbackOfferOperator(
        task_id="bad_op", offer_id="x", operations=[{{"op": "replace", "path": "name", "value": 1}}]
    )
    PatchFallbackOfferOperator(
        task_id="bad_etag",
        offer_id="x",
        operations=[{{"op": "remove", "path": "/description"}}],
        expected_etag="latest",
    )
    # With expected_etag a GET would go out first; with retries a bad input must still fail
    # once (a retry cannot fix it), not wait for a retry.
    PatchFallbackOfferOperator(
        task_id="bad_op_at_etag",
        offer_id="x",
        operations=[{{"op": "replace", "path": "/name"}}],
        expected_etag=1,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
"""
    before = len(emulator.requests)

    run = run_dag(dag_source("offers_bad_input", tasks), "offers_bad_input")

    assert set(run.task_states().values()) == {"failed"}
    assert emulator.requests[before:] == []  # not even a token request
    output = task_output()
    for message in (
        "offer.representations[0].components[0]: unknown field(s) 'deliveryUrl'",
        "offer.name: Field required",
        "if_exists: 'replace' is not one of update, skip, fail",
        "offer_type: 'seasonal' is not an offer type: expected one of 'fallback', 'personalized'",
        "operations[0]: path 'name' is not a JSON Pointer",
        "expected_etag: 'latest' is not an etag",
        "operations[0]: op 'replace' needs a `value`",
    ):
        assert f"invalid input, nothing was sent: {message}" in output
    assert output.count("op 'replace' needs a `value`") == 1  # one try, not two


def test_importing_the_operators_stays_cheap():
    """DAG files import this module at every parse: beyond what `airflow.sdk` itself loads
    (httpx and pydantic among it), only the task base and the hook module (whose class names
    the default connection and imports nothing heavy at the top) and the extra links: no client
    or JSON Patch."""
    code = (
        "import sys\n"
        "from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_offers.operators.offers\n"
        # The import-light root package is loaded with airflow.sdk on some releases, not others.
        "print(sorted(set(sys.modules) - before - {'airflow_provider_offers'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(
        [
            "airflow_provider_offers._compat",
            "airflow_provider_offers._task",
            "airflow_provider_offers.hooks",
            "airflow_provider_offers.hooks.offers",
            "airflow_provider_offers.links",
            "airflow_provider_offers.operators",
            "airflow_provider_offers.operators._base",
            "airflow_provider_offers.operators.offers",
        ]
    )


def test_objects_made_elsewhere_in_other_forms_are_updated_not_refused(
    run_dag, adobe_connection, offer_library_emulator, dps, placement, task_output
):
    """Issue seen against Adobe: an offer made in the UI stores its dates in another form, or
    carries a value outside our write rules. Reading it must not fail, a desired value equal
    but for its form must send nothing, and a real change must land on the first guarded try
    (the guard carries the server's own JSON, not our re-serialised model)."""
    emulator = offer_library_emulator
    emulator.configure(offer_statuses=("draft", "approved", "archived", "live"))
    window = {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-12-31T00:00:00Z"}
    season = dps.create_offer(
        dps.offer_body("Season end", placement, selectionConstraint=window), "personalized"
    )
    odd = dps.create_offer(dps.offer_body("Odd status", placement, status="live"))
    moved = {  # the same start in another offset and precision, a later end
        "startDate": "2026-01-01T01:00:00.000+01:00",
        "endDate": "2027-01-31T00:00:00Z",
    }
    same = {"startDate": "2026-01-01T00:00:00.000+00:00", "endDate": "2026-12-31T00:00:00.000Z"}
    tasks = f"""
    same_window = CreateOfferOperator(
        task_id="same_window", offer_type="personalized",
        offer={dps.offer_body("Season end", placement, selectionConstraint=same)!r},
    )
    move_end = CreateOfferOperator(
        task_id="move_end", offer_type="personalized",
        offer={dps.offer_body("Season end", placement, selectionConstraint=moved)!r},
    )
    same_window >> move_end
    CreateFallbackOfferOperator(
        task_id="approve_odd", offer={dps.offer_body("Odd status", placement)!r}
    )
"""
    run = run_dag(dag_source("offers_made_elsewhere", tasks), "offers_made_elsewhere")

    assert run.task_states() == {
        "same_window": "success",
        "move_end": "success",
        "approve_odd": "success",
    }, task_output()
    assert run.xcom("same_window")["action"] == "unchanged"
    assert run.xcom("move_end")["action"] == "updated"
    assert run.xcom("approve_odd")["action"] == "updated"
    patches = [r for r in emulator.requests if r.method == "PATCH" and r.status is not None]
    assert [r.status for r in patches] == [200, 200]  # one guarded try each, nothing refused
    stored = dps.get_offer(season["id"], "personalized")["selectionConstraint"]
    assert stored["endDate"].startswith("2027-01-31T00:00:00")
    assert stored["startDate"] == dps.offers("personalized")[0]["selectionConstraint"]["startDate"]
    assert dps.get_offer(odd["id"])["status"] == "approved"
