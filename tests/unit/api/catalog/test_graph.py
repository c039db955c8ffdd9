"""api/catalog/graph.py: one plan over the setup, applied in dependency order; the client is a
fake holding the sandbox in memory (what the server holds is what the tests read)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from airflow_provider_offers.api import catalog, guardrails
from airflow_provider_offers.api.answers import Receipt
from airflow_provider_offers.api.catalog import document, graph
from airflow_provider_offers.api.catalog.approval import drift
from airflow_provider_offers.api.errors import ServerError

WEB = "https://ns.adobe.com/xdm/channel-types/web"


class FakeClient:
    """Creates and lists per collection; `refuse` names collections whose creates fail."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.held: dict[str, list[dict]] = {}
        self.sent: list[tuple[str, str]] = []
        self.refuse = refuse
        self.ids = itertools.count(1)

    async def list_json(self, resource, **query):
        for obj in list(self.held.get(resource.kind, [])):
            yield obj

    async def create(self, resource, body):
        self.sent.append(("POST", resource.kind))
        if resource.kind in self.refuse:
            raise ServerError(f"refused {resource.kind}")
        made = {**body, "id": f"{resource.kind}:{next(self.ids)}", "etag": 1}
        self.held.setdefault(resource.kind, []).append(made)
        return Receipt.model_validate({"id": made["id"], "etag": 1})


def document_of_every_tier() -> dict:
    representation = {
        "channel": WEB,
        "placement": {"name": "Web"},
        "components": [{"type": "html", "format": "text/html", "content": "x"}],
    }
    return {
        "placements": [{"name": "Web", "componentType": "html", "channel": WEB}],
        "fallback_offers": [{"name": "F", "representations": [representation]}],
        "decisions": [
            {
                "name": "D",
                "fallback": {"name": "F"},
                "criteria": [{"placements": [{"name": "Web"}], "optionSelection": {"filter": "c"}}],
            }
        ],
    }


def plan_and_apply(client: FakeClient) -> tuple[graph.SetupPlan, dict]:
    setup = document.parse_setup(document_of_every_tier(), "c")

    async def run():
        plan = await graph.plan_setup(client, setup, catalog="c")
        return plan, await graph.apply_setup(client, plan, gate=catalog.BackoffGate())

    return asyncio.run(run())


def test_creates_run_in_dependency_order_with_the_ids_just_made():
    client = FakeClient()
    plan, counts = plan_and_apply(client)
    assert client.sent == [
        ("POST", "placements"),
        ("POST", "fallback-offers"),
        ("POST", "offer-decisions"),
    ]
    assert counts["created"] == 3
    (placement,) = client.held["placements"]
    (fallback,) = client.held["fallback-offers"]
    (decision,) = client.held["offer-decisions"]
    assert fallback["representations"][0]["placement"] == placement["id"]
    assert decision["fallback"] == fallback["id"]
    assert decision["criteria"][0]["placements"] == [placement["id"]]
    # The approved plan shows names: after the apply, the same document plans nothing new.
    setup = document.parse_setup(document_of_every_tier(), "c")
    again = asyncio.run(graph.plan_setup(client, setup, catalog="c"))
    assert drift(plan.entries, again) == []
    assert {e["action"] for e in again.entries} == {"unchanged"}


def test_a_failed_kind_stops_everything_that_depends_on_it():
    client = FakeClient(refuse=("fallback-offers",))
    with pytest.raises(catalog.ApplyError) as raised:
        plan_and_apply(client)
    assert list(raised.value.failures) == ["fallback_offers/F"]
    assert raised.value.counts["created"] == 1
    assert "1 object(s) could not be written" in str(raised.value)
    assert ("POST", "offer-decisions") not in client.sent


def test_a_plan_growing_the_sandbox_past_adobes_total_is_refused_before_any_write():
    setup = document.parse_setup(document_of_every_tier(), "c")
    listed = document.Sandbox.of({"placements": [{"id": "p0", "name": "Kept"}]})
    small = guardrails.ADOBE.with_limits(placements_per_sandbox=1)
    with pytest.raises(catalog.CatalogError) as raised:
        graph.compute_setup_plan("c", setup, listed, limits=small)
    assert "the sandbox would hold 2 placements after this apply (1 now, 1 created" in str(
        raised.value
    )
    assert str(raised.value).endswith("nothing was written")
