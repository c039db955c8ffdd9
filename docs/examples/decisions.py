"""Decisions: a live decision with its fallback offer, then ask it what a visitor gets."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import (
    CreateDecisionOperator,
    DecisionRequestOperator,
)
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"

with DAG(
    dag_id="docs_decisions",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
):
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={"name": "Docs product page", "channel": WEB, "componentType": "html"},
    )
    tag = CreateTagOperator(task_id="tag", tag={"name": "Docs product page offers"})
    collection = CreateOfferCollectionOperator(
        task_id="collection",
        collection={
            "name": "Docs product page collection",
            "filterType": "any-tags",
            "ids": [tag.output["id"]],
        },
    )
    fallback = CreateFallbackOfferOperator(
        task_id="fallback",
        offer={
            "name": "Docs product page fallback",
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": placement.output["id"],
                    "components": [
                        {"type": "html", "format": "text/html", "content": "<p>Welcome!</p>"}
                    ],
                }
            ],
        },
    )
    decision = CreateDecisionOperator(
        task_id="decision",
        decision={
            "name": "Docs product page decision",
            "status": "live",
            "fallback": fallback.output["id"],
            "criteria": [
                {
                    "placements": [placement.output["id"]],
                    "rank": {"priority": 0},
                    "profileConstraint": {"profileConstraintType": "none"},
                    "optionSelection": {"filter": collection.output["id"]},
                }
            ],
        },
    )
    ask = DecisionRequestOperator(
        task_id="ask",
        decision_id=decision.output["id"],
        placement_id=placement.output["id"],
        profile_id="docs-visitor-0001",  # an ECID
        item_count=1,
    )

    [placement, tag] >> collection >> decision
    placement >> fallback >> decision >> ask
