"""Run the emulator: in-process (uvicorn in a background thread) or in the foreground (the CLI)."""

from __future__ import annotations

import functools
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from .backend import Interlude, OfferLibraryBackend
from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, EmulatorConfig
from .controls import RecordedRequest
from .faults import Fault, faults_of_kind, hide_dropped_connections
from .urls import create_app


class EmulatorServer:
    """A running emulator: its URL, credentials, state and test controls."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.backend = OfferLibraryBackend(config)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def _bind(self) -> tuple[socket.socket, uvicorn.Server]:
        """The listening socket (port 0 picks a free one) and a quiet uvicorn server for it."""
        hide_dropped_connections()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.backend),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        return sock, uvicorn.Server(config)

    def serve(self, on_ready: Callable[[str], None]) -> bool:
        """Serve in this thread until Ctrl-C or SIGTERM; `on_ready(url)` once it listens."""
        sock, server = self._bind()
        original_startup = server.startup

        async def startup(sockets=None) -> None:
            await original_startup(sockets=sockets)
            if server.started:
                on_ready(self.url)

        server.startup = startup  # type: ignore[method-assign]
        server.run(sockets=[sock])
        return server.started

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Serve in a background thread; returns once the server listens."""
        sock, self._server = self._bind()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"offers-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        ready = threading.Event()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator server thread stopped during start-up")
            ready.wait(0.01)
            timeout -= 0.01
            if timeout <= 0:
                self.stop()
                raise RuntimeError("the emulator did not start in time")
        sock.close()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- what tests read --------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> EmulatorConfig:
        return self.backend.config

    @property
    def client_id(self) -> str:
        return self.backend.config.client_id

    @property
    def client_secret(self) -> str:
        return self.backend.config.client_secret

    @property
    def org_id(self) -> str:
        return self.backend.config.org_id

    @property
    def tokens_issued(self) -> int:
        return self.backend.ims.tokens_issued

    @property
    def fault_counts(self) -> dict[str, int]:
        """How many requests each named fault kind hit since the last reset."""
        with self.backend.lock:
            return dict(self.backend.faults.counts)

    @property
    def fault_seed(self) -> int:
        """The seed of the random faults (the configured one, or the one picked); print it to
        reproduce a run with `configure(fault_seed=...)`."""
        return self.backend.faults.seed

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued since the last reset, revoked or expired ones too."""
        with self.backend.lock:
            return list(self.backend.ims.issued_tokens)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.backend.lock:
            return list(self.backend.requests)

    def dps_client(self, sandbox: str = "prod") -> httpx.Client:
        """`dps_client()` for this emulator, with its configured credentials."""
        return dps_client(
            self.url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            org_id=self.org_id,
            sandbox=sandbox,
        )

    # -- controls ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Fresh state: no objects, tokens, faults or logged requests; initial config."""
        self.backend.reset()

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change EmulatorConfig fields until the next reset(); `answer_style=` sets a style."""
        return self.backend.configure(**changes)

    def revoke_tokens(self) -> None:
        self.backend.ims.revoke()

    def write_unchecked(
        self, kind: str, ident: str, members: dict[str, Any], sandbox: str = "prod"
    ) -> dict[str, Any]:
        """Give a stored object (`kind`: "fallback-offer", ...) members the API would refuse,
        such as `characteristics: {"a": 1}`: an object outside a client's read models. It is a
        write (new etag and `modified`); returns the object as GET answers it."""
        return self.backend.write_unchecked(sandbox, kind, ident, members)

    def inject_fault(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        retry_after: float | int | str | None = None,
        drop_after_commit: bool = False,
        delay_seconds: float = 0.0,
        raw_body: str | None = None,
        content_type: str | None = None,
        drop_before_commit: bool = False,
        body_after_commit: str | None = None,
        delay_after_commit_seconds: float = 0.0,
        revoke_tokens: bool = False,
    ) -> None:
        """The next `times` requests matching method ("*" = any) and path prefix misbehave
        (see `faults.Fault`)."""
        self._add_faults(
            Fault(
                method=method,
                path_prefix=path_prefix,
                status=status,
                body=body,
                headers=headers,
                times=times,
                retry_after=retry_after,
                drop_after_commit=drop_after_commit,
                delay_seconds=delay_seconds,
                raw_body=raw_body,
                content_type=content_type,
                drop_before_commit=drop_before_commit,
                body_after_commit=body_after_commit,
                delay_after_commit_seconds=delay_after_commit_seconds,
                revoke_tokens=revoke_tokens,
            )
        )

    def before_request(
        self,
        method: str,
        path: str,
        action: Callable[[], Any],
        *,
        nth: int = 1,
        query_has: str | None = None,
    ) -> Interlude:
        """Run `action()` once, just before the `nth` request from now to exactly this method
        and path (with `query_has` in its query string, if given: `"start="` for a next page)
        is handled, e.g. another client's edit between two pages of a listing; it may call
        this server over HTTP. The returned `Interlude` holds its error, if any."""
        if nth < 1:
            raise ValueError("nth: must be >= 1")
        interlude = Interlude(method.upper(), path, action, nth, query_has)
        self.backend.add_interlude(interlude)
        return interlude

    def inject_fault_kind(
        self, kind: str, method: str = "*", path_prefix: str = "/", *, slow_seconds: float = 2.0
    ) -> None:
        """The next matching request gets one named fault (`faults.FAULT_KINDS`)."""
        self._add_faults(*faults_of_kind(kind, method, path_prefix, slow_seconds=slow_seconds))

    def _add_faults(self, *faults: Fault) -> None:
        with self.backend.lock:
            for fault in faults:
                self.backend.faults.add(fault)


def dps_client(
    url: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    org_id: str = DEFAULT_ORG_ID,
    sandbox: str = "prod",
) -> httpx.Client:
    """A plain httpx client of an emulator's DPS API, with a fresh token and the gateway headers.

    For arranging objects in tests, or playing "someone else" (a colleague in the Journey
    Optimizer UI) the way any HTTP client would: it shares no code with the provider's client.
    `url` is the emulator's base URL (in-process or `python -m ...emulator`); paths are relative
    to `/data/core/dps`; pass `x-sandbox-name` per request to use another sandbox. Close it.
    """
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": "openid,AdobeID,read_organizations",
    }
    tls = _tls_context()
    token = httpx.post(f"{url}/ims/token/v3", data=form, timeout=10, verify=tls)
    token.raise_for_status()
    return httpx.Client(
        base_url=f"{url}/data/core/dps",
        verify=tls,
        headers={
            "Authorization": f"Bearer {token.json()['access_token']}",
            "x-api-key": client_id,
            "x-gw-ims-org-id": org_id,
            "x-sandbox-name": sandbox,
        },
        timeout=10,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every helper client: httpx loads every CA certificate (~20 ms of CPU)
    for each client it builds otherwise, and tests build one or two per test."""
    return httpx.create_ssl_context()


@contextmanager
def run_emulator(
    *, host: str = "127.0.0.1", port: int = 0, answer_style: str | None = None, **fields: Any
) -> Iterator[EmulatorServer]:
    """`with run_emulator(client_secrets=("a", "b")) as emulator: ...`

    `answer_style="adobe-examples"` answers in the forms Adobe's examples show (the default is
    `strict`); other keywords are `EmulatorConfig` fields and win over the style.
    """
    config = EmulatorConfig.from_options(answer_style=answer_style, **fields)
    server = EmulatorServer(config, host=host, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
