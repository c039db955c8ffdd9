"""What decisions are made of: a placement, a tag and its collection, a decision rule."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.rules import CreateOfferRuleOperator

with DAG(
    dag_id="docs_library",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
):
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={
            "name": "Docs email hero",
            "channel": "https://ns.adobe.com/xdm/channel-types/email",
            "componentType": "html",
            "itemCount": 1,
        },
    )
    tag = CreateTagOperator(task_id="tag", tag={"name": "Docs spring sale"})
    collection = CreateOfferCollectionOperator(
        task_id="collection",
        collection={
            "name": "Docs spring sale offers",
            "filterType": "any-tags",
            "ids": [tag.output["id"]],  # the offers that carry this tag
        },
    )
    rule = CreateOfferRuleOperator(
        task_id="rule",
        rule={
            "name": "Docs customers in Paris",
            "condition": {
                "type": "PQL",
                "format": "pql/text",
                "value": 'homeAddress.city.equals("Paris", false)',
            },
        },
        if_exists="skip",  # leave a rule someone already tuned in the UI as it is
    )
