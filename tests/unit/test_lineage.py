"""What each operator reports to OpenLineage (docs/openlineage.md), its hook mocked.

Read through the OpenLineage provider's own `DefaultExtractor` (what its listener uses for an
operator with `get_openlineage_facets_on_complete`) and its `Serde` (the event's JSON).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow.providers.openlineage.extractors.base import DefaultExtractor
from openlineage.client.serde import Serde

from airflow_provider_offers.api.batch_decisioning import Workload
from airflow_provider_offers.api.errors import NotFoundError
from airflow_provider_offers.assets import create_asset
from airflow_provider_offers.lineage import (
    dataset_name,
    namespace,
    platform_dataset_to_openlineage,
)
from airflow_provider_offers.operators.batch_decisioning import BatchDecisioningOperator
from airflow_provider_offers.operators.decisions import DecisionRequestOperator
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator

from .operators.test_offers import OFFER, OFFER_ID, receipt

ORG = "1234ABCD5678EF90@AdobeOrg"
NAMESPACE = "adobe-platform://1234ABCD5678EF90@AdobeOrg"
WEB = "https://ns.adobe.com/xdm/channel-types/web"
AUDIENCE = "609028E4-E66C-4776-B0D9-C782887E2273"
DATASET = "6196B4A1A63BD118DAFE093C"
WORKLOAD = "47efef25-4bcf-404f-96e2-67c4f784a1f5"
DECISION = "xcore:offer-activity:1410cdcda196707b"
PLACEMENT = "xcore:offer-placement:1410c4117306488a"


@pytest.fixture
def org_hook(hook, mocker):
    """The mocked hook (sandbox "dev") of a connection to `ORG`."""
    hook.config = mocker.Mock(org_id=ORG)
    return hook


def reported(task, ti=None) -> dict:
    """What the listener would put in the COMPLETE event: inputs and outputs as JSON."""
    lineage = DefaultExtractor(task).extract_on_complete(ti)
    assert lineage is not None
    return {
        "inputs": [json.loads(Serde.to_json(d)) for d in lineage.inputs],
        "outputs": [json.loads(Serde.to_json(d)) for d in lineage.outputs],
        "run_facets": {k: json.loads(Serde.to_json(v)) for k, v in lineage.run_facets.items()},
    }


def changed(name: str, change: str) -> dict:
    facet = json.loads(Serde.to_json(reported_facet(change)))
    return {"namespace": NAMESPACE, "name": name, "facets": {"lifecycleStateChange": facet}}


def reported_facet(change: str):
    from openlineage.client.facet_v2 import lifecycle_state_change_dataset as facet

    return facet.LifecycleStateChangeDatasetFacet(
        lifecycleStateChange=facet.LifecycleStateChange(change)
    )


def test_a_created_offer_is_an_output_named_by_sandbox_kind_and_id(org_hook, with_hook, context):
    org_hook.find_resource_by_name.return_value = None
    org_hook.create_resource.return_value = receipt(1)
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER))

    task.execute(context)

    got = reported(task)
    assert got["inputs"] == []
    assert got["outputs"] == [changed(f"dev/fallback-offers/{OFFER_ID}", "CREATE")]
    assert got["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"


def test_an_updated_object_is_altered_and_an_unchanged_one_is_not_reported(
    org_hook, with_hook, context
):
    placement = {"name": "Banner", "componentType": "imagelink", "channel": WEB}
    stored = {**placement, "id": "xcore:offer-placement:9", "etag": 3}
    org_hook.find_resource_by_name.return_value = {**stored, "description": "old"}
    org_hook.patch_resource.return_value = {"id": stored["id"], "etag": 4}
    updating = with_hook(
        CreatePlacementOperator(task_id="t", placement={**placement, "description": "new"})
    )
    updating.execute(context)
    assert reported(updating)["outputs"] == [
        changed("dev/placements/xcore:offer-placement:9", "ALTER")
    ]

    org_hook.find_resource_by_name.return_value = stored
    unchanged = with_hook(CreatePlacementOperator(task_id="t", placement=placement))
    assert unchanged.execute(context)["action"] == "unchanged"
    assert reported(unchanged) == {"inputs": [], "outputs": [], "run_facets": {}}


def test_a_patch_alters_and_a_delete_drops_only_what_was_there(org_hook, with_hook, context):
    org_hook.patch_resource.return_value = receipt(2)
    patch = with_hook(
        PatchFallbackOfferOperator(
            task_id="p", offer_id=OFFER_ID, operations=[{"op": "remove", "path": "/description"}]
        )
    )
    patch.execute(context)
    delete = with_hook(DeleteFallbackOfferOperator(task_id="d", offer_id=OFFER_ID))
    delete.execute(context)
    org_hook.delete_offer.side_effect = NotFoundError("gone")
    gone = with_hook(DeleteFallbackOfferOperator(task_id="d", offer_id=OFFER_ID))
    assert gone.execute(context)["deleted"] is False

    assert reported(patch)["outputs"] == [changed(f"dev/fallback-offers/{OFFER_ID}", "ALTER")]
    assert reported(delete)["outputs"] == [changed(f"dev/fallback-offers/{OFFER_ID}", "DROP")]
    assert reported(gone)["outputs"] == []


def test_batch_decisioning_reads_the_audience_and_decisions_and_writes_the_dataset(
    org_hook, with_hook, context, mocker
):
    context["outlet_events"] = mocker.MagicMock()
    body = {"@id": WORKLOAD, "ode:createDate": 1648078924834, "ode:status": "COMPLETED"}
    org_hook.start_batch_decisioning.return_value = Workload.model_validate(body)
    org_hook.get_batch_workload.return_value = Workload.model_validate(body)
    propositions = [
        {"decision": DECISION, "placement": PLACEMENT},
        {"decision": DECISION, "placement": "xcore:offer-placement:2", "item_count": 2},
    ]
    task = with_hook(
        BatchDecisioningOperator(
            task_id="batch",
            audience_id=AUDIENCE,
            dataset_id=DATASET,
            propositions=propositions,
            deferrable=False,
        )
    )

    task.execute(context)

    got = reported(task)
    assert [(d["namespace"], d["name"]) for d in got["inputs"]] == [
        (NAMESPACE, f"dev/audiences/{AUDIENCE.lower()}"),
        (NAMESPACE, f"dev/offer-decisions/{DECISION}"),
        (NAMESPACE, f"dev/placements/{PLACEMENT}"),
        (NAMESPACE, "dev/placements/xcore:offer-placement:2"),
    ]
    assert got["outputs"] == [
        {"namespace": NAMESPACE, "name": f"dev/datasets/{DATASET.lower()}", "facets": {}}
    ]
    query = got["run_facets"]["externalQuery"]
    assert (query["externalQueryId"], query["source"]) == (WORKLOAD, NAMESPACE)


def test_a_deferred_batch_reports_from_the_method_it_resumed_in(org_hook, with_hook, context):
    """The task runner resumes a deferred task with `resume_execution`, not `execute`."""
    body = {"@id": WORKLOAD, "ode:createDate": 1648078924834, "ode:status": "COMPLETED"}
    task = with_hook(
        BatchDecisioningOperator(
            task_id="batch",
            audience_id=AUDIENCE,
            dataset_id=DATASET,
            propositions=[{"decision": DECISION, "placement": PLACEMENT}],
        )
    )
    context["outlet_events"] = {}
    event = {"status": "done", "workload_id": WORKLOAD, "workload": body}

    task.resume_execution("execute_complete", {"event": event}, context)

    assert [d["name"] for d in reported(task)["outputs"]] == [f"dev/datasets/{DATASET.lower()}"]


def test_the_batch_output_is_the_dataset_its_asset_converts_to():
    """One dataset, whether the operator reports it or the listener converts the outlet."""
    asset = create_asset(org_id=ORG, sandbox_name="prod", dataset_id=DATASET)

    converted = platform_dataset_to_openlineage(asset)

    assert (converted.namespace, converted.name) == (namespace(ORG), dataset_name("prod", DATASET))
    assert (converted.namespace, converted.name) == (NAMESPACE, f"prod/datasets/{DATASET.lower()}")


def test_the_listener_converts_a_platform_dataset_outlet_with_our_converter():
    """What the provider does with inlets and outlets: the converter `get_provider_info()`
    registers for the scheme."""
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    asset = create_asset(org_id=ORG, sandbox_name="prod", dataset_id=DATASET)

    converted = translate_airflow_asset(asset, lineage_context=None)

    assert converted is not None
    assert (converted.namespace, converted.name) == (NAMESPACE, f"prod/datasets/{DATASET.lower()}")


def test_a_decision_request_reads_its_decision_and_placement(org_hook, with_hook, context):
    org_hook.request_decision.return_value.propositions = []
    org_hook.request_decision.return_value.to_json.return_value = {}
    task = with_hook(
        DecisionRequestOperator(
            task_id="ask", decision_id=DECISION, placement_id=PLACEMENT, profile_id="1"
        )
    )

    task.execute(context)

    got = reported(task)
    assert [d["name"] for d in got["inputs"]] == [
        f"dev/offer-decisions/{DECISION}",
        f"dev/placements/{PLACEMENT}",
    ]
    assert got["outputs"] == []


def test_a_task_that_did_not_finish_reports_nothing(org_hook, with_hook, context):
    org_hook.find_resource_by_name.side_effect = NotFoundError("no such sandbox")
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER))
    with pytest.raises(NotFoundError):
        task.execute(context)

    assert task.get_openlineage_facets_on_complete(None) is None


def test_without_the_provider_the_operators_run_and_report_nothing(
    org_hook, with_hook, context, monkeypatch
):
    """The `openlineage` extra absent: nothing imports it (only the provider calls lineage)."""
    for module in ("openlineage", "airflow.providers.openlineage"):
        for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
            monkeypatch.setitem(sys.modules, loaded, None)
    org_hook.find_resource_by_name.return_value = None
    org_hook.create_resource.return_value = receipt(1)

    result = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER)).execute(context)

    assert result["action"] == "created"
    with pytest.raises(ImportError):
        import airflow.providers.openlineage.extractors  # noqa: F401


def test_importing_the_package_loads_nothing_of_openlineage():
    """No import cost where the extra is installed but unused: DAG parsing and provider
    discovery (which imports the asset converter's module) load none of it."""
    code = (
        "import sys\n"
        "from airflow.sdk import BaseOperator\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_offers.operators.offers\n"
        "import airflow_provider_offers.operators.catalog\n"
        "import airflow_provider_offers.operators.decisions\n"
        "import airflow_provider_offers.operators.batch_decisioning\n"
        "import airflow_provider_offers.lineage\n"
        "print(sorted(m for m in set(sys.modules) - before if 'openlineage' in m))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
