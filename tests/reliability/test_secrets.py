"""Every example DAG runs against the emulator; then no client secret and no access token the
emulator issued is anywhere a user or an attacker could read it.

Scanned (`secrets_scan.SecretsScan`, in tests/): the tasks' output and log records, every file
in the Airflow home (the metadata DB, the written DAG files; `dag.test()` writes no task log
files, tests/system scans the real stack's), every XCom and rendered template field, the
texts of the errors a run raised (a refused secret, an error body that echoes the
credentials back, a token refused twice), the repr of the hook, its clients, its config, its
token source and the asset watcher's trigger, and the emulator's request log as it prints it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from airflow_compat import HAS_AWAITING_INPUT
from secrets_scan import SecretsScan

from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.errors import OfferLibraryError
from airflow_provider_offers.hooks.offers import OfferLibraryHook

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
REVIEWER = Path(__file__).resolve().parents[1] / "example_dags" / "hitl_reviewer.py"
WRONG_SECRET = "a-secret-that-was-rotated-out"
UI_CONF = {
    "name": "Secrets scan banner",
    "description": "From the form",
    "image_url": "https://cdn.example.com/scan.png",
    "status": "approved",
    "sandbox": "dev",
}


#: How each example DAG is run (`dag.test()` arguments); a new example must be added here.
EXAMPLE_RUNS: dict[str, dict[str, object]] = {
    "example_fallback_offer_setup": {},
    "example_fallback_offer_daily": {"logical_date": datetime(2026, 11, 2, tzinfo=timezone.utc)},
    "example_fallback_offer_ui": {"run_conf": UI_CONF},
    "example_offer_catalog_sync": {},  # see approved_by_a_reviewer()
    "example_offer_changed_asset": {},  # its watcher and mapped task: watch_and_confirm()
    "example_offer_batch_decisioning": {},
    "example_offer_library_promotion": {},  # see promoted_from_development()
}
PROMOTION = "example_offer_library_promotion"


@contextlib.contextmanager
def approved_by_a_reviewer(dag_id: str, shown: Path) -> Iterator[None]:
    """A person (another process, tests/example_dags/hitl_reviewer.py) approving the plan of
    `dag_id` when asked."""
    reviewer = subprocess.Popen(
        [sys.executable, str(REVIEWER), dag_id, "approve", "Approve", shown]
    )
    try:
        yield
    finally:
        assert reviewer.wait(timeout=60) == 0


@contextlib.contextmanager
def catalog_beside_the_dag(dags: Path) -> Iterator[None]:
    """The catalog example's files, beside the DAG file."""
    shutil.copytree(EXAMPLE_DAGS / "offer_catalog", dags / "offer_catalog")
    try:
        yield
    finally:
        shutil.rmtree(dags / "offer_catalog")


def promoted_from_development(emulator, connection: dict, monkeypatch) -> None:
    """The promotion example's development sandbox ("dev", connection `adobe_offers_dev`),
    holding a placement and a fallback offer made there by hand."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ADOBE_OFFERS_DEV",
        json.dumps({**connection, "extra": {**connection["extra"], "sandbox_name": "dev"}}),
    )
    with emulator.dps_client("dev") as dev:
        web = "https://ns.adobe.com/xdm/channel-types/web"
        placement = {"name": "Promoted banner", "componentType": "html", "channel": web}
        placement_id = dev.post("/placements", json=placement).raise_for_status().json()["id"]
        component = {"type": "html", "format": "text/html", "content": "<p>{{profile.x}}</p>"}
        representation = {"channel": web, "placement": placement_id, "components": [component]}
        offer = {
            "name": "Promoted default",
            "status": "approved",
            "representations": [representation],
        }
        dev.post("/offers", params={"offer-type": "fallback"}, json=offer).raise_for_status()


async def first_event(trigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def run_every_example(run_dag, dags: Path, tmp_path: Path) -> dict[str, object]:
    """Each example DAG once, in EXAMPLE_RUNS's order; returns their runs by DAG id."""
    present = {path.stem for path in EXAMPLE_DAGS.glob("example_*.py")}
    assert present == set(EXAMPLE_RUNS), f"say how to run {present ^ set(EXAMPLE_RUNS)}"
    runs = {}
    for dag_id, arguments in EXAMPLE_RUNS.items():
        approved = dag_id in ("example_offer_catalog_sync", PROMOTION)
        if approved and not HAS_AWAITING_INPUT:
            continue  # its test reviewer answers a task in 3.3's awaiting_input state
        source = (EXAMPLE_DAGS / f"{dag_id}.py").read_text()
        around = contextlib.ExitStack()
        if approved:
            around.enter_context(approved_by_a_reviewer(dag_id, tmp_path / f"{dag_id}.json"))
        if dag_id == "example_offer_catalog_sync":
            around.enter_context(catalog_beside_the_dag(dags))
        if dag_id == PROMOTION:
            arguments = {"run_conf": {"setup_file": str(tmp_path / "promotion" / "setup.yaml")}}
        with around:
            runs[dag_id] = run = run_dag(source, dag_id, **arguments)
        assert run.state == "success", (dag_id, run.task_states())
    return runs


def watch_and_confirm(runs) -> tuple[object, dict, dict]:
    """The asset's watcher reports the setup DAG's offer; the mapped task confirms it."""
    dag = runs["example_offer_changed_asset"].dag
    (asset,) = dag.timetable.asset_condition.objects
    trigger = asset.watchers[0].trigger
    trigger.poll_interval, trigger.emit_existing = 0.1, True
    trigger.names = [runs["example_fallback_offer_setup"].xcom("create_fallback_offer")["name"]]
    event = asyncio.run(asyncio.wait_for(first_event(trigger), timeout=60))
    confirmed = dag.task_dict["confirm_served"].python_callable(event)
    return trigger, event, confirmed


def refusals(emulator, connection: dict, monkeypatch) -> list[BaseException]:
    """Errors whose texts could carry a credential: IMS refusing a secret, an error body that
    echoes the request's credentials (a misbehaving proxy), a token refused after renewal."""
    errors: list[BaseException] = []
    wrong = {**connection, "password": WRONG_SECRET}
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_WRONG_SECRET", json.dumps(wrong))
    with pytest.raises(OfferLibraryError) as refused:
        OfferLibraryHook("adobe_wrong_secret").get_offer("dps:fallback-offer:1")
    errors.append(refused.value)

    hook = OfferLibraryHook()
    list(hook.list_resources("placements", limit=1))
    token = hook.client.token_source.cached_token
    echo = (
        f"upstream refused Authorization: Bearer {token} (client_secret={emulator.client_secret})"
    )
    emulator.inject_fault("GET", "/data/core/dps/tags", status=400, body={"message": echo})
    with pytest.raises(OfferLibraryError) as echoed:
        list(hook.list_resources("tags"))
    assert "upstream refused Authorization: Bearer *** (client_secret=***)" in str(echoed.value)
    errors.append(echoed.value)
    emulator.inject_fault("GET", "/data/core/dps/tags", status=401, times=2)
    with pytest.raises(OfferLibraryError) as renewed:
        list(hook.list_resources("tags"))
    errors.append(renewed.value)
    hook.close()
    return errors


def test_no_secret_or_token_anywhere_after_every_example_dag(
    run_dag,
    tmp_dags,
    tmp_path,
    adobe_connection,
    offer_library_emulator,
    task_output,
    airflow_home,
    monkeypatch,
    capfd,
):
    emulator = offer_library_emulator
    ImsTokenSource.reset_cache()  # tokens from before this test's reset would not be in the scan
    promoted_from_development(emulator, adobe_connection, monkeypatch)
    runs = run_every_example(run_dag, tmp_dags, tmp_path)
    trigger, event, confirmed = watch_and_confirm(runs)
    assert confirmed["served"], confirmed  # the setup's decision serves the changed offer
    errors = refusals(emulator, adobe_connection, monkeypatch)
    emulator.revoke_tokens()  # one more token: renewed after a revocation
    issued = len(emulator.issued_tokens)
    hook = OfferLibraryHook()
    list(hook.list_resources("placements", limit=1))
    assert len(emulator.issued_tokens) == issued + 1
    aclient = asyncio.run(hook.aget_conn())

    scan = SecretsScan.for_emulator(emulator, WRONG_SECRET)
    scan.text("task output and log records", task_output())
    scan.airflow_metadata()
    scan.files(airflow_home)
    scan.files(tmp_path)  # the promotion's exported document among them
    scan.objects("hook", hook, hook.client, aclient, hook.config, hook.client.token_source)
    scan.objects("asset watcher", trigger)
    scan.text("asset watcher serialized", json.dumps(trigger.serialize(), default=repr))
    scan.text("asset event", json.dumps(event))
    for error in errors:
        scan.exception(type(error).__name__, error)
    scan.emulator_log(emulator)
    asyncio.run(aclient.aclose())
    hook.close()

    assert len(emulator.issued_tokens) >= 2
    # The log holds the credentials as received: a clean print of it means they were hidden.
    received = {
        r.headers.get("authorization", "").removeprefix("Bearer ") for r in emulator.requests
    }
    assert set(emulator.issued_tokens) & received
    assert {"xcom", "rendered fields", "file", "repr", "exception"} <= set(scan.places)
    assert scan.places["xcom"] >= 10 and scan.places["rendered fields"] >= 10
    with capfd.disabled():
        print(f"\n{scan.summary()}")
    scan.assert_clean()


def test_the_scan_finds_a_planted_secret_and_never_prints_it(tmp_path):
    planted = "s3cret-planted-value"
    scan = SecretsScan({"client secret": planted})
    (tmp_path / "task.log").write_text(f"Authorization: Bearer {planted}\n")
    try:
        try:
            raise ValueError(f"refused {planted}")
        except ValueError as cause:
            raise RuntimeError("the task failed") from cause
    except RuntimeError as error:
        scan.exception("chained error", error)
    scan.files(tmp_path).text("clean text", "nothing to see").objects("repr", {"k": planted})

    assert sorted({(hit.place, hit.secret) for hit in scan.hits}) == [
        ("chained error", "client secret"),
        ("file task.log", "client secret"),
        ("repr: dict", "client secret"),
    ]
    with pytest.raises(AssertionError) as failed:
        scan.assert_clean()
    assert planted not in str(failed.value)
    assert "Bearer <client secret>" in str(failed.value)
