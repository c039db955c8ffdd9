"""One fallback offer per day, named after the logical date: safe to back-fill and re-run.

`catchup=True`: unpausing the DAG creates a run for every day since `start_date`, and
`airflow backfill create` can fill any range. Each run keeps its own offer, named
`Example daily fallback <ds>`; the name is the offer's key, so re-running a day (a retry, a
cleared task, a second backfill) finds that day's offer and changes at most its fields, and
never creates a second one.

The placement is shared by every day; `max_active_tis_per_dag=1` lets one run at a time make
sure it exists, so two days running side by side cannot both create it.

Connection `adobe_offers_default`: Adobe's Platform API, or the bundled emulator.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"
BANNER = "https://cdn.example.com/banners/daily-{{ ds_nodash }}.png"

with DAG(
    dag_id="example_fallback_offer_daily",
    schedule="@daily",
    start_date=datetime(2026, 11, 1),
    catchup=True,
    max_active_runs=3,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
) as dag:
    create_placement = CreatePlacementOperator(
        task_id="create_placement",
        placement={
            "name": "Example daily banner",
            "componentType": "imagelink",
            "channel": WEB,
            "itemCount": 1,
        },
        max_active_tis_per_dag=1,
    )
    create_daily_fallback_offer = CreateFallbackOfferOperator(
        task_id="create_daily_fallback_offer",
        offer={
            "name": "Example daily fallback {{ ds }}",
            "description": "Fallback banner for {{ ds }}",
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": create_placement.output["id"],
                    "components": [
                        {"type": "imagelink", "format": "image/png", "deliveryURL": BANNER}
                    ],
                }
            ],
        },
        if_exists="update",
    )
    create_placement >> create_daily_fallback_offer
