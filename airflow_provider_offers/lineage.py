"""What a task read and wrote, as OpenLineage datasets (docs/openlineage.md).

One namespace per IMS org, the `adobe-platform` asset scheme's (`assets.py`), and one name per
object: `<sandbox>/<kind>/<id>`, kind being the client's resource kind (`fallback-offers`,
`placements`, `offer-decisions`, ...), `datasets` for a Platform dataset (the id in lower case,
as the asset URI has it) or `audiences`. So a dataset written by batch decisioning is one
dataset whether it is reported by the operator or converted from the asset
`adobe-platform://<org>/<sandbox>/datasets/<id>` (`platform_dataset_to_openlineage`, registered
in `get_provider_info()`).

Import-light: Airflow imports this module while it discovers providers, and the OpenLineage
provider is an extra. Only the functions that build OpenLineage objects import it, and only
that provider calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_offers.assets import SCHEME, parse_dataset_uri

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset
    from openlineage.client.event_v2 import Dataset

#: How a write changed an object (OpenLineage's `lifecycleStateChange` dataset facet).
Change = Literal["CREATE", "ALTER", "DROP"]

#: The change each action of an operator's result (and of a catalog plan) stands for.
CHANGE_OF_ACTION: dict[str, Change] = {
    "created": "CREATE",
    "create": "CREATE",
    "updated": "ALTER",
    "update": "ALTER",
    "deleted": "DROP",
    "delete": "DROP",
}


def namespace(org_id: str) -> str:
    """The OpenLineage namespace of everything in one IMS org: `adobe-platform://<org>`."""
    return f"{SCHEME}://{org_id.strip()}"


def object_name(sandbox: str, kind: str, object_id: str) -> str:
    """An Offer Library object's name: `<sandbox>/<resource kind>/<id>`."""
    return f"{sandbox.strip()}/{kind}/{object_id.strip()}"


def dataset_name(sandbox: str, dataset_id: str) -> str:
    """A Platform dataset's name: the path of its `adobe-platform` asset URI."""
    return object_name(sandbox, "datasets", dataset_id.lower())


def audience_name(sandbox: str, audience_id: str) -> str:
    return object_name(sandbox, "audiences", audience_id.lower())


@dataclass(frozen=True)
class Touched:
    """What one task run read (`inputs`) and wrote (`outputs`, each with its change, None for
    data written into it), as names in the org's namespace; `external_job_id`: the Adobe job
    the run started (a batch decisioning workload)."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[tuple[str, Change | None], ...] = ()
    external_job_id: str | None = None


def operator_lineage(org_id: str, touched: Touched) -> OperatorLineage:
    """`touched` as the OpenLineage provider's `OperatorLineage`."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import external_query_run, lifecycle_state_change_dataset

    where = namespace(org_id)

    def output(name: str, change: Change | None) -> Dataset:
        if change is None:
            return Dataset(namespace=where, name=name)
        facet = lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange(change)
        )
        return Dataset(namespace=where, name=name, facets={"lifecycleStateChange": facet})

    run_facets: dict[str, Any] = {}
    if touched.external_job_id:
        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=touched.external_job_id, source=where
        )
    return OperatorLineage(
        inputs=[Dataset(namespace=where, name=name) for name in touched.inputs],
        outputs=[output(name, change) for name, change in touched.outputs],
        run_facets=run_facets,
    )


def platform_dataset_to_openlineage(asset: Asset, lineage_context: Any = None) -> Dataset:
    """The OpenLineage dataset of an `adobe-platform` asset (the scheme's converter)."""
    from openlineage.client.event_v2 import Dataset

    where = parse_dataset_uri(asset.uri)
    if where is None:
        raise ValueError(f"not an {SCHEME}:// dataset URI: {asset.uri!r}")
    org_id, sandbox, dataset_id = where
    return Dataset(namespace=namespace(org_id), name=dataset_name(sandbox, dataset_id))
