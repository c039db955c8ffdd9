"""Sensors: continue once a fallback offer has moved past the version a task made."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    PatchFallbackOfferOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.sensors.offers import OfferChangeSensor

WEB = "https://ns.adobe.com/xdm/channel-types/web"

with DAG(
    dag_id="docs_offer_change_sensor",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
):
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={"name": "Docs footer", "channel": WEB, "componentType": "html"},
    )
    offer = CreateFallbackOfferOperator(
        task_id="offer",
        offer={
            "name": "Docs footer fallback",
            "status": "draft",
            "representations": [
                {
                    "channel": WEB,
                    "placement": placement.output["id"],
                    "components": [
                        {"type": "html", "format": "text/html", "content": "<p>Footer</p>"}
                    ],
                }
            ],
        },
    )
    approve = PatchFallbackOfferOperator(
        task_id="approve",
        offer_id=offer.output["id"],
        operations=[{"op": "replace", "path": "/status", "value": "approved"}],
    )
    wait = OfferChangeSensor(
        task_id="wait",
        offer_id=offer.output["id"],
        since_etag=offer.output["etag"],  # done once the etag differs from this one
        deferrable=True,  # the wait runs in the triggerer, holding no worker slot
        poke_interval=30,
        timeout=3600,
    )

    placement >> offer >> approve >> wait
