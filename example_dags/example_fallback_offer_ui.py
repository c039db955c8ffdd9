"""Create or update a fallback offer from the Airflow UI ("Trigger" shows a form).

The form's fields are this DAG's `params`; Airflow validates them against their JSON schema
before the run is created (the UI and the REST API refuse, say, an unknown status). The offer's
name is its key: triggering again with the same name updates that offer instead of creating a
second one. The placement it is shown in is created on first use.

Connection `adobe_offers_default`; the sandbox field overrides the connection's sandbox.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator
from airflow_provider_offers.operators.placements import CreatePlacementOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"
IMAGE = "{{ params.image_url }}"
SANDBOX = "{{ params.sandbox or '' }}"  # empty: the connection's sandbox

with DAG(
    dag_id="example_fallback_offer_ui",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
    # What the form can check in the browser, it does: a type without "null" makes a field
    # required, maxLength stops typing, enum is a drop-down. Airflow checks the rest (patterns)
    # when the form is submitted, before a run is created. Optional fields allow null: the
    # form sends null for an emptied field.
    params={
        "name": Param(
            "Example UI fallback banner",
            type="string",
            minLength=1,
            maxLength=255,
            title="Offer name",
            description="The offer's key in the sandbox: an existing offer of this name is "
            "updated.",
        ),
        "description": Param(
            "Created from the Airflow UI",
            type=["null", "string"],
            maxLength=1000,
            title="Description",
            description="Optional, up to 1000 characters.",
        ),
        "image_url": Param(
            "https://cdn.example.com/banners/ui-fallback.png",
            type="string",
            maxLength=2048,
            pattern=r"^https?://\S+$",
            title="Image URL",
            description="The banner image: an http:// or https:// URL.",
        ),
        "status": Param(
            "draft",
            type="string",
            enum=["draft", "approved", "archived"],
            title="Status",
            description="Only approved offers can be served.",
        ),
        "sandbox": Param(
            None,
            type=["null", "string"],
            maxLength=64,
            pattern=r"^([a-z0-9][a-z0-9_-]*)?$",
            title="Sandbox",
            description="Optional sandbox technical name (letters, digits, _ and -); empty: "
            "the connection's sandbox.",
        ),
    },
) as dag:
    create_placement = CreatePlacementOperator(
        task_id="create_placement",
        placement={
            "name": "Example UI banner",
            "componentType": "imagelink",
            "channel": WEB,
            "itemCount": 1,
        },
        sandbox_name=SANDBOX,
    )
    create_fallback_offer = CreateFallbackOfferOperator(
        task_id="create_fallback_offer",
        offer={
            "name": "{{ params.name }}",
            "description": "{{ params.description or '' }}",
            "status": "{{ params.status }}",
            "representations": [
                {
                    "channel": WEB,
                    "placement": create_placement.output["id"],
                    "components": [
                        {"type": "imagelink", "format": "image/png", "deliveryURL": IMAGE}
                    ],
                }
            ],
        },
        if_exists="update",
        sandbox_name=SANDBOX,
    )
    create_placement >> create_fallback_offer
