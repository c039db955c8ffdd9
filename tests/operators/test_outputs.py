"""`task.output["id"]`: the fields users chain on are XComs of their own, through `dag.test()`."""

from __future__ import annotations

WEB = "https://ns.adobe.com/xdm/channel-types/web"

DAG_SOURCE = f"""
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    SyncFallbackOffersOperator,
)

with DAG("offers_outputs", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={{"name": "Banner", "componentType": "imagelink", "channel": "{WEB}"}},
    )
    offer = CreateFallbackOfferOperator(
        task_id="offer",
        offer={{
            "name": "Fallback",
            "status": "approved",
            "representations": [{{
                "channel": "{WEB}",
                "placement": placement.output["id"],
                "components": [{{"type": "imagelink", "format": "image/png",
                                 "deliveryURL": "https://cdn.example.com/a.png"}}],
            }}],
        }},
    )
    sync = SyncFallbackOffersOperator(
        task_id="sync",
        catalog="outputs",
        offers=[{{
            "name": "From the catalog",
            "status": "draft",
            "representations": [{{
                "channel": "{WEB}",
                "placement": placement.output["id"],
                "components": [{{"type": "imagelink", "format": "image/png",
                                 "deliveryURL": "https://cdn.example.com/b.png"}}],
            }}],
        }}],
    )

    @task
    def received(offer_id, etag, sandbox, counts, created):
        return {{"id": offer_id, "etag": etag, "sandbox": sandbox, "counts": counts,
                 "created": created}}

    received(offer.output["id"], offer.output["etag"], offer.output["sandbox"],
             sync.output["counts"], sync.output["created"])
"""


def test_downstream_tasks_receive_output_fields(run_dag, adobe_connection, dps):
    run = run_dag(DAG_SOURCE, "offers_outputs")

    assert run.state == "success", run.task_states()
    placement = run.xcom("placement")["id"]
    offers = {offer["name"]: offer for offer in dps.offers()}
    assert {o["representations"][0]["placement"] for o in offers.values()} == {placement}
    got = run.xcom("received")
    assert got["id"] == offers["Fallback"]["id"]
    assert got["etag"] == run.xcom("offer")["etag"] is not None
    assert got["sandbox"] == "prod"
    assert got["counts"]["created"] == got["created"] == 1
