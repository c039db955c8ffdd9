"""Lists: paging with `_links`, the `property` filter grammar, `orderby`, `limit`, sandboxes."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_helpers import Api, dps_url, fetch_token

from airflow_provider_offers.emulator import run_emulator


def _names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def _query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def _tags(api, *specs: tuple[str, str | None]) -> list[str]:
    ids = []
    for name, description in specs:
        body = {"name": name} if description is None else {"name": name, "description": description}
        ids.append(api.create("tags", body)["id"])
    return ids


def test_paging_returns_every_object_exactly_once(api):
    ids = _tags(api, *[(f"tag-{i:02d}", None) for i in range(45)])
    first = api.call("GET", "/tags", params={"limit": "20"}).json()
    assert (first["count"], first["total"]) == (20, 45)
    assert "prev" not in first["_links"]
    assert first["_links"]["self"]["href"] == "/tags?orderby=-modified&limit=20"
    assert first["_links"]["next"]["href"].startswith("/tags?orderby=-modified&limit=20&start=")
    items = api.list_all("tags", limit=20)
    assert sorted(i["id"] for i in items) == sorted(ids)
    assert len(items) == 45
    assert _names(items) == [f"tag-{i:02d}" for i in reversed(range(45))]  # -modified


def test_default_limit_is_20_and_prev_link_goes_back(api):
    _tags(api, *[(f"t{i:02d}", None) for i in range(25)])
    first = api.call("GET", "/tags").json()
    assert first["count"] == 20
    second = api.http.get(
        "/data/core/dps" + first["_links"]["next"]["href"], headers=api.headers
    ).json()
    assert (second["count"], "next" in second["_links"]) == (5, False)
    back = api.http.get(
        "/data/core/dps" + second["_links"]["prev"]["href"], headers=api.headers
    ).json()
    assert _names(back["results"]) == _names(first["results"])
    assert "start" not in _query(second["_links"]["prev"]["href"])


def test_paging_with_identical_timestamps_still_returns_each_once():
    frozen = datetime(2024, 10, 18, 22, 22, 35, 48000, tzinfo=timezone.utc)
    with (
        run_emulator(clock=lambda: frozen, strictly_increasing_timestamps=False) as emulator,
        httpx.Client(base_url=emulator.url) as http,
    ):
        headers = {
            "Authorization": f"Bearer {fetch_token(http, emulator)}",
            "x-api-key": emulator.client_id,
            "x-gw-ims-org-id": emulator.org_id,
        }
        api = Api(http, headers)
        ids = _tags(api, *[(f"same-{i}", None) for i in range(23)])
        items = api.list_all("tags", limit=5)
        assert {i["modified"] for i in items} == {"2024-10-18T22:22:35.048Z"}
        assert sorted(i["id"] for i in items) == sorted(ids)
        assert len(items) == 23


def test_modified_is_strictly_increasing_per_sandbox(api):
    _tags(api, *[(f"t{i}", None) for i in range(30)])
    stamps = [i["modified"] for i in api.list_all("tags", orderby="modified", limit=100)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 30


def test_limit_has_no_maximum_unless_configured(emulator, api):
    _tags(api, *[(f"t{i:03d}", None) for i in range(120)])
    page = api.call("GET", "/tags", params={"limit": "500"}).json()
    assert (page["count"], "next" in page["_links"]) == (120, False)
    for bad in ("0", "-1", "ten"):
        response = api.call("GET", "/tags", params={"limit": bad})
        assert response.status_code == 400 and "limit" in response.json()["detail"], bad
    emulator.configure(list_max_limit=5)
    response = api.call("GET", "/tags", params={"limit": "6"})
    assert response.status_code == 400 and "at most 5" in response.json()["detail"]


def test_a_start_in_adobes_form_is_accepted_in_every_style(api):
    """Adobe's pages show `start=<timestamp>`: the listing from that value on."""
    _tags(api, *[(f"t{i}", None) for i in range(4)])
    everything = api.list_all("tags")
    middle = everything[2]["modified"]
    response = api.call("GET", "/tags", params={"start": middle})
    assert response.status_code == 200, response.text
    assert _names(response.json()["results"]) == _names(everything[2:])


def test_adobe_form_next_links_carry_the_sort_value_where_the_next_page_begins(emulator, api):
    emulator.configure(start_as_sort_value=True)
    _tags(api, *[(f"t{i}", None) for i in range(5)])
    everything = api.list_all("tags", limit=100)
    first = api.call("GET", "/tags", params={"limit": "2"}).json()
    assert _query(first["_links"]["next"]["href"])["start"] == [everything[2]["modified"]]
    by_id = api.call("GET", "/tags", params={"limit": "2", "orderby": "id"}).json()
    ids = sorted(t["id"] for t in everything)
    assert _query(by_id["_links"]["next"]["href"])["start"] == [ids[2]]
    assert [t["id"] for t in api.list_all("tags", limit=2, orderby="id")] == ids
    second = api.http.get(dps_url(first["_links"]["next"]["href"]), headers=api.headers).json()
    assert "start" not in _query(second["_links"]["prev"]["href"])


@pytest.mark.parametrize("orderby", ["-modified", "modified", "id", "-name", "name,-modified"])
@pytest.mark.parametrize("adobe_form", [True, False])
def test_paging_with_shared_sort_values_never_skips_or_repeats(emulator, api, orderby, adobe_form):
    """Ties across page boundaries: five objects per `modified`, pages of two and three."""
    stamps = iter(
        datetime(2024, 10, 18, 22, 22, 35 + i // 5, tzinfo=timezone.utc) for i in range(15)
    )
    emulator.configure(
        clock=lambda: next(stamps),
        strictly_increasing_timestamps=False,
        start_as_sort_value=adobe_form,
    )
    ids = _tags(api, *[(f"name-{i % 3}", None) for i in range(15)])
    for limit in (2, 3):
        items = api.list_all("tags", limit=limit, orderby=orderby)
        assert sorted(i["id"] for i in items) == sorted(ids), (orderby, limit)


def test_a_tie_breaker_is_added_only_on_a_tie(emulator, api):
    frozen = datetime(2024, 10, 18, 22, 22, 35, 48000, tzinfo=timezone.utc)
    emulator.configure(
        clock=lambda: frozen, strictly_increasing_timestamps=False, start_as_sort_value=True
    )
    _tags(api, ("a", None), ("b", None), ("c", None))
    page = api.call("GET", "/tags", params={"limit": "2"}).json()
    start = _query(page["_links"]["next"]["href"])["start"][0]
    everything = api.list_all("tags", limit=100)
    assert start == f"2024-10-18T22:22:35.048Z~{everything[2]['id']}"


def test_orderby_fields_and_direction(api):
    _tags(api, ("b", "2"), ("a", "2"), ("c", "1"))
    assert _names(api.list_all("tags", orderby="name")) == ["a", "b", "c"]
    assert _names(api.list_all("tags", orderby="-name")) == ["c", "b", "a"]
    assert _names(api.list_all("tags", orderby="description,-name")) == ["c", "b", "a"]
    assert _names(api.list_all("tags", orderby="-description,name")) == ["a", "b", "c"]
    response = api.call("GET", "/tags", params={"orderby": "name", "limit": "1"}).json()
    assert response["_links"]["self"]["href"] == "/tags?orderby=name&limit=1"
    assert _query(response["_links"]["next"]["href"])["orderby"] == ["name"]
    assert _names(api.list_all("tags", orderby="name", limit=1)) == ["a", "b", "c"]


def test_orderby_spelled_orderBy_is_accepted(api):
    _tags(api, ("b", None), ("a", None))
    assert _names(api.list_all("tags", orderBy="name")) == ["a", "b"]


@pytest.mark.parametrize(
    ("expressions", "expected"),
    [
        (["name==beta"], ["beta"]),
        (["name!=beta"], ["alpha", "gamma", "delta"]),
        (["description"], ["alpha", "beta"]),
        (["!description"], ["gamma", "delta"]),
        (["name~.*ta"], ["beta", "delta"]),
        (["name~et"], []),  # the whole value must match, as Java's String.matches
        (["name>beta"], ["gamma", "delta"]),
        (["name>=beta"], ["beta", "gamma", "delta"]),
        (["name<beta"], ["alpha"]),
        (["name<=beta"], ["alpha", "beta"]),
        (["description", "name!=alpha"], ["beta"]),
        (["description,name!=alpha"], ["beta"]),
        (["!name==alpha", "!name==beta"], ["gamma", "delta"]),
        (["etag==1"], ["alpha", "beta", "gamma", "delta"]),
        (["etag>1"], []),
    ],
)
def test_property_filters(api, expressions, expected):
    _tags(api, ("alpha", "first"), ("beta", "second"), ("gamma", None), ("delta", None))
    found = api.list_all("tags", property=expressions, orderby="created")
    assert _names(found) == expected


def test_filters_are_url_decoded_and_echoed_in_links(api):
    _tags(api, *[(f"n{i}", "x y") for i in range(3)])
    response = api.call("GET", "/tags?property=description%3D%3Dx%20y&limit=2")
    page = response.json()
    assert page["total"] == 3
    next_query = _query(page["_links"]["next"]["href"])
    assert next_query["property"] == ["description==x y"]
    assert len(api.list_all("tags", property="description==x y", limit=2)) == 3


def test_filters_on_dot_paths_and_dates(api, adobe_examples):
    first, second = api.placement(), api.placement(name="other")
    fid = api.fallback_offer([first])
    api.fallback_offer([second], status="draft")
    found = api.list_all(
        "offers", **{"offer-type": "fallback", "property": f"representations.placement=={first}"}
    )
    assert [f["id"] for f in found] == [fid]
    found = api.list_all(
        "offers",
        **{
            "offer-type": "fallback",
            "property": "selectionConstraint.endDate>2030-01-01T00:00:00Z",
        },
    )
    assert len(found) == 2
    approved = api.list_all("offers", **{"offer-type": "fallback", "property": "status==approved"})
    assert [a["id"] for a in approved] == [fid]
    stamp = api.get("offers", fid, **{"offer-type": "fallback"})["modified"]
    newer = api.list_all("offers", **{"offer-type": "fallback", "property": f"modified>{stamp}"})
    assert [n["status"] for n in newer] == ["draft"]


@pytest.mark.parametrize("expression", ["name=alpha", "name~(", "=x", ""])
def test_unparseable_filter_is_400_naming_property(api, expression):
    response = api.call("GET", "/tags", params={"property": expression})
    assert response.status_code == 400
    assert "property" in response.json()["detail"]


def test_sandboxes_are_isolated(api, adobe_examples):
    prod_tag = api.create("tags", adobe_examples.tag())["id"]
    dev = {"x-sandbox-name": "dev"}
    assert api.call("GET", f"/tags/{prod_tag}", headers=dev).status_code == 404
    assert api.call("GET", "/tags", headers=dev).json()["total"] == 0
    dev_receipt = api.call("POST", "/tags", json={"name": "dev tag"}, headers=dev).json()
    prod_receipt = api.get("tags", prod_tag)
    assert (
        dev_receipt["sandboxId"]
        != api.call("POST", "/tags", json={"name": "p"}).json()["sandboxId"]
    )
    assert prod_receipt["name"] == "Black Friday"
    assert api.call("DELETE", f"/tags/{prod_tag}", headers=dev).status_code == 404
    # a placement from prod cannot be referenced from dev
    pid = api.placement()
    body = adobe_examples.fallback_offer(pid)
    response = api.call(
        "POST", "/offers", params={"offer-type": "fallback"}, json=body, headers=dev
    )
    assert response.status_code == 400 and pid in response.json()["detail"]


def test_missing_sandbox_header_means_prod(api):
    tag = api.create("tags", {"name": "in prod"})["id"]
    headers = {k: v for k, v in api.headers.items() if k != "x-sandbox-name"}
    response = api.http.get(f"/data/core/dps/tags/{tag}", headers=headers)
    assert response.status_code == 200
