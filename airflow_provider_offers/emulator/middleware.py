"""ASGI middleware under the routes: log every request, apply injected faults, add x-request-id."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from fastapi.responses import JSONResponse

from .backend import OfferLibraryBackend
from .controls import RecordedRequest
from .errors import default_fault_body

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
        request_id = headers.get("x-request-id") or str(uuid.uuid4())
        fault = self.backend.take_fault(scope["method"], scope["path"])
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
            body_out = fault.body if fault.body is not None else default_fault_body(fault.status)
            response = json_response(fault.status, body_out, fault.response_headers())
            await response(scope, receive, send_with_id)
            return

        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if fault is None or not fault.drop_after_commit:
            await self.app(scope, replay, send_with_id)
            return
        # drop_after_commit: handle (and commit) the request fully, then cut the answer short.
        captured: list[dict] = []

        async def capture(message) -> None:
            captured.append(message)

        await self.app(scope, replay, capture)
        start = captured[0]
        payload = b"".join(m.get("body", b"") for m in captured[1:])
        headers_out = [
            (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers_out.append((b"content-length", str(len(payload) + 64).encode()))
        await send_with_id({**start, "headers": headers_out})
        await send(
            {"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True}
        )
        raise DroppedConnection("connection dropped after commit (injected fault)")
