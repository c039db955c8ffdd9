"""Decide offers for a whole audience into a dataset, then start the DAG that uses the dataset.

1. `create_tag`, `create_collection`, `create_placement`, `create_fallback_offer`,
   `create_decision`: make sure the decision and what it refers to exist (keyed by name, safe
   to re-run; see example_fallback_offer_setup).
2. `batch_decide`: Adobe's Batch Decisioning API decides the offers for every profile of the
   audience (the daily profile snapshot) and writes them into the output dataset. Deferrable:
   the wait runs in the triggerer. Exactly once: a retry waits on the workload already started.
3. The dataset is the task's outlet (`adobe-platform://<org>/<sandbox>/datasets/<id>`), so
   `example_offer_batch_decisioning_downstream` runs when it is done, and reads the workload
   id from the asset event.

Set `ADOBE_ORG_ID`, `ADOBE_SANDBOX`, `BATCH_AUDIENCE_ID` and `BATCH_DATASET_ID` for your
organization (the defaults suit the bundled emulator, `python -m airflow_provider_offers.emulator`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_offers.operators.batch_decisioning import (
    BatchDecisioningOperator,
    platform_dataset_asset,
)
from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import CreateDecisionOperator
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"
ORG_ID = os.environ.get("ADOBE_ORG_ID", "EMULATOR0000000000000000@AdobeOrg")
SANDBOX = os.environ.get("ADOBE_SANDBOX", "prod")
AUDIENCE_ID = os.environ.get("BATCH_AUDIENCE_ID", "609028e4-e66c-4776-b0d9-c782887e2273")
DATASET_ID = os.environ.get("BATCH_DATASET_ID", "6196b4a1a63bd118dafe093c")
OFFERS_DATASET = platform_dataset_asset(org_id=ORG_ID, sandbox_name=SANDBOX, dataset_id=DATASET_ID)


with DAG(
    dag_id="example_offer_batch_decisioning",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
) as dag:
    create_tag = CreateTagOperator(task_id="create_tag", tag={"name": "Example email campaign"})
    create_collection = CreateOfferCollectionOperator(
        task_id="create_collection",
        collection={
            "name": "Example email campaign offers",
            "filterType": "any-tags",
            "ids": [create_tag.output["id"]],
        },
    )
    create_placement = CreatePlacementOperator(
        task_id="create_placement",
        placement={
            "name": "Example email hero image",
            "componentType": "imagelink",
            "channel": WEB,
        },
    )
    create_fallback_offer = CreateFallbackOfferOperator(
        task_id="create_fallback_offer",
        offer={
            "name": "Example email fallback image",
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": create_placement.output["id"],
                    "components": [
                        {
                            "type": "imagelink",
                            "format": "image/png",
                            "deliveryURL": "https://cdn.example.com/email/fallback.png",
                        }
                    ],
                }
            ],
        },
    )
    create_decision = CreateDecisionOperator(
        task_id="create_decision",
        decision={
            "name": "Example email hero decision",
            "status": "live",
            "fallback": create_fallback_offer.output["id"],
            "criteria": [
                {
                    "placements": [create_placement.output["id"]],
                    "rank": {"priority": 0},
                    "profileConstraint": {"profileConstraintType": "none"},
                    "optionSelection": {"filter": create_collection.output["id"]},
                }
            ],
        },
    )
    batch_decide = BatchDecisioningOperator(
        task_id="batch_decide",
        audience_id=AUDIENCE_ID,
        dataset_id=DATASET_ID,
        propositions=[
            {
                "decision": create_decision.output["id"],
                "placement": create_placement.output["id"],
                "item_count": 1,
            }
        ],
        deferrable=True,
        poll_interval=30,
        timeout=6 * 3600,
        outlets=[OFFERS_DATASET],
    )

    create_tag >> create_collection >> create_decision
    create_placement >> create_fallback_offer >> create_decision >> batch_decide


with DAG(
    dag_id="example_offer_batch_decisioning_downstream",
    schedule=[OFFERS_DATASET],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "adobe-offers"],
    doc_md="Runs when `example_offer_batch_decisioning` has filled the offers dataset.",
) as downstream:

    @task
    def use_the_offers(triggering_asset_events=None) -> list[dict]:
        """Where an export or a send would start; here: say which workload filled the dataset."""
        events = [e for events in (triggering_asset_events or {}).values() for e in events]
        for event in events:
            print(f"Dataset {DATASET_ID} filled by workload {event.extra.get('workload_id')}")
        return [dict(event.extra) for event in events]

    use_the_offers()
