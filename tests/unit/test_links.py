"""The Journey Optimizer URLs of the extra links (`airflow_provider_offers.links`)."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_offers import get_provider_info, links
from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator
from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import CreateDecisionOperator
from airflow_provider_offers.operators.offers import (
    CreateOfferOperator,
    PatchFallbackOfferOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.rules import CreateOfferRuleOperator

JO = "https://experience.adobe.com/#/@acme/sname:dev/journey-optimizer"


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("fallback-offers", "offers/fallback"),
        ("personalized-offers", "offers/personalized"),
        ("placements", "offers/placements"),
        ("tags", "offers/collection-qualifiers"),
        ("offer-rules", "offers/decision-rules"),
        ("offer-collections", "offers/collections"),
        ("offer-decisions", "offers/decisions"),
    ],
)
def test_each_kind_has_its_list_and_object_url(kind, path):
    assert links.object_list_url(kind, "dev", "acme") == f"{JO}/{path}"
    assert links.object_url(kind, "xcore:x:1a2b", "dev", "acme") == f"{JO}/{path}/xcore:x:1a2b"


def test_without_a_tenant_the_default_organisation_opens():
    assert links.journey_optimizer_url("prod") == (
        "https://experience.adobe.com/#/@/sname:prod/journey-optimizer"
    )


def test_parts_are_quoted_so_no_value_changes_the_path():
    url = links.object_url("placements", "a/b?c#d", "my sandbox", "we/us")
    assert url == (
        "https://experience.adobe.com/#/@we%2Fus/sname:my%20sandbox/journey-optimizer"
        "/offers/placements/a%2Fb%3Fc%23d"
    )


def test_a_kind_without_a_page_is_refused():
    with pytest.raises(KeyError):
        links.object_url("offers", "1", "prod")


@pytest.mark.parametrize(
    ("operator", "link"),
    [
        (CreateOfferOperator(task_id="t", offer={}, offer_type="fallback"), "AdobeOfferLink"),
        (PatchFallbackOfferOperator(task_id="t", offer_id="1", operations=[]), "AdobeOfferLink"),
        (CreatePlacementOperator(task_id="t", placement={}), "AdobePlacementLink"),
        (CreateTagOperator(task_id="t", tag={}), "AdobeCollectionQualifierLink"),
        (CreateOfferRuleOperator(task_id="t", rule={}), "AdobeDecisionRuleLink"),
        (CreateOfferCollectionOperator(task_id="t", collection={}), "AdobeCollectionLink"),
        (CreateDecisionOperator(task_id="t", decision={}), "AdobeDecisionLink"),
        (SyncFallbackOffersOperator(task_id="t", offers=[]), "AdobeOffersLink"),
    ],
)
def test_every_create_operator_and_the_sync_carry_their_link(operator, link):
    assert [type(x).__name__ for x in operator.operator_extra_links] == [link]


def test_the_provider_registers_every_link_class():
    """The API server rebuilds a task's links from the classes the provider lists."""
    classes = {
        f"{links.__name__}.{name}"
        for name, cls in inspect.getmembers(links, inspect.isclass)
        if issubclass(cls, links._JourneyOptimizerLink) and cls is not links._JourneyOptimizerLink
    }
    assert len(classes) == 7
    assert set(get_provider_info()["extra-links"]) == classes


def _link(mocker, link, operator, value, extra=None):
    mocker.patch("airflow.sdk.execution_time.xcom.XCom.get_value", return_value=value)
    conn = mocker.Mock(extra_dejson=extra or {})
    get_connection = mocker.patch.object(links.BaseHook, "get_connection", return_value=conn)
    return link.get_link(operator, ti_key=mocker.sentinel.ti_key), get_connection


def test_the_link_reads_the_return_value_and_the_connections_tenant(mocker):
    operator = CreateTagOperator(task_id="t", tag={}, adobe_conn_id="mine")
    url, get_connection = _link(
        mocker,
        links.AdobeCollectionQualifierLink(),
        operator,
        {"id": "xcore:offer-tag:1", "sandbox": "dev", "etag": 1},
        {"ui_tenant": "acme"},
    )
    assert url == f"{JO}/offers/collection-qualifiers/xcore:offer-tag:1"
    get_connection.assert_called_once_with("mine")


def test_the_offer_link_follows_the_offer_type(mocker):
    operator = CreateOfferOperator(task_id="t", offer={}, offer_type="Personalized")
    url, _ = _link(mocker, links.AdobeOfferLink(), operator, {"id": "o1", "sandbox": "prod"})
    assert (
        url
        == "https://experience.adobe.com/#/@/sname:prod/journey-optimizer/offers/personalized/o1"
    )


def test_the_sync_links_to_the_sandboxs_offers_of_its_type(mocker):
    operator = SyncFallbackOffersOperator(task_id="t", offers=[])
    value = {"catalog": "c", "sandbox": "dev", "dry_run": False, "counts": {}, "plan": []}
    url, _ = _link(mocker, links.AdobeOffersLink(), operator, value, {"ui_tenant": "acme"})
    assert url == f"{JO}/offers/fallback"


@pytest.mark.parametrize(
    "value",
    [None, "not a mapping", {"sandbox": "prod"}, {"id": "1"}, {"id": "", "sandbox": "prod"}],
)
def test_no_object_no_link(mocker, value):
    operator = CreatePlacementOperator(task_id="t", placement={})
    assert _link(mocker, links.AdobePlacementLink(), operator, value)[0] == ""


def test_an_offer_type_that_is_not_one_gives_no_link(mocker):
    operator = CreateOfferOperator(task_id="t", offer={}, offer_type="seasonal")
    url, _ = _link(mocker, links.AdobeOfferLink(), operator, {"id": "1", "sandbox": "prod"})
    assert url == ""


def test_a_missing_connection_still_opens_the_default_organisation(mocker):
    from airflow_provider_offers._compat import AirflowNotFoundException

    operator = CreateDecisionOperator(task_id="t", decision={})
    mocker.patch(
        "airflow.sdk.execution_time.xcom.XCom.get_value",
        return_value={"id": "d", "sandbox": "prod"},
    )
    mocker.patch.object(links.BaseHook, "get_connection", side_effect=AirflowNotFoundException("x"))
    url = links.AdobeDecisionLink().get_link(operator, ti_key=mocker.sentinel.ti_key)
    assert url == "https://experience.adobe.com/#/@/sname:prod/journey-optimizer/offers/decisions/d"
