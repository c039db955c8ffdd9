"""Extra links from a finished task to what it made, in Journey Optimizer's UI.

Journey Optimizer lives in Experience Cloud under
`https://experience.adobe.com/#/@<tenant>/sname:<sandbox>/journey-optimizer/`: that part is
documented by Adobe (docs/airflow-ui.md cites the pages). The path below it to one Offer
Library object, or to a list of them, is documented nowhere we found: `OBJECT_PATHS` is our
guess, in one place, so that a correction is one line.

The tenant is the organisation's Experience Cloud short name (the `@<tenant>` of the URL), not
its IMS org id: the connection's extra `ui_tenant`. Left empty, the link has `#/@/...`, which
opens the user's default organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseHook, BaseOperatorLink

from airflow_provider_offers._compat import AirflowNotFoundException

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

JOURNEY_OPTIMIZER_URL = "https://experience.adobe.com/#/@{tenant}/sname:{sandbox}/journey-optimizer"

#: Below `JOURNEY_OPTIMIZER_URL`, the list of each kind of object (the client's resource kind);
#: one object is `<path>/<id>`. A guess: Adobe documents none of these paths.
OBJECT_PATHS: Mapping[str, str] = {
    "fallback-offers": "offers/fallback",
    "personalized-offers": "offers/personalized",
    "placements": "offers/placements",
    "tags": "offers/collection-qualifiers",
    "offer-rules": "offers/decision-rules",
    "offer-collections": "offers/collections",
    "offer-decisions": "offers/decisions",
}


def journey_optimizer_url(sandbox: str, tenant: str = "") -> str:
    """Journey Optimizer in one sandbox (the documented form)."""
    return JOURNEY_OPTIMIZER_URL.format(
        tenant=quote(tenant, safe=""), sandbox=quote(sandbox, safe="")
    )


def object_list_url(kind: str, sandbox: str, tenant: str = "") -> str:
    """The list of one kind of object in a sandbox ("fallback-offers", "placements", ...)."""
    return f"{journey_optimizer_url(sandbox, tenant)}/{OBJECT_PATHS[kind]}"


def object_url(kind: str, object_id: str, sandbox: str, tenant: str = "") -> str:
    """One object: its list's URL and its id (`xcore:...:` ids keep their colons)."""
    return f"{object_list_url(kind, sandbox, tenant)}/{quote(object_id, safe=':')}"


def connection_tenant(operator: BaseOperator) -> str:
    """The `ui_tenant` of the task's connection; empty without one (the default org)."""
    conn_id = getattr(operator, "adobe_conn_id", None)
    if not conn_id:
        return ""
    with suppress(AirflowNotFoundException):
        return BaseHook.get_connection(conn_id).extra_dejson.get("ui_tenant") or ""
    return ""


class _JourneyOptimizerLink(BaseOperatorLink):
    """A link built from the task's return value (`id`, `sandbox`) and the operator's `kind`;
    empty when the task returned none (it failed, or has not run)."""

    name: ClassVar[str]
    #: The list of the kind rather than one object (the sync's link).
    to_list: ClassVar[bool] = False

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(ti_key=ti_key, key="return_value")
        if not isinstance(value, Mapping) or not value.get("sandbox"):
            return ""
        if not self.to_list and not value.get("id"):
            return ""
        from airflow_provider_offers.api.errors import InvalidInputError

        try:  # an offer operator's kind checks its `offer_type`
            kind = str(getattr(operator, "kind", ""))
        except InvalidInputError:
            return ""
        if kind not in OBJECT_PATHS:
            return ""
        tenant = connection_tenant(operator)
        if self.to_list:
            return object_list_url(kind, str(value["sandbox"]), tenant)
        return object_url(kind, str(value["id"]), str(value["sandbox"]), tenant)


class AdobeOfferLink(_JourneyOptimizerLink):
    """ "Adobe offer": the offer the task made or changed."""

    name = "Adobe offer"


class AdobeOffersLink(_JourneyOptimizerLink):
    """ "Adobe offers": the sandbox's offers of the task's type (the catalog sync)."""

    name = "Adobe offers"
    to_list = True


class AdobePlacementLink(_JourneyOptimizerLink):
    """ "Adobe placement": the placement the task made or updated."""

    name = "Adobe placement"


class AdobeCollectionQualifierLink(_JourneyOptimizerLink):
    """ "Adobe collection qualifier": the tag the task made or updated."""

    name = "Adobe collection qualifier"


class AdobeDecisionRuleLink(_JourneyOptimizerLink):
    """ "Adobe decision rule": the rule the task made or updated."""

    name = "Adobe decision rule"


class AdobeCollectionLink(_JourneyOptimizerLink):
    """ "Adobe collection": the collection the task made or updated."""

    name = "Adobe collection"


class AdobeDecisionLink(_JourneyOptimizerLink):
    """ "Adobe decision": the decision the task made or updated."""

    name = "Adobe decision"
