"""Fallback offers kept as code: plan, a person approves the plan, apply exactly that plan.

1. `homepage_placement`: the placement the catalog's offers are shown in (by name, so safe to
   re-run); the catalog files name its id as `{$value: placement}`, given in `values`, as
   ids differ per sandbox.
2. `plan`: what it takes to bring the sandbox to the catalog in `offer_catalog/` (beside this
   file): offers to create, the fields to patch, this catalog's offers to delete (`prune`).
   Nothing is written (`dry_run=True`).
3. `approve`: Airflow's human-in-the-loop approval, showing the plan as a Markdown table
   (Browse > Required Actions in the UI, or the task's "Required Action" tab).
4. `apply`: on "Approve", applies the plan, but only if the plan computed now is still the
   approved one (`expected_plan`); otherwise it fails naming what drifted, writing nothing.
   On "Reject" it is skipped: nothing is written.

Re-running is safe at every step: an unchanged catalog plans no writes, and a retried apply
recognises the writes it already made. Only offers this catalog created (they carry its
marker among their `characteristics`) are ever deleted, never one made by hand.

Connection `adobe_offers_default`: Adobe's Platform API, or the bundled emulator
(`python -m airflow_provider_offers.emulator`).
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator, plan_markdown
from airflow_provider_offers.operators.placements import CreatePlacementOperator

CATALOG = "example-homepage"
CATALOG_FILES = "offer_catalog"  # a directory of YAML/JSON files, relative to this file

with DAG(
    dag_id="example_offer_catalog_sync",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
    user_defined_filters={"plan_markdown": plan_markdown},
) as dag:
    homepage_placement = CreatePlacementOperator(
        task_id="homepage_placement",
        placement={
            "name": "Example catalog homepage banner",
            "channel": "https://ns.adobe.com/xdm/channel-types/web",
            "componentType": "imagelink",
        },
    )
    # What the files' `{$value: ...}` nodes stand for: ids that differ per sandbox.
    values = {"placement": homepage_placement.output["id"]}
    plan = SyncFallbackOffersOperator(
        task_id="plan",
        offers_file=CATALOG_FILES,
        values=values,
        catalog=CATALOG,
        prune=True,
        dry_run=True,
    )
    approve = ApprovalOperator(
        task_id="approve",
        subject=(
            f"Apply offer catalog {CATALOG!r} to sandbox "
            "{{ ti.xcom_pull(task_ids='plan', key='sandbox') }}?"
        ),
        body="{{ ti.xcom_pull(task_ids='plan') | plan_markdown }}",
    )
    apply = SyncFallbackOffersOperator(
        task_id="apply",
        offers_file=CATALOG_FILES,
        values=values,
        catalog=CATALOG,
        prune=True,
        expected_plan=plan.output,
    )
    homepage_placement >> plan >> approve >> apply
