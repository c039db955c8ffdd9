"""Offers: make a fallback offer, patch it at the version made, then delete it."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"

with DAG(
    dag_id="docs_offers",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
):
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={"name": "Docs sidebar", "channel": WEB, "componentType": "imagelink"},
    )
    offer = CreateFallbackOfferOperator(
        task_id="offer",
        offer={
            "name": "Docs sidebar fallback",
            "description": "Shown when nothing else qualifies",
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": placement.output["id"],
                    "components": [
                        {
                            "type": "imagelink",
                            "format": "image/png",
                            "deliveryURL": "https://cdn.example.com/sidebar-v1.png",
                        }
                    ],
                }
            ],
        },
    )
    patch = PatchFallbackOfferOperator(
        task_id="patch",
        offer_id=offer.output["id"],
        expected_etag=offer.output["etag"],  # exactly once: only the version just made
        operations=[{"op": "replace", "path": "/description", "value": "Sidebar, v2"}],
    )
    delete = DeleteFallbackOfferOperator(task_id="delete", offer_id=offer.output["id"])

    placement >> offer >> patch >> delete
