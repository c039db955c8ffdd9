"""Error bodies of every shape become clear errors; no secret or token ever leaks."""

from __future__ import annotations

import logging
import pickle

import pytest
from client_helpers import api_requests, make_config

from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.errors import (
    TRANSIENT_ERRORS,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    InvalidInputError,
    NotFoundError,
    OfferLibraryError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RequestValidationError,
    ServerError,
    UnreadableResponseError,
    error_from_response,
)
from airflow_provider_offers.api.resources import TAGS


def _error(status: int, body: bytes, content_type: str = "application/json", **kwargs):
    return error_from_response(
        status=status,
        body=body,
        content_type=content_type,
        method="GET",
        path="/data/core/dps/tags",
        request_id="rid-1",
        **kwargs,
    )


def test_gateway_body():
    error = _error(401, b'{"error_code":"401013","message":"Oauth token is not valid"}')
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.error_code, error.detail, error.request_id) == (
        401,
        "401013",
        "Oauth token is not valid",
        "rid-1",
    )
    assert str(error) == (
        "GET /data/core/dps/tags failed with HTTP 401 [401013]: Oauth token is not valid "
        "(x-request-id rid-1)"
    )


def test_problem_body():
    error = _error(
        404,
        b'{"type":"http://ns.adobe.com/aep/errors/XDM-1010-404","status":404,'
        b'"title":"Not Found","detail":"no such schema","report":{"x":1}}',
        "application/problem+json",
    )
    assert isinstance(error, NotFoundError)
    assert error.error_code == "http://ns.adobe.com/aep/errors/XDM-1010-404"
    assert error.detail == "Not Found: no such schema"


def test_ims_body():
    error = _error(400, b'{"error":"invalid_scope","error_description":"invalid scope: x"}')
    assert isinstance(error, RequestValidationError)
    assert (error.error_code, error.detail) == ("invalid_scope", "invalid scope: x")


def test_html_body_from_a_proxy():
    page = (
        b"<!DOCTYPE html><html><head><style>h1{color:red}</style></head>"
        b"<body><h1>Service   Unavailable</h1><p>The proxy could not reach upstream.</p></body>"
        b"</html>"
    )
    error = _error(503, page, "text/html; charset=utf-8", retry_after=None)
    assert isinstance(error, ServerError)
    assert error.detail == (
        "non-JSON response (text/html): Service Unavailable The proxy could not reach upstream."
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "empty response body"),
        (b"upstream connect error " * 40, "non-JSON response (text/plain): upstream connect"),
        (b'{"errorMessage":"Supplied version 3 does not match"}', "Supplied version 3"),
        (b'{"errors":[{"code":"oauth-token-invalid","title":"bad token"}]}', "bad token"),
    ],
)
def test_other_bodies(body, detail):
    error = _error(409, body, "text/plain")
    assert isinstance(error, ConflictError)
    assert error.detail.startswith(detail)
    assert len(error.detail) < 400


def test_status_classes_and_rate_limit_detail():
    assert type(_error(403, b"{}")) is PermissionDeniedError
    assert type(_error(422, b"{}")) is RequestValidationError
    assert type(_error(418, b"{}")) is OfferLibraryError
    limited = _error(429, b'{"error_code":"429050","message":"Too many requests"}', retry_after=7)
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 7
    transient = (RateLimitedError, ServerError, ConnectionFailedError, UnreadableResponseError)
    assert transient == TRANSIENT_ERRORS
    assert issubclass(InvalidInputError, ValueError) and issubclass(
        InvalidInputError, OfferLibraryError
    )
    assert issubclass(OutcomeUnknownError, OfferLibraryError)


def test_errors_survive_pickling_with_their_attributes():
    original = _error(429, b'{"error_code":"429050","message":"slow down"}', retry_after=3)
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is RateLimitedError
    assert (str(copy), copy.status, copy.retry_after, copy.request_id) == (
        str(original),
        429,
        3,
        "rid-1",
    )
    field_error = pickle.loads(pickle.dumps(InvalidInputError("offer.name", "required")))
    assert (field_error.field, str(field_error)) == ("offer.name", "offer.name: required")


def test_secrets_in_error_bodies_are_redacted():
    error = _error(
        400,
        b'{"error":"invalid_client","error_description":"bad s3cr3t-value"}',
        secrets=["s3cr3t-value"],
    )
    assert "s3cr3t-value" not in str(error) and "***" in str(error)


SECRET = "offers-emulator-secret"


def _tokens(emulator) -> set[str]:
    return {
        r.headers["authorization"].removeprefix("Bearer ")
        for r in emulator.requests
        if "authorization" in r.headers
    }


async def test_no_secret_or_token_in_logs_reprs_or_errors(emulator, retry, caplog):
    caplog.set_level(logging.DEBUG)  # everything, including httpx and httpcore
    texts: list[str] = []
    config = make_config(emulator, client_secrets=("wrong-secret-xyz", SECRET))
    with OfferLibraryClient(config, retry=retry) as client:
        receipt = client.create(TAGS, {"name": "t"})
        emulator.revoke_tokens()
        client.get(TAGS, receipt.id)
        emulator.inject_fault("GET", "/data/core/dps/tags", status=401, times=2)
        emulator.inject_fault("POST", "/data/core/dps/tags", drop_after_commit=True)
        for call in (
            lambda: client.list_page(TAGS),
            lambda: client.create(TAGS, {"name": "u"}),
            lambda: client.get(TAGS, "missing"),
        ):
            with pytest.raises(OfferLibraryError) as caught:
                call()
            texts += [str(caught.value), repr(caught.value)]
        texts += [repr(client), repr(client.config), repr(client.token_source), str(config)]
        texts += [repr(client._core.auth)]
    async with AsyncOfferLibraryClient(config, retry=retry) as aclient:
        await aclient.get(TAGS, receipt.id)
        texts.append(repr(aclient))
    bad = make_config(emulator, client_secrets=("wrong-secret-xyz",))
    with OfferLibraryClient(bad, retry=retry) as client, pytest.raises(AuthenticationError) as e:
        client.list_page(TAGS)
    texts += [str(e.value), repr(e.value)]

    tokens = _tokens(emulator)
    assert len(tokens) >= 2 and caplog.text
    everything = "\n".join([caplog.text, *texts])
    for secret in (SECRET, "wrong-secret-xyz", *tokens):
        assert secret not in everything
    # What is logged instead: method, path, status and request id.
    request_id = api_requests(emulator)[0].headers["x-request-id"]
    assert f"POST /data/core/dps/tags -> HTTP 201 (x-request-id {request_id}" in caplog.text


# -- redaction without gaps (issue 22.6) ------------------------------------------------------

ODD_SECRET = "s3cr3t value+/ü&x"  # a blank, +, /, a non-ASCII letter and & encode differently
ENCODED_ECHOES = {
    "percent": "s3cr3t%20value%2B%2F%C3%BC%26x",
    "percent, lower-case hex": "s3cr3t%20value%2b%2f%c3%bc%26x",
    "form": "s3cr3t+value%2B%2F%C3%BC%26x",
    "form, / kept": "s3cr3t+value%2B/%C3%BC%26x",
    "json": "s3cr3t value+\\/\\u00fc&x",
    "html": "s3cr3t value+/&#252;&amp;x",
}


@pytest.mark.parametrize("echo", list(ENCODED_ECHOES.values()), ids=list(ENCODED_ECHOES))
def test_an_encoded_echo_of_the_secret_is_redacted(echo):
    body = f'{{"error":"invalid_client","error_description":"got client_secret={echo}"}}'
    error = _error(400, body.encode(), secrets=[ODD_SECRET])
    assert error.detail == "got client_secret=***"
    assert "s3cr3t" not in str(error)


@pytest.mark.parametrize("offset", [280, 290, 296, 299])
def test_a_secret_straddling_the_snippet_cut_leaks_no_part_of_itself(offset):
    secret = "abcdefghij-SECRET-0123456789"
    body = ("x" * offset + secret + " and more text after it" * 10).encode()
    error = _error(401, body, "text/plain", secrets=[secret])
    snippet = error.detail.removesuffix("...")
    assert not any(snippet.endswith(secret[:length]) for length in range(1, len(secret)))
    assert "abcd" not in str(error)


def test_an_echoed_bearer_credential_is_redacted_even_when_unknown():
    page = b"<html><title>Denied: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.old-token</title>"
    error = _error(403, page, "text/html")
    assert error.detail == "non-JSON response (text/html): Denied: Authorization: Bearer ***"
    # ...and a sentence that merely says "Bearer" stays readable.
    assert _error(401, b'{"message":"Bearer token expired"}').detail == "Bearer token expired"


def test_the_error_code_is_redacted_too():
    error = _error(400, b'{"error":"bad-s3cr3t-value"}', secrets=["s3cr3t-value"])
    assert error.error_code == "bad-***" and "s3cr3t-value" not in str(error)


def exception_chain(error: BaseException) -> list[BaseException]:
    """Every exception reachable from `error` through __context__ and __cause__."""
    seen: list[BaseException] = []
    todo = [error.__context__, error.__cause__]
    while todo:
        current = todo.pop()
        if current is not None and current not in seen:
            seen.append(current)
            todo += [current.__context__, current.__cause__]
    return seen


def test_every_error_the_package_raises_on_purpose_has_one_root():
    from airflow_provider_offers.api import catalog, reconcile
    from airflow_provider_offers.api.errors import OfferLibraryError

    for error in (
        reconcile.NameTakenError,
        reconcile.EtagMismatchError,
        reconcile.OperationsDoNotApplyError,
        reconcile.ConcurrentModificationError,
        catalog.CatalogError,
        catalog.ApplyError,
    ):
        assert issubclass(error, OfferLibraryError), error
    taken = reconcile.NameTakenError("Spring", "dps:offer:1")
    assert str(taken) == "an object named 'Spring' already exists: id 'dps:offer:1'"
    assert (taken.name, taken.entity_id) == ("Spring", "dps:offer:1")
