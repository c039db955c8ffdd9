"""IMS tokens: one per process, renewed ahead of expiry and after revocation, secret rotation."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlencode

import pytest
from client_helpers import api_requests, await_until, ims_requests, make_config, placement_body

from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.config import DEFAULT_SCOPES
from airflow_provider_offers.api.errors import AuthenticationError, InvalidInputError
from airflow_provider_offers.api.resources import PLACEMENTS, TAGS


def in_threads(count: int, config, retry, work) -> list[BaseException]:
    """Run `work(client)` in `count` threads, each with its own client, released together."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with OfferLibraryClient(config, retry=retry) as client:
                barrier.wait()
                work(client)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def bearer(request) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


def test_one_token_for_many_calls_and_clients(emulator, config, retry):
    with OfferLibraryClient(config, retry=retry) as first:
        first.create(TAGS, {"name": "a"})
        list(first.list(TAGS))
    with OfferLibraryClient(config, retry=retry) as second:  # a new client, same process
        second.create(TAGS, {"name": "b"})
        second.get(TAGS, second.find_by_name(TAGS, "b").id)

    assert emulator.tokens_issued == 1
    tokens = {bearer(r) for r in api_requests(emulator)}
    assert len(tokens) == 1 and len(api_requests(emulator)) == 5


def test_token_request_sends_credentials_in_the_form_body(emulator, client):
    client.list_page(TAGS)

    (token_request,) = ims_requests(emulator)
    assert token_request.method == "POST"
    assert token_request.query == {}
    assert token_request.form == {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "scope": "openid,AdobeID,read_organizations,additional_info.projectedProductContext,"
        "session",
    }


def test_token_request_is_the_one_in_adobes_postman_collection(emulator, client):
    """AdobeDocs/journey-optimizer-apis, static/Journey_public_API_postman_collection.json,
    "Get User Token": POST {IMS}/ims/token/v3, no auth, Content-Type
    application/x-www-form-urlencoded, form grant_type, client_id, client_secret, scope."""
    client.list_page(TAGS)

    (sent,) = ims_requests(emulator)
    assert (sent.method, sent.path, sent.query) == ("POST", "/ims/token/v3", {})
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert not {"authorization", "x-api-key", "x-gw-ims-org-id"} & set(sent.headers)
    assert list(sent.form) == ["grant_type", "client_id", "client_secret", "scope"]
    assert sent.text == urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "scope": DEFAULT_SCOPES,
        }
    )


@pytest.mark.parametrize("older", ["/ims/token/v2", "/ims/token/v1", "/ims/exchange/jwt"])
def test_older_ims_endpoints_are_refused_before_any_request(emulator, older):
    with pytest.raises(InvalidInputError) as raised:
        make_config(emulator, ims_url=emulator.url + older)

    assert raised.value.field == "ims_url"
    assert "older /ims/token/v2, /ims/token/v1 and JWT forms are not supported" in str(raised.value)
    assert emulator.requests == []


def test_one_token_across_threads(emulator, config, retry):
    emulator.inject_fault("POST", "/ims/token/v3", delay_seconds=0.3)  # let threads pile up

    def three_reads(client: OfferLibraryClient) -> None:
        for _ in range(3):
            client.list_page(PLACEMENTS)

    assert in_threads(8, config, retry, three_reads) == []
    assert emulator.tokens_issued == 1
    assert len(ims_requests(emulator)) == 1
    assert len({bearer(r) for r in api_requests(emulator)}) == 1
    assert len(api_requests(emulator)) == 24


async def test_one_token_across_coroutines_and_threads(emulator, config, retry):
    emulator.inject_fault("POST", "/ims/token/v3", delay_seconds=0.3)

    def sync_reader() -> None:
        with OfferLibraryClient(config, retry=retry) as client:
            client.list_page(PLACEMENTS)

    async with AsyncOfferLibraryClient(config, retry=retry) as client:
        thread = threading.Thread(target=sync_reader)
        thread.start()
        await asyncio.gather(*(client.list_page(PLACEMENTS) for _ in range(10)))
        thread.join()

    assert emulator.tokens_issued == 1
    assert len({bearer(r) for r in api_requests(emulator)}) == 1
    assert len(api_requests(emulator)) == 11


class FakeClock:
    """The token source's clock, moved by the test instead of by time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ImsTokenSource, "clock", fake)
    monkeypatch.setattr(ImsTokenSource, "wall_clock", fake)  # the machine cache's expiry
    return fake


def test_renewed_ahead_of_expiry(emulator, retry, clock):
    emulator.configure(token_lifetime_seconds=600)
    # Renew when 540 s of the 600 s are left, i.e. 60 s after minting: well before expiry.
    config = make_config(emulator, refresh_margin=540)
    with OfferLibraryClient(config, retry=retry) as client:
        client.list_page(TAGS)
        clock.now += 59
        client.list_page(TAGS)
        assert emulator.tokens_issued == 1
        clock.now += 2
        client.list_page(TAGS)

    assert emulator.tokens_issued == 2
    statuses = [r.status for r in api_requests(emulator)]
    assert statuses == [200, 200, 200]  # renewed before the server refused anything
    first, _, third = api_requests(emulator)
    assert bearer(first) != bearer(third)


def test_default_margin_is_capped_by_a_short_lifetime(emulator, config, retry, clock):
    emulator.configure(token_lifetime_seconds=200)  # margin 300 s > lifetime: renew at half-life
    with OfferLibraryClient(config, retry=retry) as client:
        client.list_page(TAGS)
        clock.now += 99
        client.list_page(TAGS)
        assert emulator.tokens_issued == 1
        clock.now += 2
        client.list_page(TAGS)

    assert emulator.tokens_issued == 2
    assert [r.status for r in api_requests(emulator)] == [200, 200, 200]


def test_revoked_token_is_renewed_once_and_the_call_replayed(emulator, client):
    client.create(TAGS, {"name": "before"})
    emulator.revoke_tokens()

    receipt = client.create(TAGS, {"name": "after"})

    assert emulator.tokens_issued == 2
    posts = [r for r in api_requests(emulator) if r.method == "POST"]
    assert [r.status for r in posts] == [201, 401, 201]
    assert bearer(posts[1]) == bearer(posts[0]) != bearer(posts[2])
    assert posts[1].json == posts[2].json == {"name": "after"}
    assert client.get(TAGS, receipt.id).name == "after"
    assert [t.name for t in client.list(TAGS)].count("after") == 1


def test_revocation_seen_by_many_threads_renews_once(emulator, config, retry):
    with OfferLibraryClient(config, retry=retry) as client:
        client.list_page(TAGS)
    emulator.revoke_tokens()

    assert in_threads(6, config, retry, lambda client: client.list_page(TAGS)) == []
    assert emulator.tokens_issued == 2
    assert [r.status for r in api_requests(emulator)].count(200) == 7


def test_second_401_is_an_authentication_error(emulator, client):
    emulator.inject_fault("GET", "/data/core/dps/tags", status=401, times=2)

    with pytest.raises(AuthenticationError) as caught:
        client.list_page(TAGS)

    assert caught.value.status == 401
    assert caught.value.error_code == "401013"
    assert "refused again after one token renewal" in str(caught.value)
    assert emulator.tokens_issued == 2  # one renewal, not a loop
    assert len(api_requests(emulator)) == 2


def test_rotation_tries_the_next_secret_on_invalid_client(emulator, retry):
    emulator.configure(client_secrets=("secret-2026-b",))
    config = make_config(emulator, client_secrets=("secret-2026-a", "secret-2026-b"))
    with OfferLibraryClient(config, retry=retry) as client:
        client.create(PLACEMENTS, placement_body())
        emulator.revoke_tokens()
        client.list_page(PLACEMENTS)

    secrets_tried = [r.form["client_secret"] for r in ims_requests(emulator)]
    # The refused secret is tried once; after that the working one goes first.
    assert secrets_tried == ["secret-2026-a", "secret-2026-b", "secret-2026-b"]
    assert emulator.tokens_issued == 2


def test_every_secret_refused_is_an_authentication_error_without_the_secret(emulator, retry):
    config = make_config(emulator, client_secrets=("wrong-secret-one", "wrong-secret-two"))
    with OfferLibraryClient(config, retry=retry) as client, pytest.raises(AuthenticationError) as e:
        client.list_page(TAGS)

    error = e.value
    assert error.error_code == "invalid_client"
    assert error.status == 400
    assert "invalid client_secret parameter" in str(error)
    for text in (str(error), repr(error)):
        assert "wrong-secret" not in text
    assert len(ims_requests(emulator)) == 2  # each secret once, no retry of a refusal
    assert api_requests(emulator) == []


def test_invalid_scope_is_an_authentication_error(emulator, retry):
    config = make_config(emulator, scopes="openid,not_a_scope")
    with OfferLibraryClient(config, retry=retry) as client, pytest.raises(AuthenticationError) as e:
        client.list_page(TAGS)

    assert e.value.error_code == "invalid_scope"
    assert len(ims_requests(emulator)) == 1


def test_ims_outage_is_retried_by_the_same_policy(emulator, client, sleeps):
    emulator.inject_fault("POST", "/ims/token/v3", status=503, times=2)

    client.list_page(TAGS)

    assert [r.status for r in ims_requests(emulator)] == [503, 503, 200]
    assert len(sleeps.delays) == 2


def test_other_secrets_do_not_reuse_a_token_minted_with_the_old_ones(emulator, config, retry):
    with OfferLibraryClient(config, retry=retry) as client:
        client.list_page(TAGS)
    wrong = make_config(emulator, client_secrets=("typo-in-the-secret",))

    with OfferLibraryClient(wrong, retry=retry) as client, pytest.raises(AuthenticationError):
        client.list_page(TAGS)

    assert [r.form["client_secret"] for r in ims_requests(emulator)] == [
        emulator.client_secret,
        "typo-in-the-secret",
    ]


async def test_sync_call_inside_the_event_loop_does_not_deadlock(
    emulator, config, retry, monkeypatch
):
    # A sync call made inside a coroutine blocks the loop, so a renewal that a coroutine on
    # the same loop started can never finish: the sync caller must stop waiting for it.
    monkeypatch.setattr(ImsTokenSource, "follower_patience", 0.2)
    emulator.inject_fault("POST", "/ims/token/v3", delay_seconds=0.5)
    async with AsyncOfferLibraryClient(config, retry=retry) as async_client:
        renewing = asyncio.create_task(async_client.list_page(TAGS))
        await await_until(lambda: ims_requests(emulator))  # the coroutine is renewing
        with OfferLibraryClient(config, retry=retry) as client:
            client.list_page(TAGS)
        await renewing

    assert emulator.tokens_issued == 2
    assert [r.status for r in api_requests(emulator)] == [200, 200]


@pytest.mark.parametrize("token_cache", ["process", "machine"])
@pytest.mark.parametrize("wrong_first", [False, True], ids=["right-first", "wrong-first"])
def test_a_token_goes_only_to_clients_holding_the_secret_it_was_minted_with(
    emulator, retry, token_cache, wrong_first
):
    """Same client id, two secrets, one process: the shared token is keyed by the credential,
    so the wrong secret meets IMS's refusal and the right one is never disturbed by it."""
    right = OfferLibraryClient(make_config(emulator, token_cache=token_cache), retry=retry)
    wrong = OfferLibraryClient(
        make_config(emulator, client_secrets=("not-the-secret",), token_cache=token_cache),
        retry=retry,
    )  # both built before either asks for a token

    def use_wrong() -> None:
        with pytest.raises(AuthenticationError, match=r"\[invalid_client\]"):
            wrong.list_page(TAGS)

    with right, wrong:
        if wrong_first:
            use_wrong()
        right.list_page(TAGS)
        if not wrong_first:
            use_wrong()
        emulator.revoke_tokens()  # the right client renews with its own secret
        right.list_page(TAGS)
        use_wrong()

    sent = [r.form["client_secret"] for r in ims_requests(emulator)]
    assert sorted(set(sent)) == sorted({emulator.client_secret, "not-the-secret"})
    accepted = {bearer(r) for r in api_requests(emulator)}
    assert accepted <= set(emulator.issued_tokens) and len(accepted) == 2
    assert wrong.token_source.cached_token is None
