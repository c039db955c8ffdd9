"""Rules of api/paging.py that survived mutants of scripts/mutation.py showed no test pinned
down; each test states the behaviour, not the code."""

from __future__ import annotations

from airflow_provider_offers.api.calls import Call
from airflow_provider_offers.api.paging import Pager

BASE = "https://platform.adobe.io"


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
