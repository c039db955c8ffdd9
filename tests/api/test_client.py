"""The sync and async clients against the emulator: headers, CRUD, paging, retries, errors."""

from __future__ import annotations

import socket
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from client_helpers import api_requests, make_config, offer_body, placement_body, wait_until

from airflow_provider_offers import __version__
from airflow_provider_offers.api.answers import Receipt
from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.errors import (
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RequestValidationError,
    ServerError,
)
from airflow_provider_offers.api.json_patch import PatchOperation
from airflow_provider_offers.api.models import FallbackOffer
from airflow_provider_offers.api.resources import (
    FALLBACK_OFFERS,
    OFFER_COLLECTIONS,
    OFFER_DECISIONS,
    OFFER_RULES,
    PERSONALIZED_OFFERS,
    PLACEMENTS,
    TAGS,
)

# -- headers --------------------------------------------------------------------------------


def test_every_call_carries_adobes_headers(emulator, client):
    placement = client.create(PLACEMENTS, placement_body())
    offer = client.create(FALLBACK_OFFERS, offer_body(placement.id))
    client.get(FALLBACK_OFFERS, offer.id)
    client.patch(FALLBACK_OFFERS, offer.id, [{"op": "replace", "path": "/name", "value": "B"}])
    list(client.list(FALLBACK_OFFERS))
    client.delete(FALLBACK_OFFERS, offer.id)

    seen = api_requests(emulator)
    assert [r.method for r in seen] == ["POST", "POST", "GET", "PATCH", "GET", "DELETE"]
    request_ids = set()
    for request in seen:
        headers = request.headers
        assert headers["authorization"].startswith("Bearer emu-")
        assert headers["x-api-key"] == emulator.client_id
        assert headers["x-gw-ims-org-id"] == emulator.org_id
        assert headers["x-sandbox-name"] == "prod"
        assert headers["user-agent"].startswith(f"airflow-provider-offers/{__version__} ")
        assert uuid.UUID(headers["x-request-id"]).version == 4
        request_ids.add(headers["x-request-id"])
        if request.method in ("POST", "PATCH"):
            assert headers["content-type"] == "application/json"
        else:
            assert "content-type" not in headers
    assert len(request_ids) == len(seen)  # a fresh id per call


def test_offer_calls_carry_the_offer_type(emulator, client):
    placement = client.create(PLACEMENTS, placement_body())
    client.create(PERSONALIZED_OFFERS, offer_body(placement.id, status="draft"))
    client.create(FALLBACK_OFFERS, offer_body(placement.id))

    offers = [r for r in api_requests(emulator) if r.path.endswith("/offers")]
    assert [r.query for r in offers] == [
        {"offer-type": ["personalized"]},
        {"offer-type": ["fallback"]},
    ]


# -- resources ------------------------------------------------------------------------------


def test_fallback_offer_lifecycle(emulator, client):
    placement = client.create(PLACEMENTS, placement_body())
    receipt = client.create(FALLBACK_OFFERS, offer_body(placement.id, name="Spring default"))

    assert isinstance(receipt, Receipt) and receipt.etag == 1
    assert receipt.createdDate.tzinfo is not None
    sent = next(r for r in api_requests(emulator) if r.path.endswith("/offers")).json
    assert sent["representations"][0]["components"][0]["deliveryURL"].endswith("default.png")

    offer = client.get(FALLBACK_OFFERS, receipt.id)
    assert isinstance(offer, FallbackOffer)
    assert (offer.id, offer.name, offer.etag, offer.status) == (
        receipt.id,
        "Spring default",
        1,
        "approved",
    )
    assert offer.created.tzinfo is not None and offer.modified >= offer.created
    assert offer.representations[0].components[0].deliveryURL.endswith("default.png")

    patched = client.patch(
        FALLBACK_OFFERS,
        receipt.id,
        [
            PatchOperation(op="test", path="/name", value="Spring default"),
            {"op": "add", "path": "/description", "value": "Shown when nothing qualifies"},
        ],
    )
    assert patched.etag == 2
    assert client.get(FALLBACK_OFFERS, receipt.id).description == "Shown when nothing qualifies"

    client.delete(FALLBACK_OFFERS, receipt.id)
    with pytest.raises(NotFoundError):
        client.get(FALLBACK_OFFERS, receipt.id)


def test_every_resource_round_trips(client):
    placement = client.create(PLACEMENTS, placement_body())
    tag = client.create(TAGS, {"name": "Black Friday"})
    rule = client.create(
        OFFER_RULES,
        {
            "name": "Joe",
            "condition": {
                "type": "PQL",
                "format": "pql/text",
                "value": 'profile.person.name.firstName.equals("Joe", false)',
            },
        },
    )
    offer = client.create(FALLBACK_OFFERS, offer_body(placement.id))
    collection = client.create(
        OFFER_COLLECTIONS, {"name": "Tagged", "filterType": "any-tags", "ids": [tag.id]}
    )
    decision = client.create(
        OFFER_DECISIONS,
        {
            "name": "Homepage",
            "status": "live",
            "fallback": offer.id,
            "criteria": [
                {"placements": [placement.id], "optionSelection": {"filter": collection.id}}
            ],
        },
    )

    assert client.get(TAGS, tag.id).name == "Black Friday"
    assert client.get(OFFER_RULES, rule.id).condition.type == "PQL"
    assert client.get(OFFER_COLLECTIONS, collection.id).ids == [tag.id]
    got = client.get(OFFER_DECISIONS, decision.id)
    assert (got.fallback, got.criteria[0].placements) == (offer.id, [placement.id])
    assert client.find_by_name("offer-decisions", "Homepage").id == decision.id
    for resource, receipt in [(OFFER_DECISIONS, decision), (OFFER_COLLECTIONS, collection)]:
        add = [{"op": "add", "path": "/description", "value": "patched"}]
        assert client.patch(resource, receipt.id, add).etag == 2
        assert client.get(resource, receipt.id).description == "patched"
        client.delete(resource, receipt.id)


def test_paging_follows_next_links_verbatim_across_many_pages(emulator, client):
    names = {f"tag-{i:02d}" for i in range(23)}
    for name in sorted(names):
        client.create(TAGS, {"name": name})
    first_page = client.list_page(TAGS, limit=4)
    before = len(api_requests(emulator))

    listed = [tag.name for tag in client.list(TAGS, limit=4)]

    assert sorted(listed) == sorted(names) and len(listed) == 23
    pages = [r for r in api_requests(emulator)[before:] if r.method == "GET"]
    assert len(pages) == 6  # 4+4+4+4+4+3
    assert pages[0].query == {"limit": ["4"]}
    assert first_page.next_href.startswith("/tags?")
    assert pages[1].query == parse_qs(urlsplit(first_page.next_href).query)
    assert all("start" in page.query for page in pages[1:])


async def test_json_listing_pages_like_the_model_listing_and_gives_the_servers_json(
    emulator, config, retry
):
    async with AsyncOfferLibraryClient(config, retry=retry) as client:
        placement = await client.create(PLACEMENTS, placement_body())
        for index in range(7):
            await client.create(FALLBACK_OFFERS, offer_body(placement.id, f"o{index:02d}"))
        before = len(api_requests(emulator))

        as_json = [offer async for offer in client.list_json(FALLBACK_OFFERS, limit=3)]
        pages = [r for r in api_requests(emulator)[before:] if r.method == "GET"]
        as_models = [offer.raw_json() async for offer in client.list(FALLBACK_OFFERS, limit=3)]

    assert len(pages) == 3  # 3+3+1
    assert all(page.query.get("offer-type") == ["fallback"] for page in pages)
    assert sorted(offer["name"] for offer in as_json) == [f"o{i:02d}" for i in range(7)]
    assert as_json == as_models  # every object as the server sent it


async def test_async_paging_filters_and_order(emulator, config, retry):
    async with AsyncOfferLibraryClient(config, retry=retry) as client:
        placement = await client.create(PLACEMENTS, placement_body())
        for index in range(11):
            status = "approved" if index % 2 else "draft"
            await client.create(FALLBACK_OFFERS, offer_body(placement.id, f"o{index:02d}", status))

        found = [
            offer.name
            async for offer in client.list(
                FALLBACK_OFFERS, filters=["status==approved"], orderby="name", limit=2
            )
        ]

    assert found == ["o01", "o03", "o05", "o07", "o09"]
    first = next(r for r in api_requests(emulator) if r.method == "GET")
    assert first.query == {
        "offer-type": ["fallback"],
        "property": ["status==approved"],
        "orderby": ["name"],
        "limit": ["2"],
    }


def test_find_by_name_matches_exactly_and_reports_duplicates(emulator, client):
    placement = client.create(PLACEMENTS, placement_body())
    one = client.create(FALLBACK_OFFERS, offer_body(placement.id, "Sale"))
    client.create(FALLBACK_OFFERS, offer_body(placement.id, "Sale 2"))

    assert client.find_by_name(FALLBACK_OFFERS, "Sale").id == one.id
    assert client.find_by_name(FALLBACK_OFFERS, "sale") is None
    lookup = next(r for r in api_requests(emulator) if r.method == "GET")
    assert lookup.query["property"] == ["name==Sale"]

    two = client.create(FALLBACK_OFFERS, offer_body(placement.id, "Sale"))
    with pytest.raises(ConflictError) as caught:
        client.find_by_name(FALLBACK_OFFERS, "Sale")
    assert set(caught.value.conflicting_ids) == {one.id, two.id}
    assert one.id in str(caught.value) and two.id in str(caught.value)


def test_find_by_name_with_a_comma_scans_without_a_filter(emulator, client):
    client.create(TAGS, {"name": "Sale, 50%"})
    client.create(TAGS, {"name": "Sale"})

    assert client.find_by_name(TAGS, "Sale, 50%").name == "Sale, 50%"
    assert "property" not in next(r for r in api_requests(emulator) if r.method == "GET").query


def test_any_2xx_is_success(emulator, client):
    emulator.configure(create_status=200)
    receipt = client.create(TAGS, {"name": "ok with 200"})
    assert client.get(TAGS, receipt.id).name == "ok with 200"


# -- retries --------------------------------------------------------------------------------


def test_429_waits_for_retry_after_seconds(emulator, client, sleeps):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=429, retry_after=1)

    client.list_page(TAGS)

    assert sleeps.delays == [1.0]
    assert [r.status for r in api_requests(emulator)] == [429, 200]


def test_503_waits_for_retry_after_too(emulator, client, sleeps):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=503, retry_after=2)

    client.list_page(TAGS)

    assert sleeps.delays == [2.0]
    assert [r.status for r in api_requests(emulator)] == [503, 200]


def test_429_waits_for_retry_after_http_date(emulator, client, sleeps):
    # 4 s ahead, far from the plain backoff (at most 0.01 s for a first retry here).
    when = datetime.now(timezone.utc) + timedelta(seconds=4)
    emulator.inject_fault(
        "GET", "/data/core/dps/tags", status=429, retry_after=format_datetime(when, usegmt=True)
    )

    client.list_page(TAGS)

    (delay,) = sleeps.delays
    assert 2.5 <= delay <= 4.0  # HTTP dates have whole seconds
    assert [r.status for r in api_requests(emulator)] == [429, 200]


def test_retry_after_beyond_the_cap_is_raised_not_slept(emulator, client, sleeps):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=429, retry_after=3600)

    with pytest.raises(RateLimitedError) as caught:
        client.list_page(TAGS)

    assert caught.value.retry_after == 3600.0
    assert caught.value.error_code == "429050"
    assert sleeps.delays == []
    assert len(api_requests(emulator)) == 1


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(emulator, client, sleeps):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=429, times=10)

    with pytest.raises(RateLimitedError) as caught:
        client.list_page(TAGS)

    assert "gave up after 4 attempts" in str(caught.value)
    assert len(api_requests(emulator)) == 4
    # equal jitter: attempt n waits between half and all of min(0.05, 0.01 * 2**(n-1))
    for attempt, delay in enumerate(sleeps.delays, start=1):
        ceiling = min(0.05, 0.01 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_on_reads_are_retried(emulator, client, status):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=status, times=2)

    client.list_page(TAGS)

    assert [r.status for r in api_requests(emulator)] == [status, status, 200]


def test_503_on_a_create_is_retried_and_creates_once(emulator, client):
    emulator.inject_fault("POST", "/data/core/dps/tags", status=503)

    client.create(TAGS, {"name": "once"})

    assert [r.status for r in api_requests(emulator)] == [503, 201]
    assert [t.name for t in client.list(TAGS)] == ["once"]


@pytest.mark.parametrize("status", [502, 504])
def test_ambiguous_gateway_error_on_a_create_is_not_resent(emulator, client, status):
    emulator.inject_fault("POST", "/data/core/dps/tags", status=status)

    with pytest.raises(OutcomeUnknownError) as caught:
        client.create(TAGS, {"name": "maybe"})

    assert caught.value.status == status
    assert "not re-sent" in str(caught.value)
    assert len(api_requests(emulator)) == 1


@pytest.mark.parametrize("status", [400, 500])
def test_other_errors_are_not_retried(emulator, client, sleeps, status):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=status)

    with pytest.raises(RequestValidationError if status == 400 else ServerError):
        client.list_page(TAGS)

    assert len(api_requests(emulator)) == 1 and sleeps.delays == []


def test_a_real_400_is_not_retried(emulator, client):
    emulator.configure(list_max_limit=5)
    with pytest.raises(RequestValidationError) as caught:
        client.list_page(TAGS, limit=6)

    assert caught.value.status == 400 and "limit" in str(caught.value)
    assert len(api_requests(emulator)) == 1


def test_post_whose_connection_drops_after_commit_is_not_resent(emulator, client):
    emulator.inject_fault("POST", "/data/core/dps/tags", drop_after_commit=True)

    with pytest.raises(OutcomeUnknownError) as caught:
        client.create(TAGS, {"name": "committed once"})

    assert caught.value.request_id == api_requests(emulator)[0].headers["x-request-id"]
    assert len([r for r in api_requests(emulator) if r.method == "POST"]) == 1
    assert [t.name for t in client.list(TAGS)] == ["committed once"]  # exactly one object


def test_patch_whose_connection_drops_is_not_resent(emulator, client):
    tag = client.create(TAGS, {"name": "t"})
    emulator.inject_fault("PATCH", "/data/core/dps/tags", drop_after_commit=True)

    with pytest.raises(OutcomeUnknownError):
        client.patch(TAGS, tag.id, [{"op": "add", "path": "/description", "value": "d"}])

    assert client.get(TAGS, tag.id).etag == 2  # applied once, not twice


def test_reads_whose_connection_drops_are_retried(emulator, client):
    tag = client.create(TAGS, {"name": "t"})
    emulator.inject_fault("GET", "/data/core/dps/tags", drop_after_commit=True)

    assert client.get(TAGS, tag.id).name == "t"
    assert len([r for r in api_requests(emulator) if r.method == "GET"]) == 2


def test_delete_retried_after_a_drop_counts_the_404_as_done(emulator, client):
    tag = client.create(TAGS, {"name": "t"})
    emulator.inject_fault("DELETE", "/data/core/dps/tags", drop_after_commit=True)

    client.delete(TAGS, tag.id)

    deletes = [r for r in api_requests(emulator) if r.method == "DELETE"]
    assert [r.status for r in deletes] == [200, 404]
    with pytest.raises(NotFoundError):
        client.delete(TAGS, tag.id)  # a first-attempt 404 is still an error


def test_read_timeout_is_retried(emulator, retry):
    emulator.inject_fault("GET", "/data/core/dps/tags", delay_seconds=1.0)
    with OfferLibraryClient(make_config(emulator, timeout=0.3), retry=retry) as client:
        client.list_page(TAGS)

    assert len(api_requests(emulator)) == 2


def test_create_timeout_is_outcome_unknown_and_creates_once(emulator, retry):
    emulator.inject_fault("POST", "/data/core/dps/tags", delay_seconds=0.6)
    with OfferLibraryClient(make_config(emulator, timeout=0.2), retry=retry) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            client.create(TAGS, {"name": "slow"})
        assert "ReadTimeout" in str(caught.value)
        # The server finishes the request it received: wait for its answer in the log.
        wait_until(lambda: api_requests(emulator)[0].status is not None)
        assert [t.name for t in client.list(TAGS)] == ["slow"]
    assert len([r for r in api_requests(emulator) if r.method == "POST"]) == 1


def test_connection_refused_is_retried_then_connection_failed(emulator, retry, sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = make_config(emulator, base_url=f"http://127.0.0.1:{port}")
    # Refused before anything was sent, so even a POST is safe to retry.
    with (
        OfferLibraryClient(config, retry=retry) as client,
        pytest.raises(ConnectionFailedError) as caught,
    ):
        client.create(TAGS, {"name": "never sent"})

    assert "ConnectError" in str(caught.value)
    assert "gave up after 4 attempts" in str(caught.value)
    assert len(sleeps.delays) == 3


# -- the error tree -------------------------------------------------------------------------


def test_not_found_carries_status_code_and_request_id(emulator, client):
    with pytest.raises(NotFoundError) as caught:
        client.get(PLACEMENTS, "dps:offer-placement:0000000000000000")

    error = caught.value
    sent_id = api_requests(emulator)[0].headers["x-request-id"]
    assert (error.status, error.request_id) == (404, sent_id)
    assert error.error_code and error.detail
    assert sent_id in str(error) and "sandbox 'prod'" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code", "text"),
    [
        (
            403,
            {"error_code": "403025", "message": "Profile is not valid"},
            PermissionDeniedError,
            "403025",
            "Profile is not valid",
        ),
        (
            409,
            {
                "type": "https://ns.adobe.com/aep/errors/DPS-1009-409",
                "status": 409,
                "title": "Conflict",
                "detail": "still referenced",
            },
            ConflictError,
            "https://ns.adobe.com/aep/errors/DPS-1009-409",
            "Conflict: still referenced",
        ),
        (
            422,
            {
                "type": "https://ns.adobe.com/aep/errors/DPS-1000-422",
                "status": 422,
                "title": "Unprocessable",
                "detail": "bad criteria",
            },
            RequestValidationError,
            "https://ns.adobe.com/aep/errors/DPS-1000-422",
            "bad criteria",
        ),
        (500, None, ServerError, None, "HTTP 500"),
    ],
)
def test_error_shapes_map_to_classes(emulator, client, status, body, error_class, code, text):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=status, body=body)

    with pytest.raises(error_class) as caught:
        client.list_page(TAGS)

    assert caught.value.status == status
    if code:
        assert caught.value.error_code == code
    assert text in str(caught.value)


def test_html_from_a_proxy_gives_a_clear_error(emulator, client):
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    emulator.inject_fault(
        "GET",
        "/data/core/dps/tags",
        status=502,
        body=page,
        headers={"content-type": "text/html"},
        times=10,
    )

    with pytest.raises(ServerError) as caught:
        client.list_page(TAGS)

    assert "non-JSON response (text/html): 502 Bad Gateway" in str(caught.value)
    assert "<html>" not in str(caught.value)
