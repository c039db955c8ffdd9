"""Batch decisioning's test data (the unit tests of api/ and operators/): ids shaped as in Adobe's
documented example, and a workload as Adobe answers it."""

from __future__ import annotations

from airflow_provider_offers.api.batch_decisioning import Workload

AUDIENCE = "609028e4-e66c-4776-b0d9-c782887e2273"
DATASET = "6196b4a1a63bd118dafe093c"
WORKLOAD = "47efef25-4bcf-404f-96e2-67c4f784a1f5"
PROPOSITION = {
    "decision": "xcore:offer-activity:1410cdcda196707b",
    "placement": "xcore:offer-placement:1410c4117306488a",
}


def workload(status: str | None, detail=None) -> Workload:
    body = {"@id": WORKLOAD, "ode:createDate": 1648078924834, "ode:status": status}
    if detail is not None:
        body["ode:statusDetail"] = detail
    return Workload.model_validate(body)
