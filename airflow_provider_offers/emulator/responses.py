"""HTTP layer (moto's `responses.py` + `urls.py`): parse requests, call the backend, shape answers.

Also the ASGI middleware that records every request and applies injected faults, and the
`/_emulator/` control endpoints for tests that run the emulator as a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .backend import (
    Fault,
    OfferLibraryBackend,
    RecordedRequest,
    media_type_matches,
    split_unquoted,
)
from .entities import kind_for
from .errors import EmulatorError, default_fault_body, problem

DPS = "/data/core/dps"
XDM = "application/vnd.adobe.xdm+json"
DECISION_REQUEST_TYPE = (
    f'{XDM}; schema="https://ns.adobe.com/experience/offer-management/decision-request;version=1.0"'
)
DECISION_RESPONSE_TYPE = f'{XDM}; schema="https://ns.adobe.com/experience/offer-management/decision-response;version=1.0"'
CONTROL_PREFIX = "/_emulator/"


class DroppedConnection(Exception):
    """Raised after a deliberately truncated response so the server closes the connection."""


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())


def _json_response(status: int, body: Any, headers=None, media_type="application/json"):
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    return query


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise problem(400, "body: not valid JSON", code=1003) from exc


def create_app(backend: OfferLibraryBackend) -> Any:
    """The ASGI application: FastAPI routes wrapped in the recording/fault middleware."""
    app = FastAPI(
        title="Offer Library emulator",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )

    @app.exception_handler(EmulatorError)
    async def _refusal(request: Request, exc: EmulatorError) -> Response:
        return _json_response(exc.status, exc.body, exc.headers, exc.media_type)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        err = problem(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")
        return _json_response(err.status, err.body, media_type=err.media_type)

    # -- IMS --------------------------------------------------------------------------------
    @app.post("/ims/token/v3")
    async def ims_token(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = parse_qs(raw, keep_blank_values=True)
        answer = backend.issue_token(request.headers.get("content-type"), form, _query(request))
        return _json_response(200, answer, {"cache-control": "no-store"})

    # -- DPS --------------------------------------------------------------------------------
    def _resolve(request: Request, resource: str, allowed_query: set[str] | None):
        identity = backend.authenticate(request.method, dict(request.headers))
        query = _query(request)
        offer_type = query.get("offer-type", [None])[-1]
        kind = kind_for(resource, offer_type)
        extra = [("offer-type", offer_type)] if resource == "offers" else []
        if allowed_query is not None and backend.config.reject_unknown_query_params:
            allowed = allowed_query | {name for name, _ in extra}
            for name in query:
                if name not in allowed:
                    raise problem(400, f"{name}: unknown query parameter", code=1002)
        return identity, kind, query, extra

    @app.post(DPS + "/{resource}")
    async def create(resource: str, request: Request) -> Response:
        identity, kind, _, _ = _resolve(request, resource, set())
        receipt = backend.create(identity, kind, await _json_body(request))
        return _json_response(backend.config.create_status, receipt)

    @app.get(DPS + "/{resource}")
    async def list_(resource: str, request: Request) -> Response:
        identity, kind, query, extra = _resolve(request, resource, None)
        return _json_response(200, backend.list(identity, kind, query, extra))

    @app.get(DPS + "/{resource}/{entity_id}")
    async def get(resource: str, entity_id: str, request: Request) -> Response:
        identity, kind, _, _ = _resolve(request, resource, set())
        return _json_response(200, backend.get(identity, kind, entity_id))

    @app.patch(DPS + "/{resource}/{entity_id}")
    async def patch(resource: str, entity_id: str, request: Request) -> Response:
        identity, kind, _, _ = _resolve(request, resource, set())
        receipt = backend.patch(identity, kind, entity_id, await _json_body(request))
        return _json_response(200, receipt)

    @app.delete(DPS + "/{resource}/{entity_id}")
    async def delete(resource: str, entity_id: str, request: Request) -> Response:
        identity, kind, _, _ = _resolve(request, resource, set())
        backend.delete(identity, kind, entity_id)
        return Response(status_code=200)

    # -- hub Decisioning API ----------------------------------------------------------------
    @app.post("/data/core/ods/decisions")
    async def decisions(request: Request) -> Response:
        headers = dict(request.headers)
        identity = backend.authenticate("POST", headers, body_media_type=DECISION_REQUEST_TYPE)
        config = backend.config
        if config.require_xdm_accept and not _accepts(
            headers.get("accept"), DECISION_RESPONSE_TYPE
        ):
            raise problem(
                406,
                f"Accept: must be {DECISION_RESPONSE_TYPE}",
                service="ODE",
                code=1,
            )
        if config.require_request_id and not headers.get("x-request-id"):
            raise problem(400, "x-request-id: header is required", service="ODE", code=2)
        answer = backend.decide(identity, await _json_body(request))
        return _json_response(200, answer, media_type=DECISION_RESPONSE_TYPE)

    # -- control endpoints ------------------------------------------------------------------
    @app.get(CONTROL_PREFIX + "health")
    async def health() -> Response:
        return _json_response(200, {"status": "ok"})

    @app.post(CONTROL_PREFIX + "reset")
    async def reset() -> Response:
        backend.reset()
        return _json_response(200, {"status": "reset"})

    @app.post(CONTROL_PREFIX + "revoke-tokens")
    async def revoke() -> Response:
        backend.revoke_tokens()
        return _json_response(200, {"status": "revoked"})

    @app.post(CONTROL_PREFIX + "faults")
    async def faults(request: Request) -> Response:
        spec = await _json_body(request)
        try:
            backend.add_fault(Fault(**spec))
        except (TypeError, ValueError) as exc:
            raise problem(400, f"fault: {exc}") from exc
        return _json_response(201, {"status": "added"})

    @app.get(CONTROL_PREFIX + "requests")
    async def requests() -> Response:
        with backend.lock:
            return _json_response(200, [r.to_dict() for r in backend.requests])

    @app.get(CONTROL_PREFIX + "tokens")
    async def tokens() -> Response:
        return _json_response(200, {"tokens_issued": backend.tokens_issued})

    return _RecordAndFault(app, backend)


def _accepts(accept: str | None, wanted: str) -> bool:
    return any(media_type_matches(part, wanted) for part in split_unquoted(accept or "", ","))


class _RecordAndFault:
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
        if fault is not None and fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)

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
            response = _json_response(fault.status, body_out, fault.response_headers())
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
