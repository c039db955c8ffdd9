"""Run a DAG whenever a fallback offer is created or changed: no sensor, no cron.

The asset `adobe_offers_fallback_offer_changed` is watched by `OfferChangeEventTrigger` in the
triggerer: each offer created or changed in the sandbox (in the UI, by another team, by our own
sync) becomes one asset event, and each asset event starts a run of this DAG. No worker slot
is held while waiting.

1. `changed_offers`: the offers in the run's `triggering_asset_events` (each event's
   `extra["payload"]`: id, name, etag, modified, sandbox, offer_type).
2. `confirm_served` (one mapped task per offer): for every live decision whose fallback is
   that offer, ask the Decisioning API what a visitor gets on each of the decision's
   placements, and print whether it is the offer as changed.

Connection `adobe_offers_default`: Adobe's Platform API, or the bundled emulator
(`python -m airflow_provider_offers.emulator`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_offers.hooks.offers import OfferLibraryHook
from airflow_provider_offers.triggers.offers import OfferChangeEventTrigger

VISITOR = "example-visitor-0001"  # an ECID with no loyalty tier: served the fallback offer

fallback_offer_changed = Asset(
    "adobe_offers_fallback_offer_changed",
    watchers=[
        AssetWatcher(
            name="adobe_fallback_offer_watcher",
            trigger=OfferChangeEventTrigger(offer_type="fallback", poll_interval=60.0),
        )
    ],
)


def unique_part(offer_id: str) -> str:
    """The Decisioning API may name an offer with another prefix than the Offer Library
    (`dps:fallback:...` for `dps:fallback-offer:...`): ids are compared on their last part."""
    return str(offer_id).rsplit(":", 1)[-1]


with DAG(
    dag_id="example_offer_changed_asset",
    schedule=[fallback_offer_changed],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["adobe", "offers", "example"],
) as dag:

    @task
    def changed_offers(triggering_asset_events=None) -> list[dict[str, Any]]:
        """One entry per changed offer that started this run (a run may gather several).

        Airflow stores a watcher's event as `{"from_trigger": true, "payload": {...}}`."""
        offers = [
            dict(event.extra["payload"])
            for events in (triggering_asset_events or {}).values()
            for event in events
            if "id" in (event.extra.get("payload") or {})
        ]
        for offer in offers:
            print(f"Offer {offer['name']!r} ({offer['id']}) changed: etag {offer['etag']}")
        return offers

    @task
    def confirm_served(offer: dict[str, Any]) -> dict[str, Any]:
        """What a visitor is now served on each placement of the decisions using this offer."""
        hook = OfferLibraryHook(sandbox_name=offer.get("sandbox"))
        served: list[dict[str, Any]] = []
        for decision in hook.list_resources("offer-decisions"):
            if decision.fallback != offer["id"] or decision.status != "live":
                continue
            placements = {p for c in decision.criteria or [] for p in c.placements or []}
            for placement in sorted(placements):
                answer = hook.request_decision(decision.id, placement, profile_id=VISITOR).to_json()
                for proposition in answer.get("xdm:propositions", []):
                    options = proposition.get("xdm:options") or [proposition.get("xdm:fallback")]
                    shown = options[0] or {}
                    served.append(
                        {
                            "decision": decision.id,
                            "placement": placement,
                            "served": shown.get("xdm:id"),
                            "is_changed_offer": unique_part(shown.get("xdm:id", ""))
                            == unique_part(offer["id"]),
                        }
                    )
        for row in served:
            print(
                f"Decision {row['decision']} on {row['placement']} serves {row['served']}"
                f"{' (the changed offer)' if row['is_changed_offer'] else ''}"
            )
        if not served:
            print(f"No live decision uses offer {offer['id']} as its fallback.")
        return {"offer": offer["id"], "etag": offer["etag"], "served": served}

    confirm_served.expand(offer=changed_offers())
