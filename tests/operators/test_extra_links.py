"""Each create operator's extra link, and the sync's, as the UI reads it after `dag.test()`."""

from __future__ import annotations

import json

WEB = "https://ns.adobe.com/xdm/channel-types/web"
IMAGE = {"type": "imagelink", "format": "image/png", "deliveryURL": "https://cdn.example.com/a.png"}

DAG_SOURCE = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator
from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import CreateDecisionOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.rules import CreateOfferRuleOperator
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator

with DAG("offers_links", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={{"name": "Banner", "componentType": "imagelink", "channel": "{WEB}"}},
    )
    tag = CreateTagOperator(task_id="tag", tag={{"name": "Spring"}})
    rule = CreateOfferRuleOperator(
        task_id="rule",
        rule={{
            "name": "Gold members",
            "condition": {{"type": "PQL", "format": "pql/text",
                           "value": "profile.loyalty.tier = \\"gold\\""}},
        }},
    )
    collection = CreateOfferCollectionOperator(
        task_id="collection",
        collection={{"name": "Spring offers", "filterType": "any-tags", "ids": [tag.output["id"]]}},
    )
    offer = CreateFallbackOfferOperator(
        task_id="offer",
        offer={{
            "name": "Fallback",
            "status": "approved",
            "representations": [{{
                "channel": "{WEB}", "placement": placement.output["id"], "components": [{IMAGE!r}],
            }}],
        }},
    )
    CreateDecisionOperator(
        task_id="decision",
        decision={{
            "name": "Homepage decision",
            "status": "live",
            "fallback": offer.output["id"],
            "criteria": [{{
                "placements": [placement.output["id"]],
                "rank": {{"priority": 0}},
                "optionSelection": {{"filter": collection.output["id"]}},
            }}],
        }},
    )
    sync = SyncFallbackOffersOperator(task_id="sync", catalog="links", offers=[])
    rule >> sync
"""

LINKS = {
    "placement": ("AdobePlacementLink", "offers/placements/{id}"),
    "tag": ("AdobeCollectionQualifierLink", "offers/collection-qualifiers/{id}"),
    "rule": ("AdobeDecisionRuleLink", "offers/decision-rules/{id}"),
    "collection": ("AdobeCollectionLink", "offers/collections/{id}"),
    "offer": ("AdobeOfferLink", "offers/fallback/{id}"),
    "decision": ("AdobeDecisionLink", "offers/decisions/{id}"),
    "sync": ("AdobeOffersLink", "offers/fallback"),
}


def stored_link(run, task_id: str, link_class: str, map_index: int = -1) -> str | None:
    """The link as the UI reads it: the raw XCom Airflow stored when the task finished
    (not JSON, so `DagTestRun.xcom` cannot read it)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(
            XComModel.__table__.select()
            .with_only_columns(XComModel.value)
            .where(
                XComModel.dag_id == run.dag.dag_id,
                XComModel.run_id == run.dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == map_index,
                XComModel.key == f"_link_{link_class}",
            )
        )


def test_each_task_links_to_what_it_made_in_its_sandbox_and_org(
    run_dag, adobe_connection, monkeypatch, offer_library_emulator, dps
):
    extra = {**adobe_connection["extra"], "ui_tenant": "acme"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", json.dumps({**adobe_connection, "extra": extra})
    )
    run = run_dag(DAG_SOURCE, "offers_links")

    assert set(run.task_states().values()) == {"success"}, run.task_states()
    base = "https://experience.adobe.com/#/@acme/sname:prod/journey-optimizer/"
    for task_id, (link_class, path) in LINKS.items():
        object_id = (run.xcom(task_id) or {}).get("id", "")
        assert stored_link(run, task_id, link_class) == base + path.format(id=object_id), task_id
    decision = dps.get(f"/offer-decisions/{run.xcom('decision')['id']}")
    assert decision["fallback"] == run.xcom("offer")["id"]  # the ids in the links are real
