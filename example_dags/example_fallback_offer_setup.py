"""Set up a decision with its fallback offer, change the offer, and see the change served.

1. `create_tag`, `create_collection`: a collection qualifier, and the collection of the offers
   that carry it: the personalized offers the decision ranks for the placement.
2. `create_placement`: the homepage banner slot (web, image link).
3. `create_rule`, `create_personalized_offer`: a banner for gold loyalty members only (a
   decision rule in PQL), in the collection.
4. `create_fallback_offer`: the banner shown when no personalized offer qualifies.
5. `create_decision`: a live decision for the placement, with that fallback offer.
6. `patch_fallback_offer`: a new banner image (a JSON Patch of the offer).
7. `wait_for_offer_change`: continue only once the offer's etag has moved past the one the
   create step saw (deferrable: the wait runs in the triggerer, not in a worker slot).
8. `request_decision`: ask the Decisioning API what a visitor with no loyalty tier gets: the
   personalized offer's rule excludes them, so the decision serves its fallback offer. (The
   bundled emulator cannot evaluate PQL: no offer with a rule ever qualifies there.)
9. `check_fallback_served`: fail unless what was served is the patched fallback offer.

Every step is keyed by name and safe to re-run: a second run finds the objects, brings them
back to the declared fields, and applies the patch again.

Connection `adobe_offers_default`: Adobe's Platform API, or the bundled emulator
(`python -m airflow_provider_offers.emulator`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException

from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import (
    CreateDecisionOperator,
    DecisionRequestOperator,
)
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    CreateOfferOperator,
    PatchFallbackOfferOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.rules import CreateOfferRuleOperator
from airflow_provider_offers.sensors.offers import OfferChangeSensor

WEB = "https://ns.adobe.com/xdm/channel-types/web"
BANNER_BEFORE = "https://cdn.example.com/banners/homepage-fallback-v1.png"
BANNER_AFTER = "https://cdn.example.com/banners/homepage-fallback-v2.png"
LOYALTY_BANNER = "https://cdn.example.com/banners/homepage-gold-members.png"
VISITOR = "example-visitor-0001"  # an ECID with no loyalty tier


with DAG(
    dag_id="example_fallback_offer_setup",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["example", "adobe-offers"],
    doc_md=__doc__,
) as dag:
    create_tag = CreateTagOperator(task_id="create_tag", tag={"name": "Example homepage campaign"})
    create_collection = CreateOfferCollectionOperator(
        task_id="create_collection",
        collection={
            "name": "Example homepage campaign offers",
            "filterType": "any-tags",
            "ids": [create_tag.output["id"]],
        },
    )
    create_placement = CreatePlacementOperator(
        task_id="create_placement",
        placement={
            "name": "Example homepage banner",
            "description": "The hero banner on the homepage",
            "componentType": "imagelink",
            "channel": WEB,
            "itemCount": 1,
        },
    )
    create_rule = CreateOfferRuleOperator(
        task_id="create_rule",
        rule={
            "name": "Example gold loyalty members",
            "condition": {
                "type": "PQL",
                "format": "pql/text",
                "value": 'profile.loyalty.tier.equals("gold", false)',
            },
            "definedOn": {
                "profile": {
                    "schema": {
                        "ref": "https://ns.adobe.com/xdm/context/profile_union",
                        "version": "1",
                    },
                    "referencePaths": ["loyalty.tier"],
                }
            },
        },
    )
    create_personalized_offer = CreateOfferOperator(
        task_id="create_personalized_offer",
        offer_type="personalized",
        offer={
            "name": "Example homepage gold members banner",
            "status": "approved",
            "tags": [create_tag.output["id"]],
            "rank": {"priority": 10},
            "selectionConstraint": {
                "profileConstraintType": "eligibilityRule",
                "eligibilityRule": create_rule.output["id"],
            },
            "representations": [
                {
                    "channel": WEB,
                    "placement": create_placement.output["id"],
                    "components": [
                        {"type": "imagelink", "format": "image/png", "deliveryURL": LOYALTY_BANNER}
                    ],
                }
            ],
        },
    )
    create_fallback_offer = CreateFallbackOfferOperator(
        task_id="create_fallback_offer",
        offer={
            "name": "Example homepage fallback banner",
            "description": "Shown when no personalized offer qualifies",
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": create_placement.output["id"],
                    "components": [
                        {"type": "imagelink", "format": "image/png", "deliveryURL": BANNER_BEFORE}
                    ],
                }
            ],
        },
    )
    create_decision = CreateDecisionOperator(
        task_id="create_decision",
        decision={
            "name": "Example homepage banner decision",
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
    patch_fallback_offer = PatchFallbackOfferOperator(
        task_id="patch_fallback_offer",
        offer_id=create_fallback_offer.output["id"],
        operations=[
            {
                "op": "replace",
                "path": "/representations/0/components/0/deliveryURL",
                "value": BANNER_AFTER,
            }
        ],
    )
    wait_for_offer_change = OfferChangeSensor(
        task_id="wait_for_offer_change",
        offer_id=create_fallback_offer.output["id"],
        since_etag=create_fallback_offer.output["etag"],
        deferrable=True,
        poke_interval=5,
        timeout=600,
    )
    request_decision = DecisionRequestOperator(
        task_id="request_decision",
        decision_id=create_decision.output["id"],
        placement_id=create_placement.output["id"],
        profile_id=VISITOR,
        identity_namespace="ECID",
    )

    @task(retries=0)
    def check_fallback_served(response: dict[str, Any], offer_id: str) -> dict[str, Any]:
        """Fail unless the decision served the fallback offer with the patched banner.

        The Decisioning API may name an offer with another prefix than the Offer Library
        (Adobe's examples show `dps:fallback:...` for `dps:fallback-offer:...`), so the ids are
        compared on their unique last part.
        """
        served = [
            proposition["xdm:fallback"]
            for proposition in response.get("xdm:propositions", [])
            if proposition.get("xdm:fallback")
        ]
        if not served:
            raise AirflowFailException(f"the decision served no fallback offer: {response}")
        fallback = served[0]
        unique_part = offer_id.rsplit(":", 1)[-1]
        served_part = str(fallback["xdm:id"]).rsplit(":", 1)[-1]
        if served_part != unique_part or fallback.get("xdm:deliveryURL") != BANNER_AFTER:
            raise AirflowFailException(
                f"expected fallback offer {offer_id} (unique part {unique_part}) with "
                f"{BANNER_AFTER}, got {fallback['xdm:id']} with {fallback.get('xdm:deliveryURL')}"
            )
        print(
            f"Served fallback offer {offer_id}: {BANNER_AFTER} (the decision answered "
            f"{fallback['xdm:id']}; compared the ids' unique part {unique_part!r})"
        )
        return {"id": offer_id, "etag": fallback.get("repo:etag"), "deliveryURL": BANNER_AFTER}

    check_fallback_served(request_decision.output, create_fallback_offer.output["id"])

    create_tag >> create_collection >> create_decision
    [create_tag, create_rule, create_placement] >> create_personalized_offer >> create_decision
    create_placement >> create_fallback_offer >> create_decision
    create_decision >> patch_fallback_offer >> wait_for_offer_change >> request_decision
