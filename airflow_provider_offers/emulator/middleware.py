"""ASGI middleware under the routes: log every request, apply injected faults, add x-request-id."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, NoReturn
from urllib.parse import parse_qs, parse_qsl

from fastapi.responses import JSONResponse, Response

from .backend import OfferLibraryBackend
from .controls import RecordedRequest
from .exceptions import default_fault_body

#: Requests under this prefix steer the emulator; they are neither logged nor faulted.
CONTROL_PREFIX = "/_emulator/"


class DroppedConnection(Exception):
    """Raised after a deliberately truncated response so the server closes the connection."""


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())


def json_response(status: int, body: Any, headers=None, media_type="application/json"):
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)


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
        fault = self.backend.take_fault(scope["method"], scope["path"])
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
    return json_response(fault.status, body, fault.response_headers())


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
