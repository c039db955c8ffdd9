"""example_offer_library_promotion through `dag.test()`: a development sandbox's setup
exported, planned against production, approved by a person (another process, through the
API server's own handler) and applied; promoted again after a change in development."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from airflow_compat import needs_awaiting_input

from airflow_provider_offers.api.catalog import MARKER

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
REVIEWER = Path(__file__).with_name("hitl_reviewer.py")
DAG_ID = "example_offer_library_promotion"
DPS = "/data/core/dps"
WEB = "https://ns.adobe.com/xdm/channel-types/web"


def offer(name: str) -> dict:
    component = {"type": "html", "format": "text/html", "content": "<p>Hi {{profile.x}}</p>"}
    representation = {"channel": WEB, "placement": {"name": "Promo banner"}}
    return {
        "name": name,
        "status": "approved",
        "representations": [{**representation, "components": [component]}],
    }


def development_setup() -> dict:
    banner = {"name": "Promo banner"}
    return {
        "placements": [{"name": "Promo banner", "componentType": "html", "channel": WEB}],
        "personalized_offers": [offer("Promo spring")],
        "fallback_offers": [offer("Promo default")],
        "collections": [
            {"name": "Promo offers", "filterType": "offers", "ids": [{"name": "Promo spring"}]}
        ],
        "decisions": [
            {
                "name": "Promo decision",
                "status": "live",
                "fallback": {"name": "Promo default"},
                "criteria": [
                    {
                        "placements": [banner],
                        "profileConstraint": {"profileConstraintType": "none"},
                        "optionSelection": {"filter": {"name": "Promo offers"}},
                    }
                ],
            }
        ],
    }


@pytest.fixture
def development(adobe_connection, monkeypatch) -> None:
    """Connection `adobe_offers_dev`: the emulator's "dev" sandbox."""
    conn = copy.deepcopy(adobe_connection)
    conn["extra"]["sandbox_name"] = "dev"
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_OFFERS_DEV", json.dumps(conn))


def build_in_development(run_dag, setup: dict) -> None:
    """A team's development sandbox, built by hand (here: by a sync of its own)."""
    source = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.catalog import SyncOfferLibraryOperator

with DAG("build_dev", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    SyncOfferLibraryOperator(
        task_id="build", objects={setup!r}, catalog="dev-team", adobe_conn_id="adobe_offers_dev"
    )
"""
    assert run_dag(source, "build_dev").task_states() == {"build": "success"}


def names(dps, path: str, **params) -> dict[str, dict]:
    return {o["name"]: o for o in dps.get(path, limit="100", **params)["results"]}


@needs_awaiting_input
def test_a_promotion_recreates_the_setup_then_changes_only_what_changed(
    run_dag, development, offer_library_emulator, dps, tmp_path
):
    emulator = offer_library_emulator
    setup = development_setup()
    build_in_development(run_dag, setup)
    hand_made = dps.create_placement("Made in production's UI")
    setup_file = tmp_path / "setup.yaml"
    shown = tmp_path / "shown.json"
    reviewer = subprocess.Popen(
        [sys.executable, str(REVIEWER), DAG_ID, "approve", "Approve,Approve", str(shown)]
    )
    try:
        source = (EXAMPLE_DAGS / f"{DAG_ID}.py").read_text()
        first = run_dag(source, DAG_ID, run_conf={"setup_file": str(setup_file)})
        assert first.state == "success", first.task_states()
        assert first.xcom("apply")["counts"]["created"] == 5
        prod = names(dps, "/offer-decisions")["Promo decision"]
        dev = names(dps.in_sandbox("dev"), "/offer-decisions")["Promo decision"]
        assert prod["id"] != dev["id"]
        prod_fallback = names(dps, "/offers", **{"offer-type": "fallback"})["Promo default"]
        assert prod["fallback"] == prod_fallback["id"]
        assert prod_fallback["characteristics"] == {MARKER: "example-promotion"}

        setup["fallback_offers"][0]["description"] = "Spring copy"
        build_in_development(run_dag, setup)
        before = len(emulator.requests)
        second = run_dag(source, DAG_ID, run_conf={"setup_file": str(setup_file)})
        assert second.state == "success", second.task_states()
        counts = second.xcom("apply")["counts"]
        assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 4)
        writes = [
            (r.method, r.path.removeprefix(DPS + "/").split("/")[0])
            for r in emulator.requests[before:]
            if r.path.startswith(DPS)
            and r.method != "GET"
            and r.headers.get("x-sandbox-name") == "prod"
        ]
        assert writes == [("PATCH", "offers")]
        assert reviewer.wait(timeout=60) == 0
    finally:
        if reviewer.poll() is None:
            reviewer.kill()
    first_form, second_form = json.loads(shown.read_text())
    assert first_form["subject"] == "Promote the Offer Library setup to sandbox prod?"
    assert "| create | placements | Promo banner | - |" in first_form["body"]
    assert "| update | fallback_offers | Promo default |" in second_form["body"]
    assert "Spring copy" in second_form["body"]
    assert names(dps, "/placements")["Made in production's UI"]["id"] == hand_made
