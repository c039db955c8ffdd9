"""example_offer_changed_asset on the real stack: the triggerer's watcher starts one DAG run per
offer change, and a triggerer restart neither replays a change nor misses one.

The example, copied into the DAGs folder with its `poll_interval` shortened from 60 s to 2 s
(nothing else changed), watches the emulator's fallback offers. "Someone else" patches an offer
over plain HTTP; what the test reads is what a user sees: the DAG's runs, the asset events that
started them, and the offers its first task returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from airflow_stack import AirflowStack, stack_on_emulator

from airflow_provider_offers.emulator.server import dps_client

pytestmark = pytest.mark.timeout(900)

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_offer_changed_asset.py"
DAG_ID = "example_offer_changed_asset"
ASSET = "adobe_offers_fallback_offer_changed"
LISTING = "/data/core/dps/offers"
WEB = "https://ns.adobe.com/xdm/channel-types/web"


class Watched:
    """The stack, and the emulator seen from outside over plain HTTP."""

    def __init__(self, stack: AirflowStack, url: str) -> None:
        self.stack = stack
        self.url = url
        self.dps = dps_client(url)

    def listings(self) -> int:
        """Offer listings answered so far (the watcher's looks)."""
        requests = httpx.get(f"{self.url}/_emulator/requests", timeout=10).json()
        return sum(
            1
            for r in requests
            if r["method"] == "GET" and r["path"] == LISTING and r["status"] == 200
        )

    def wait_for_looks(self, count: int, what: str) -> None:
        target = self.listings() + count
        self.stack.wait(lambda: self.listings() >= target, timeout=180, what=what)

    def runs(self) -> list[dict]:
        response = self.stack.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"order_by": "id"})
        return response.json()["dag_runs"]

    def wait_for_runs(self, count: int) -> list[dict]:
        def finished() -> list[dict] | None:
            runs = self.runs()
            if len(runs) >= count and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            return None

        return self.stack.wait(finished, timeout=240, what=f"{count} finished run(s) of {DAG_ID}")

    def triggering_offers(self, run: dict) -> list[dict]:
        response = self.stack.api(
            "GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents"
        )
        events = response.json()["asset_events"]
        assert all(event["extra"]["from_trigger"] for event in events), events
        return [event["extra"]["payload"] for event in events]

    def stored_cursors(self) -> list[dict]:
        """What the watcher keeps in its asset's state store (Airflow's REST API)."""
        assets = self.stack.api("GET", "/assets", params={"name_pattern": ASSET}).json()
        (asset,) = [a for a in assets["assets"] if a["name"] == ASSET]
        store = self.stack.api("GET", f"/assets/{asset['id']}/state-store").json()
        return store["asset_state_store"]


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Iterator[Watched]:
    home = tmp_path_factory.mktemp("airflow-asset")
    dags = home / "dags"
    dags.mkdir()
    source = EXAMPLE.read_text()
    assert source.count("poll_interval=60.0") == 1
    (dags / EXAMPLE.name).write_text(source.replace("poll_interval=60.0", "poll_interval=2.0"))
    with stack_on_emulator(home, dags) as (stack, url):
        stack.wait_for_dag(DAG_ID)
        stack.unpause(DAG_ID)
        view = Watched(stack, url)
        yield view
        view.dps.close()


def create_offer_and_decision(dps: httpx.Client) -> tuple[dict, str]:
    """A fallback offer and a live decision (no personalized offer) that serves it."""

    def create(path: str, body: dict, **params: str) -> dict:
        return dps.post(path, json=body, params=params).raise_for_status().json()

    placement = create(
        "/placements", {"name": "Asset test banner", "componentType": "imagelink", "channel": WEB}
    )["id"]
    component = {
        "type": "imagelink",
        "format": "image/png",
        "deliveryURL": "https://cdn.example.com/a.png",
    }
    offer = {
        "name": "Asset test fallback",
        "status": "approved",
        "representations": [{"channel": WEB, "placement": placement, "components": [component]}],
    }
    offer = create("/offers", offer, **{"offer-type": "fallback"})
    tag = create("/tags", {"name": "Asset test"})["id"]
    collection = create(
        "/offer-collections", {"name": "Asset test", "filterType": "any-tags", "ids": [tag]}
    )["id"]
    criterion = {"placements": [placement], "optionSelection": {"filter": collection}}
    decision = {
        "name": "Asset test decision",
        "status": "live",
        "fallback": offer["id"],
        "criteria": [criterion],
    }
    return offer, create("/offer-decisions", decision)["id"]


def patch_offer(dps: httpx.Client, offer_id: str, description: str) -> dict:
    operations = [{"op": "add", "path": "/description", "value": description}]
    response = dps.patch(f"/offers/{offer_id}", json=operations, params={"offer-type": "fallback"})
    return response.raise_for_status().json()


def test_one_run_per_change_across_a_triggerer_restart(watched: Watched):
    offer, decision = create_offer_and_decision(watched.dps)
    # the watcher's baseline: the offer that already exists starts nothing
    watched.wait_for_looks(3, "the watcher to take its baseline")
    assert watched.runs() == []

    patch_offer(watched.dps, offer["id"], "First change")
    (first,) = watched.wait_for_runs(1)
    watched.wait_for_looks(3, "three more looks after the first run")
    assert len(watched.runs()) == 1  # one change, one run: no replay on later looks

    (triggerer,) = [p for p in watched.stack.processes if p.name == "triggerer"]
    triggerer.stop()
    patch_offer(watched.dps, offer["id"], "Second change")  # while no watcher is looking
    triggerer.start()
    runs = watched.wait_for_runs(2)
    watched.wait_for_looks(3, "three more looks after the second run")

    runs = watched.runs()
    assert [r["state"] for r in runs] == ["success", "success"], watched.stack.diagnostics()
    assert [r["run_type"] for r in runs] == ["asset_triggered", "asset_triggered"]
    first_events, second_events = (watched.triggering_offers(r) for r in runs)
    assert [(e["id"], str(e["etag"])) for e in first_events] == [(offer["id"], "2")]
    assert [(e["id"], str(e["etag"])) for e in second_events] == [(offer["id"], "3")]
    assert {e["sandbox"] for e in first_events + second_events} == {"prod"}
    (cursor,) = watched.stored_cursors()
    assert cursor["key"].startswith("adobe_offers.change_cursor.")
    # The cursor keeps each offer's last version seen: {id: [etag, modified in ms]}.
    assert {k: str(v[0]) for k, v in cursor["value"]["seen"].items()} == {offer["id"]: "3"}
    changed = watched.stack.xcom(DAG_ID, first["dag_run_id"], "changed_offers")
    assert [(o["id"], o["name"]) for o in changed] == [(offer["id"], "Asset test fallback")]
    confirmed = watched.stack.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{runs[1]['dag_run_id']}/taskInstances/confirm_served"
        "/xcomEntries/return_value",
        params={"deserialize": True, "map_index": 0},
    ).json()["value"]
    assert (confirmed["offer"], str(confirmed["etag"])) == (offer["id"], "3")
    assert [(row["decision"], row["is_changed_offer"]) for row in confirmed["served"]] == [
        (decision, True)
    ]
