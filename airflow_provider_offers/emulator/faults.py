"""Faults: what can go wrong (`Fault`, the named `FAULT_KINDS`), the queue of faults due
(injected ones, random draws) and the ASGI middleware that applies them.

The middleware also logs every request and runs interludes (`EmulatorServer.before_request`),
and adds `x-request-id`; `/_emulator/` control requests pass untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, parse_qsl

from fastapi.responses import JSONResponse, Response

from .config import EmulatorConfig
from .controls import CONTROL_PREFIX, RecordedRequest
from .exceptions import default_fault_body

if TYPE_CHECKING:
    from .backend import OfferLibraryBackend

#: An HTML error page, as a proxy or load balancer in front of the API sends it.
PROXY_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
#: A login or maintenance page answered with 200 by a proxy that never forwarded the request.
PROXY_OK_PAGE = (
    "<!DOCTYPE html><html><head><title>Adobe - Service maintenance</title></head>"
    "<body><p>We'll be back soon.</p></body></html>"
)
HTML = "text/html; charset=utf-8"


@dataclass
class Fault:
    """Answer the next `times` requests matching method and path prefix differently.

    At most one of these decides what happens to the request:

    - `status`: that status (with `body` as JSON, or `raw_body` as text of `content_type`,
      and `headers`, `retry_after`) is the answer and the request is not handled;
    - `drop_before_commit`: the request is not handled and the connection is cut after the
      status line (the client sees it closed mid-answer, as with `drop_after_commit`);
    - `drop_after_commit`: the request is handled and committed, then the connection is cut
      mid-answer;
    - `body_after_commit`: the request is handled and committed and its answer's body is
      replaced by this text (`""`: an empty body), status kept.

    `delay_seconds` waits before any of them; `delay_after_commit_seconds` handles the request
    and holds its answer that long (a client with a shorter timeout gives up on a committed
    write). `revoke_tokens` revokes every token first (the request gets 401 401013). `kind`
    names the fault in `EmulatorServer.fault_counts`.
    """

    method: str
    path_prefix: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    times: int = 1
    retry_after: float | int | str | None = None
    drop_after_commit: bool = False
    delay_seconds: float = 0.0
    raw_body: str | None = None
    content_type: str | None = None
    drop_before_commit: bool = False
    body_after_commit: str | None = None
    delay_after_commit_seconds: float = 0.0
    revoke_tokens: bool = False
    kind: str | None = None

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("times: must be >= 1")
        outcomes = {
            "status": self.status is not None,
            "drop_before_commit": self.drop_before_commit,
            "drop_after_commit": self.drop_after_commit,
            "body_after_commit": self.body_after_commit is not None,
        }
        chosen = [name for name, given in outcomes.items() if given]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)}: choose one")
        if self.body is not None and self.raw_body is not None:
            raise ValueError("body and raw_body: choose one")
        if self.delay_seconds < 0 or self.delay_after_commit_seconds < 0:
            raise ValueError("delays: zero or more seconds")

    @property
    def handled(self) -> bool:
        """Whether the request reaches the API (and commits) under this fault."""
        return self.status is None and not self.drop_before_commit

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and path.startswith(self.path_prefix)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers or {})
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


IMS_TOKEN_PATH = "/ims/token/v3"

#: Named faults, each one way the network, a proxy, the gateway or IMS misbehaves. Random
#: faults (`EmulatorConfig.fault_rates`) are drawn from these; `faults_of_kind` builds them.
FAULT_KINDS: tuple[str, ...] = (
    "rate_limited",  # 429 with Retry-After: 1 (gateway body)
    "unavailable",  # 503 problem body, not handled
    "bad_gateway_html",  # 502 with a proxy's HTML page, not handled
    "html_200",  # 200 with a proxy's HTML page, not handled
    "empty_body",  # handled and committed, answered with its status and an empty body
    "dropped_before_commit",  # connection cut, not handled
    "dropped_after_commit",  # handled and committed, connection cut mid-answer
    "slow_before_commit",  # held `slow_seconds`, then cut without being handled
    "slow_after_commit",  # handled and committed, answer held `slow_seconds`
    "tokens_revoked",  # every token revoked before the request is checked
    "ims_unavailable",  # tokens revoked, and the next token request gets 503
    "ims_invalid_client",  # tokens revoked, and the next token request gets invalid_client
)


def faults_of_kind(
    kind: str, method: str = "*", path_prefix: str = "/", *, slow_seconds: float = 2.0
) -> list[Fault]:
    """The faults one named kind stands for: the first for the matching request, the rest
    (IMS kinds) for the token request it provokes."""
    where: dict[str, Any] = {"method": method, "path_prefix": path_prefix, "kind": kind}
    ims: dict[str, Any] = {"method": "POST", "path_prefix": IMS_TOKEN_PATH}  # counted once
    one: dict[str, dict[str, Any]] = {
        "rate_limited": {"status": 429, "retry_after": 1},
        "unavailable": {"status": 503},
        "bad_gateway_html": {"status": 502, "raw_body": PROXY_ERROR_PAGE, "content_type": HTML},
        "html_200": {"status": 200, "raw_body": PROXY_OK_PAGE, "content_type": HTML},
        "empty_body": {"body_after_commit": ""},
        "dropped_before_commit": {"drop_before_commit": True},
        "dropped_after_commit": {"drop_after_commit": True},
        "slow_before_commit": {"delay_seconds": slow_seconds, "drop_before_commit": True},
        "slow_after_commit": {"delay_after_commit_seconds": slow_seconds},
        "tokens_revoked": {"revoke_tokens": True},
    }
    if kind in one:
        return [Fault(**where, **one[kind])]
    if kind == "ims_unavailable":
        return [Fault(**where, revoke_tokens=True), Fault(**ims, status=503)]
    if kind == "ims_invalid_client":
        refusal = {
            "error": "invalid_client",
            "error_description": "invalid client_secret parameter",
        }
        return [Fault(**where, revoke_tokens=True), Fault(**ims, status=400, body=refusal)]
    raise ValueError(f"kind: one of {', '.join(FAULT_KINDS)}")


class FaultQueue:
    """The faults due: injected ones first, in order, then random draws at the configured
    rates from one seeded sequence. The caller holds the emulator's lock."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.injected: list[Fault] = []
        #: How many requests each named fault kind hit since the last reset.
        self.counts: dict[str, int] = {}
        self.reseed(config)

    def reseed(self, config: EmulatorConfig) -> None:
        """Start the random faults' sequence afresh (`fault_seed`, or a fresh seed)."""
        seed = config.fault_seed
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._draws = random.Random(self.seed)

    def add(self, fault: Fault) -> None:
        self.injected.append(fault)

    def add_spec(self, spec: Any) -> None:
        """`Fault` arguments as JSON, or `{"kind", "method", "path_prefix", "slow_seconds"}`
        for a named kind; TypeError or ValueError says what is wrong, and nothing is added."""
        if not isinstance(spec, dict):
            raise TypeError("a JSON object")
        self.injected.extend(faults_of_kind(**spec) if "kind" in spec else [Fault(**spec)])

    def take(self, method: str, path: str, config: EmulatorConfig) -> Fault | None:
        """The fault for this request: the first injected one that matches, else a random
        one (API requests only, at the configured rates), else None."""
        fault: Fault | None
        for fault in self.injected:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self.injected.remove(fault)
                break
        else:
            fault = self._random(method, path, config)
        if fault is not None and fault.kind:
            self.counts[fault.kind] = self.counts.get(fault.kind, 0) + 1
        return fault

    def _random(self, method: str, path: str, config: EmulatorConfig) -> Fault | None:
        rates = config.fault_rates
        if not rates or path.startswith(IMS_TOKEN_PATH):
            return None
        draw = self._draws.random()
        for kind in sorted(rates):
            draw -= rates[kind]
            if draw < 0:
                first, *then = faults_of_kind(kind, method, path, slow_seconds=config.slow_seconds)
                self.injected.extend(then)
                return first
        return None


# --------------------------------------------------------------------------------------------
# The middleware that applies them
# --------------------------------------------------------------------------------------------
class DroppedConnection(Exception):
    """Raised after a deliberately truncated response so the server closes the connection."""


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def hide_dropped_connections() -> None:
    """Keep uvicorn from logging a traceback for each connection a fault cuts on purpose;
    installed when a server starts (`EmulatorServer`), not on import."""
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in log.filters):
        log.addFilter(_HideDroppedConnections())


class RecordAndFault:
    """ASGI middleware: log each request, then apply the first matching injected fault."""

    def __init__(self, app: Any, backend: OfferLibraryBackend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        form = None
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(text, keep_blank_values=True))
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        recorded = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=query,
            headers=headers,
            json=parsed,
            form=form,
            text=text,
            client_port=(scope.get("client") or (None, None))[1],
        )
        self.backend.record(recorded)
        interlude = self.backend.take_interlude(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")
        )
        if interlude is not None:
            try:  # in a thread: the action may send requests to this server
                await asyncio.to_thread(interlude.action)
            except Exception as exc:  # kept for the test (`EmulatorServer.before_request`)
                interlude.error = exc
        request_id = headers.get("x-request-id") or str(uuid.uuid4())
        with self.backend.lock:
            fault = self.backend.faults.take(scope["method"], scope["path"], self.backend.config)
        if fault is not None and fault.revoke_tokens:
            self.backend.ims.revoke()
        delay = self.backend.config.latency_seconds + (fault.delay_seconds if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                recorded.status = message["status"]
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            await send(message)

        if fault is not None and fault.status is not None:
            await _fault_answer(fault)(scope, receive, send_with_id)
            return
        if fault is not None and fault.drop_before_commit:
            await _cut_short(send_with_id, {"type": "http.response.start", "status": 200}, b"")

        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if fault is None or not fault.handled or not _changes_answer(fault):
            await self.app(scope, replay, send_with_id)
            return
        # Handle (and commit) the request fully, then hold, cut or replace the answer.
        captured: list[dict] = []

        async def capture(message) -> None:
            captured.append(message)

        await self.app(scope, replay, capture)
        start = captured[0]
        payload = b"".join(m.get("body", b"") for m in captured[1:])
        if fault.delay_after_commit_seconds:
            await asyncio.sleep(fault.delay_after_commit_seconds)
        if fault.drop_after_commit:
            await _cut_short(send_with_id, start, payload[: len(payload) // 2])
        if fault.body_after_commit is not None:
            payload = fault.body_after_commit.encode()
            start = _with_headers(start, fault.content_type, len(payload))
        await send_with_id(start)
        await send({"type": "http.response.body", "body": payload, "more_body": False})


def _changes_answer(fault) -> bool:
    return bool(
        fault.drop_after_commit
        or fault.body_after_commit is not None
        or fault.delay_after_commit_seconds
    )


def _fault_answer(fault) -> Response:
    """The injected status with its JSON body, or its text (`raw_body`, a proxy's HTML page)."""
    if fault.raw_body is not None:
        return Response(
            fault.raw_body,
            status_code=fault.status,
            headers=fault.response_headers(),
            media_type=fault.content_type or "text/plain",
        )
    body = fault.body if fault.body is not None else default_fault_body(fault.status)
    return JSONResponse(body, status_code=fault.status, headers=fault.response_headers())


def _with_headers(start: dict, content_type: str | None, length: int) -> dict:
    """`http.response.start` with a new Content-Length (and Content-Type, when given)."""
    replaced = {b"content-length"} | ({b"content-type"} if content_type else set())
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in replaced]
    headers.append((b"content-length", str(length).encode()))
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    return {**start, "headers": headers}


async def _cut_short(send, start: dict, partial: bytes) -> NoReturn:
    """Promise more body than is sent, then close the connection (the client sees it cut)."""
    await send(_with_headers(start, None, len(partial) + 64))
    await send({"type": "http.response.body", "body": partial, "more_body": True})
    raise DroppedConnection("connection dropped (injected fault)")
