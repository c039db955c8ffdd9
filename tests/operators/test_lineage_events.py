"""What Airflow's OpenLineage listener emits for our tasks, through `dag.test()`.

See docs/openlineage.md. The listener is configured as a user would: `[openlineage]
transport` set to the provider's file transport, in a fresh interpreter (the plugin reads its
configuration once, when Airflow loads plugins; this test process loaded them long ago without
any).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WEB = "https://ns.adobe.com/xdm/channel-types/web"

DAG_SOURCE = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator

with DAG("offers_lineage", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={{"name": "Banner", "componentType": "imagelink", "channel": "{WEB}"}},
    )

    def offer(name, url):
        return {{
            "name": name,
            "description": "as the catalog says",
            "status": "draft",
            "representations": [{{
                "channel": "{WEB}",
                "placement": placement.output["id"],
                "components": [{{"type": "imagelink", "format": "image/png",
                                 "deliveryURL": url}}],
            }}],
        }}

    fallback = CreateFallbackOfferOperator(
        task_id="offer", offer=offer("Fallback", "https://cdn.example.com/a.png")
    )
    sync = SyncFallbackOffersOperator(
        task_id="sync",
        catalog="lineage",
        offers=[offer("From the catalog", "https://cdn.example.com/b.png"),
                offer("Also from the catalog", "https://cdn.example.com/c.png")],
    )
    fallback >> sync
"""

RUN_THE_DAG = """
import importlib.util, sys
from airflow_provider_offers.emulator.pytest_airflow import share_one_execution_api
share_one_execution_api()
spec = importlib.util.spec_from_file_location("offers_lineage_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("STATE", module.dag.test().state)
"""


@pytest.fixture
def lineage_events(tmp_dags: Path, tmp_path: Path, adobe_connection):
    """`lineage_events()`: run the DAG with the listener on; its events, one dict each."""

    def run() -> list[dict]:
        dag_file = tmp_dags / "offers_lineage.py"
        dag_file.write_text(textwrap.dedent(DAG_SOURCE))
        events = tmp_path / "openlineage.jsonl"
        transport = {"type": "file", "log_file_path": str(events), "append": True}
        env = {**os.environ, "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)}
        try:
            done = subprocess.run(
                [sys.executable, "-c", RUN_THE_DAG, str(dag_file)],
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
            )
        finally:
            dag_file.unlink()
        assert "STATE success" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
        return [json.loads(line) for line in events.read_text().splitlines() if line.strip()]

    return run


def completed(events: list[dict]) -> dict[str, dict]:
    """task id -> its COMPLETE event."""
    return {
        event["job"]["name"].removeprefix("offers_lineage."): event
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith("offers_lineage.")
    }


def written(event: dict) -> list[tuple[str, str, str]]:
    return [
        (d["namespace"], d["name"], d["facets"]["lifecycleStateChange"]["lifecycleStateChange"])
        for d in event["outputs"]
    ]


def test_the_listener_reports_what_each_task_wrote(
    lineage_events, offer_library_emulator, dps, adobe_connection
):
    namespace = f"adobe-platform://{offer_library_emulator.org_id}"

    first = completed(lineage_events())

    assert set(first) == {"placement", "offer", "sync"}
    (placement,) = dps.get("/placements", limit="100")["results"]
    offers = {offer["name"]: offer["id"] for offer in dps.offers()}
    assert written(first["placement"]) == [
        (namespace, f"prod/placements/{placement['id']}", "CREATE")
    ]
    assert written(first["offer"]) == [
        (namespace, f"prod/fallback-offers/{offers['Fallback']}", "CREATE")
    ]
    assert sorted(written(first["sync"])) == sorted(
        (namespace, f"prod/fallback-offers/{offers[name]}", "CREATE")
        for name in ("From the catalog", "Also from the catalog")
    )
    assert all(event["inputs"] == [] for event in first.values())

    # Run again after someone changed one offer: only what the run wrote is reported.
    changed = offers["From the catalog"]
    dps.patch_offer(
        changed, [{"op": "replace", "path": "/description", "value": "changed by hand"}]
    )

    again = completed(lineage_events())

    assert written(again["placement"]) == written(again["offer"]) == []
    assert written(again["sync"]) == [(namespace, f"prod/fallback-offers/{changed}", "ALTER")]
