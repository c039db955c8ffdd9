"""The paging rule on its own: every next-link form Adobe shows, and listings that always end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_offers.api.calls import Call
from airflow_provider_offers.api.errors import OfferLibraryError
from airflow_provider_offers.api.paging import Pager

BASE = "https://platform.adobe.io"
FIRST = Call(
    "GET", f"{BASE}/data/core/dps/offers", lambda data: data, params=[("offer-type", "fallback")]
)
NEXT = f"{BASE}/data/core/dps/offers?start=abc&offer-type=fallback"


@pytest.mark.parametrize(
    "href",
    [
        "/offers?start=abc&offer-type=fallback",  # relative to the DPS base
        "offers?start=abc&offer-type=fallback",
        "/data/core/dps/offers?start=abc&offer-type=fallback",  # a full path
        NEXT,  # an absolute URL on the API host
        "/offers?start=abc",  # offer-type left out: the first call's is kept
    ],
)
def test_each_next_link_form_leads_to_the_same_page(href):
    call = Pager(BASE, FIRST).next_call(href)

    assert call is not None and call.url == NEXT and call.method == "GET"


def test_no_next_link_ends_the_listing():
    assert Pager(BASE, FIRST).next_call(None) is None
    assert Pager(BASE, FIRST).next_call("") is None


@pytest.mark.parametrize(
    "href",
    [
        "https://elsewhere.example/data/core/dps/offers?start=abc",
        "http://platform.adobe.io/data/core/dps/offers?start=abc",  # another scheme
        "https://platform.adobe.io:8443/data/core/dps/offers?start=abc",  # another port
    ],
)
def test_a_link_to_another_host_is_refused_before_anything_is_sent(href):
    with pytest.raises(OfferLibraryError, match="another host"):
        Pager(BASE, FIRST).next_call(href)


def test_a_next_link_already_followed_stops_the_listing():
    pager = Pager(BASE, FIRST)
    pager.next_call("/offers?start=abc")

    with pytest.raises(OfferLibraryError, match="already read"):
        pager.next_call("/data/core/dps/offers?start=abc&offer-type=fallback")
    with pytest.raises(OfferLibraryError, match="already read"):
        Pager(BASE, FIRST).next_call("/offers?offer-type=fallback")  # the first page itself


def test_an_object_seen_on_an_earlier_page_is_not_yielded_again():
    pager = Pager(BASE, FIRST)
    a, b, again, nameless = (SimpleNamespace(id=i) for i in ("a", "b", "a", None))

    assert pager.new([a, b]) == [a, b]
    assert pager.new([again, nameless]) == [nameless]


def test_only_the_offer_type_of_the_first_call_is_carried_to_the_next_page():
    first = Call(
        "GET",
        f"{BASE}/data/core/dps/offers",
        lambda data: data,
        params=[("offer-type", "fallback"), ("limit", "2"), ("property", "name==summer")],
    )

    call = Pager(BASE, first).next_call("/offers?start=abc")

    # The next link says where the listing goes on; only the offer-type it leaves out is kept.
    assert call is not None
    assert call.url == f"{BASE}/data/core/dps/offers?start=abc&offer-type=fallback"
