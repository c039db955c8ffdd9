"""api/auth.py on its own: how long a token is used, which secret is sent, what IMS errors become
(over loopback to the emulator: tests/api/test_auth.py). IMS and the API are an
`httpx.MockTransport`; the token clock is a number the test moves."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from airflow_provider_offers.api.auth import ImsAuth, ImsTokenSource
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import (
    AuthenticationError,
    ConnectionFailedError,
    OfferLibraryError,
    RateLimitedError,
    ServerError,
)

IMS = "https://ims.example"
API = "https://api.example/data/core/dps/offers"


class Ims:
    """IMS answers from a queue (then a fresh token valid `lifetime` s); the API answers from
    a queue of statuses (then 200) and records the bearer token of each request."""

    def __init__(self, lifetime: float = 86399) -> None:
        self.lifetime = lifetime
        self.answers: list[httpx.Response] = []
        self.api_statuses: list[int] = []
        self.secrets_sent: list[str] = []
        self.bearers: list[str] = []
        self.minted = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ims/token/v3":
            self.secrets_sent.append(parse_qs(request.content.decode())["client_secret"][0])
            if self.answers:
                return self.answers.pop(0)
            self.minted += 1
            token = {"access_token": f"token-{self.minted}", "expires_in": self.lifetime}
            return httpx.Response(200, json=token)
        self.bearers.append(request.headers["authorization"].removeprefix("Bearer "))
        return httpx.Response(self.api_statuses.pop(0) if self.api_statuses else 200)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(secrets=("s1",), refresh_margin: float = 0.0) -> ImsTokenSource:
    config = ClientConfig(
        client_id="client",
        client_secrets=secrets,
        org_id="org@AdobeOrg",
        ims_url=IMS,
        refresh_margin=refresh_margin,
    )
    return ImsTokenSource(config)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ImsTokenSource, "clock", clock)
    monkeypatch.setattr(ImsTokenSource, "wall_clock", clock)  # the machine cache's expiry
    return clock


def call(ims: Ims, tokens: ImsTokenSource, on_token=None) -> httpx.Response:
    with httpx.Client(transport=httpx.MockTransport(ims), auth=ImsAuth(tokens, on_token)) as c:
        return c.get(API)


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        (86_399, 86_399),  # seconds, as /ims/token/v3 gives them
        (2_592_000, 2_592_000),  # 30 days: still seconds
        (2_592_500, 2_592.5),  # more than 30 days of seconds: milliseconds
        (2_600_000, 2_600),
        (86_399_000, 86_399),  # a day in milliseconds (the retired JWT exchange)
    ],
)
def test_expires_in_is_seconds_up_to_thirty_days_and_milliseconds_beyond(
    clock, expires_in, lifetime
):
    ims, tokens = Ims(lifetime=expires_in), source(refresh_margin=0)
    assert tokens.cached_token is None

    call(ims, tokens)
    clock.now += lifetime - 0.5
    call(ims, tokens)
    assert (ims.minted, tokens.cached_token) == (1, "token-1")

    clock.now += 0.5  # the token's last moment: renewed now
    call(ims, tokens)
    assert (ims.minted, tokens.cached_token) == (2, "token-2")
    assert ims.bearers == ["token-1", "token-1", "token-2"]


def invalid_client() -> httpx.Response:
    return httpx.Response(401, json={"error": "invalid_client"})


def test_the_secret_that_worked_is_tried_first_from_then_on(clock):
    ims, tokens = Ims(), source(secrets=("old", "new"))
    ims.answers.append(invalid_client())

    call(ims, tokens)
    assert ims.secrets_sent == ["old", "new"]
    assert tokens.secrets == ("new", "old")

    clock.now += 86_399  # expired: the next token is asked for with the secret that worked
    call(ims, tokens)
    assert ims.secrets_sent == ["old", "new", "new"]


# -- single-flight renewal, driven step by step as ImsAuth drives it ---------------------------


def test_a_waiter_whose_renewer_was_cancelled_renews_itself():
    tokens = source()
    renewer, waiter = tokens.token_flow(), tokens.token_flow()
    assert isinstance(next(renewer), httpx.Request)  # asks IMS
    renewal = next(waiter)  # waits for that answer
    assert not isinstance(renewal, httpx.Request)

    renewer.close()  # cancelled before IMS answered

    step = waiter.throw(renewal.exception())
    assert isinstance(step, httpx.Request) and step.url == f"{IMS}/ims/token/v3"
    with pytest.raises(StopIteration) as done:
        waiter.send(httpx.Response(200, json={"access_token": "mine", "expires_in": 600}))
    assert done.value.value == "mine"


def test_a_waiter_gets_the_renewers_ims_error_without_asking_ims_again():
    tokens = source()
    renewer, waiter = tokens.token_flow(), tokens.token_flow()
    next(renewer)
    renewal = next(waiter)

    refused = httpx.Response(400, json={"error": "invalid_scope"})
    with pytest.raises(AuthenticationError):
        renewer.send(refused)

    with pytest.raises(AuthenticationError) as caught:
        waiter.throw(renewal.exception())
    assert caught.value is not renewal.exception()  # a copy per waiter
    assert caught.value.status == 400


@pytest.mark.parametrize("status", [400, 401])
def test_invalid_client_with_400_or_401_tries_the_next_secret(status):
    ims, tokens = Ims(), source(secrets=("old", "new"))
    ims.answers.append(httpx.Response(status, json={"error": "invalid_client"}))

    call(ims, tokens)

    assert ims.secrets_sent == ["old", "new"]


def test_a_refusal_that_is_not_json_is_an_authentication_error_without_trying_more_secrets():
    ims, tokens = Ims(), source(secrets=("old", "new"))
    ims.answers.append(httpx.Response(401, text="<html>Unauthorized</html>"))

    with pytest.raises(AuthenticationError):
        call(ims, tokens)

    assert ims.secrets_sent == ["old"]


def test_a_token_request_lost_after_sending_is_still_safe_to_retry():
    request = httpx.Request("POST", f"{IMS}/ims/token/v3")

    error = source().transport_error(httpx.ReadTimeout("timed out", request=request))

    assert isinstance(error, ConnectionFailedError)  # retried, unlike a lost POST to the API
    assert str(error) == f"POST {IMS}/ims/token/v3: network failure (ReadTimeout: timed out)"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, AuthenticationError), (429, RateLimitedError), (500, ServerError)],
)
def test_an_ims_refusal_is_an_authentication_error_but_throttling_and_outages_are_not(
    status, error_class
):
    ims, tokens = Ims(), source()
    ims.answers.append(httpx.Response(status, json={"error": "some_error"}))

    with pytest.raises(OfferLibraryError) as caught:
        call(ims, tokens)

    assert type(caught.value) is error_class and caught.value.status == status


def test_a_token_answer_without_a_token_is_an_authentication_error():
    ims, tokens = Ims(), source()
    ims.answers.append(httpx.Response(200, json={"expires_in": 600}))

    with pytest.raises(AuthenticationError) as caught:
        call(ims, tokens)

    assert str(caught.value) == (
        f"POST {IMS}/ims/token/v3: IMS answered HTTP 200 without access_token/expires_in"
    )


# -- on_token: every token the auth has not used before, once ---------------------------------


def test_on_token_sees_each_new_token_once(clock):
    ims, tokens, seen = Ims(lifetime=600), source(), []
    auth = ImsAuth(tokens, seen.append)

    with httpx.Client(transport=httpx.MockTransport(ims), auth=auth) as client:
        client.get(API)
        client.get(API)
        clock.now += 600
        client.get(API)

    assert seen == ["token-1", "token-2"]


async def test_an_async_on_token_is_awaited_before_the_request_is_sent():
    ims, tokens, seen = Ims(), source(), []

    async def mask(token):
        seen.append((token, len(ims.bearers)))

    auth = ImsAuth(tokens, mask)
    async with httpx.AsyncClient(transport=httpx.MockTransport(ims), auth=auth) as client:
        await client.get(API)

    assert seen == [("token-1", 0)]
    assert ims.bearers == ["token-1"]


async def test_an_async_on_token_that_fails_stops_the_request():
    ims, tokens = Ims(), source()

    async def mask(token):
        raise ValueError("masker down")

    auth = ImsAuth(tokens, mask)
    async with httpx.AsyncClient(transport=httpx.MockTransport(ims), auth=auth) as client:
        with pytest.raises(ValueError, match="masker down"):
            await client.get(API)

    assert ims.bearers == []


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_an_async_on_token_in_a_sync_request_is_refused():
    ims, tokens = Ims(), source()

    async def mask(token):
        return None

    with pytest.raises(TypeError, match="an async on_token callback in a sync request"):
        call(ims, tokens, mask)
    assert ims.bearers == []


def test_a_margin_as_long_as_the_lifetime_renews_at_half_life(clock):
    ims, tokens = Ims(lifetime=600), source(refresh_margin=600)

    call(ims, tokens)
    clock.now += 299
    call(ims, tokens)
    assert ims.minted == 1
    clock.now += 1
    call(ims, tokens)
    assert ims.minted == 2
