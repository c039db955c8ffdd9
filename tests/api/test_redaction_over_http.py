"""A server that echoes what it was sent, over loopback HTTP: no part of the client secret or
the access token reaches an error, in any encoding, and no raw httpx error (whose request
holds them) stays reachable from the error (issue 22.6)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, quote_plus

import httpx
import pytest
from test_errors_and_secrets import exception_chain

from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import (
    AuthenticationError,
    ConnectionFailedError,
    OfferLibraryError,
    RequestValidationError,
    UnreadableResponseError,
)
from airflow_provider_offers.api.resources import TAGS

SECRET = "echo-Secret value+/&42"
TOKEN = "tok+Echoed/Token=7"  # shorter than the generic Bearer rule: only its own rule redacts it


class EchoServer(ThreadingHTTPServer):
    """IMS and one API path, answering in the way `mode` names, echoing what was sent."""

    mode = "html-echo"
    daemon_threads = True


class Echo(BaseHTTPRequestHandler):
    server: EchoServer

    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, kind: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # the token endpoint
        form = self.rfile.read(int(self.headers["Content-Length"])).decode()
        mode = self.server.mode
        if mode == "ims-hangs":
            time.sleep(1.0)
        if parse_qs(form)["client_secret"] == [SECRET] and mode.startswith("api-"):
            self.answer(200, "application/json", json.dumps(TOKEN_ANSWER))
        elif mode == "ims-straddle":  # the form echoed, the secret across the 300th character
            self.answer(401, "text/plain", "refused " + "." * 226 + form + " (end)")
        else:
            self.answer(400, "application/json", json.dumps(IMS_REFUSAL | {"echo": form}))

    def do_GET(self) -> None:  # the API
        sent = self.headers["Authorization"]
        token = sent.removeprefix("Bearer ")
        if self.server.mode == "api-html-echo":
            self.answer(
                200, "text/html", f"<title>Hello {quote(token)} / {quote_plus(token)}</title>"
            )
        elif self.server.mode == "api-plain-echo":
            self.answer(200, "text/plain", f"you sent {sent} and {quote(token)}")
        else:  # api-straddle
            self.answer(400, "text/plain", "bad request " + "." * 280 + quote(token) + " " * 50)


TOKEN_ANSWER = {"access_token": TOKEN, "expires_in": 86399}
IMS_REFUSAL = {"error": "invalid_client", "error_description": f"refused {quote_plus(SECRET)}"}


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def config_for(server: EchoServer, **changes) -> ClientConfig:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = {"client_secrets": (SECRET,), "token_cache": "off", "timeout": 5.0, **changes}
    return ClientConfig(client_id="c", org_id="ORG@AdobeOrg", base_url=url, ims_url=url, **settings)


def leaked(error: OfferLibraryError) -> list[str]:
    """Pieces (6+ characters) of the secret or the token found in what the error shows."""
    shown = " ".join(str(part) for part in (error, repr(error), error.detail, error.error_code))
    pieces = {
        s[i : i + 6]
        for s in (SECRET, TOKEN, quote(SECRET), quote_plus(TOKEN))
        for i in range(len(s) - 5)
    }
    return sorted(piece for piece in pieces if piece in shown)


@pytest.mark.parametrize(
    ("mode", "error_class"),
    [
        ("api-html-echo", UnreadableResponseError),  # a 2xx page: retried, then raised
        ("api-plain-echo", UnreadableResponseError),  # a 2xx that is not JSON
        ("api-straddle", RequestValidationError),  # the token across the snippet's cut
        ("ims-straddle", AuthenticationError),  # the form (and secret) across the cut
        ("ims-refusal", AuthenticationError),  # IMS's JSON error echoing the form-encoded form
    ],
)
def test_echoes_of_the_secret_or_token_never_reach_the_error(echo_server, retry, mode, error_class):
    echo_server.mode = mode
    client = OfferLibraryClient(config_for(echo_server), retry=retry)
    with client, pytest.raises(OfferLibraryError) as caught:
        client.list_page(TAGS)

    assert type(caught.value) is error_class
    assert "***" in str(caught.value) or mode == "api-plain-echo"  # that one shows no body
    assert leaked(caught.value) == []
    assert exception_chain(caught.value) == []


def test_a_lost_token_request_keeps_no_raw_httpx_error(echo_server, retry):
    echo_server.mode = "ims-hangs"
    config = config_for(echo_server, timeout=0.2, max_attempts=1)
    client = OfferLibraryClient(config, retry=retry)
    with client, pytest.raises(ConnectionFailedError, match="ReadTimeout") as caught:
        client.list_page(TAGS)

    # The raw error's request is the token request, whose body is the client secret.
    assert exception_chain(caught.value) == []
    assert not isinstance(caught.value.__context__, httpx.HTTPError)


async def test_the_async_client_keeps_no_raw_httpx_error_either(echo_server, retry):
    echo_server.mode = "ims-hangs"
    config = config_for(echo_server, timeout=0.2, max_attempts=1)
    async with AsyncOfferLibraryClient(config, retry=retry) as client:
        with pytest.raises(ConnectionFailedError) as caught:
            await client.list_page(TAGS)
        echo_server.mode = "api-plain-echo"
        with pytest.raises(UnreadableResponseError) as unreadable:
            await client.list_page(TAGS)

    assert exception_chain(caught.value) == [] and exception_chain(unreadable.value) == []
    assert leaked(unreadable.value) == []
