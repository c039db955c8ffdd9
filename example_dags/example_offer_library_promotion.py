"""Promote a decisioning setup from a development sandbox to production, reviewed like code.

Adobe's sandbox tooling cannot move Decision Management objects, and ids differ per sandbox.
This DAG moves the whole setup (placements, tags, rules, ranking formulas, offers,
collections, decisions) by name:

1. `export`: writes the development sandbox's setup as a catalog document
   (`ExportOfferLibraryOperator`, connection `adobe_offers_dev`). Ids become
   `{"name": ...}` references; a diff between two exports is a review.
2. `plan`: what it takes to bring production (connection `adobe_offers_default`) to that
   document. Nothing is written (`dry_run=True`).
3. `approve`: Airflow's human-in-the-loop approval, showing the plan as a Markdown table.
4. `apply`: on "Approve", applies exactly the approved plan (`expected_plan`), creating and
   updating in dependency order with production's own ids. On "Reject" nothing is written.

The first promotion creates everything; the next ones change only what changed in
development. Only offers this catalog created are ever deleted (`prune`); nothing made in
production's UI is touched. The document goes to `params.setup_file`: a local file here; on
Celery or Kubernetes give an object storage URL (``s3://bucket/offer-library/setup.yaml``)
every worker reads.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param

from airflow_provider_offers.operators.catalog import (
    ExportOfferLibraryOperator,
    SyncOfferLibraryOperator,
    plan_markdown,
)

CATALOG = "example-promotion"

with DAG(
    dag_id="example_offer_library_promotion",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
    params={"setup_file": Param("/tmp/offer-library-promotion/setup.yaml", type="string")},
    user_defined_filters={"plan_markdown": plan_markdown},
) as dag:
    export = ExportOfferLibraryOperator(
        task_id="export",
        adobe_conn_id="adobe_offers_dev",
        destination="{{ params.setup_file }}",
    )
    plan = SyncOfferLibraryOperator(
        task_id="plan",
        source="{{ params.setup_file }}",
        allow_outside_dag_folder=True,  # the export's file, not a file beside this DAG
        catalog=CATALOG,
        prune=True,
        dry_run=True,
    )
    approve = ApprovalOperator(
        task_id="approve",
        subject=(
            "Promote the Offer Library setup to sandbox "
            "{{ ti.xcom_pull(task_ids='plan', key='sandbox') }}?"
        ),
        body="{{ ti.xcom_pull(task_ids='plan') | plan_markdown }}",
    )
    apply = SyncOfferLibraryOperator(
        task_id="apply",
        source="{{ params.setup_file }}",
        allow_outside_dag_folder=True,
        catalog=CATALOG,
        prune=True,
        expected_plan=plan.output,
    )
    export >> plan >> approve >> apply
