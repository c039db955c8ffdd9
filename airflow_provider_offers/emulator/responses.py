"""The HTTP layer (moto's `responses.py`): parse requests, check their shape, call the backend,
shape answers.

Headers and media types, the IMS form, list query parameters, the JSON Patch document,
`_links`, and one handler per API route (`urls.py` routes them; `controls.py` has the
`/_emulator/` handlers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from python_multipart.multipart import parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException

from .config import EmulatorConfig
from .exceptions import EmulatorError, content_type_error, oauth_error, problem
from .models.kinds import Kind, kind_for
from .models.listing import Expression, Page, parse_filters, parse_orderby
from .models.store import Identity, read_only_members

if TYPE_CHECKING:
    from .backend import OfferLibraryBackend

DPS = "/data/core/dps"
WORKLOADS = "/data/core/dwm/workloads/decisions"
XDM = "application/vnd.adobe.xdm+json"
DECISION_REQUEST_TYPE = (
    f'{XDM}; schema="https://ns.adobe.com/experience/offer-management/decision-request;version=1.0"'
)
DECISION_RESPONSE_TYPE = f'{XDM}; schema="https://ns.adobe.com/experience/offer-management/decision-response;version=1.0"'
#: What the decisioning schema's `consumes` / `produces` list (v0.9 bodies are not emulated).
DECISION_REQUEST_TYPES = (DECISION_REQUEST_TYPE, "application/json")
DECISION_RESPONSE_TYPES = (DECISION_RESPONSE_TYPE, "application/json")
FORM = "application/x-www-form-urlencoded"
IMS_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")
LIST_PARAMETERS = frozenset({"property", "orderby", "orderBy", "limit", "start"})


def json_response(status: int, body: Any, headers=None, media_type="application/json"):
    return JSONResponse(body, status_code=status, headers=headers, media_type=media_type)


# --------------------------------------------------------------------------------------------
# Media types
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A form or query value as text; a file upload where text belongs counts as missing."""
    return value if isinstance(value, str) else None


def media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """`type/subtype` (lower case) and its parameters; quoted values may hold `;`."""
    name, params = parse_options_header(value)
    return name.decode("latin-1"), {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in params.items()
    }


def media_type_matches(content_type: str | None, wanted: str) -> bool:
    """`wanted` may carry parameters (the XDM schema); those must match, others are ignored."""
    have, have_params = media_type(content_type)
    want, want_params = media_type(wanted)
    return have == want and all(have_params.get(k) == v for k, v in want_params.items())


def split_unquoted(text: str, separator: str) -> list[str]:
    """Split on `separator` outside double quotes (XDM schema parameters contain `;` and `,`)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _served_type(accept: str | None) -> str | None:
    """The first decision answer type `Accept` lists, in its order (None: none of them)."""
    for part in split_unquoted(accept or "", ","):
        for served in DECISION_RESPONSE_TYPES:
            if media_type_matches(part, served):
                return served
    return None


# --------------------------------------------------------------------------------------------
# Query parameters and links
# --------------------------------------------------------------------------------------------
def query_of(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    return query


def check_known(query: dict[str, list[str]], allowed: set[str] | frozenset[str]) -> None:
    for name in query:
        if name not in allowed:
            raise problem(400, f"{name}: unknown query parameter", code=1002)


@dataclass(frozen=True)
class ListQuery:
    """`GET /{resource}`'s parameters, parsed: what the backend needs, and what links echo."""

    orderby: str
    order: list[tuple[str, bool]]
    limit: int
    properties: list[str]
    filters: list[Expression]
    start: str | None

    @classmethod
    def parse(cls, query: dict[str, list[str]], config: EmulatorConfig) -> ListQuery:
        orderby_values = query.get("orderby", []) + query.get("orderBy", [])
        if len(orderby_values) > 1:
            raise problem(400, "orderby: give it once (a comma-separated list)", code=1002)
        orderby = orderby_values[0] if orderby_values else "-modified"
        order = parse_orderby(orderby)
        limit = config.list_default_limit
        if "limit" in query:
            try:
                limit = int(query["limit"][-1])
            except ValueError as exc:
                raise problem(400, "limit: must be an integer", code=1002) from exc
            if limit < 1:
                raise problem(400, "limit: must be 1 or more", code=1002)
            if config.list_max_limit is not None and limit > config.list_max_limit:
                raise problem(400, f"limit: must be at most {config.list_max_limit}", code=1002)
        properties = query.get("property", [])
        filters = parse_filters(properties, config.regex_full_match)
        return cls(orderby, order, limit, properties, filters, query.get("start", [None])[-1])


def _urlencode(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-')}={quote(v, safe='-,.:')}" for k, v in params)


def list_links(
    request: Request,
    kind: Kind,
    query: ListQuery,
    page: Page,
    extra: list[tuple[str, str]],
    form: str,
) -> dict[str, dict[str, str]]:
    """self/next/prev in the configured form, echoing orderby, limit, property, start, extra."""
    base = {"relative": "", "path": DPS, "absolute": str(request.base_url).rstrip("/") + DPS}

    def link(start: str | None) -> dict[str, str]:
        params = [("orderby", query.orderby), ("limit", str(query.limit))]
        params += [("property", p) for p in query.properties]
        if start:
            params.append(("start", start))
        params += extra
        href = f"{base[form]}/{kind.resource}?{_urlencode(params)}"
        return {"href": href, "type": "application/json"}

    links = {"self": link(query.start)}
    if page.next_start is not None:
        links["next"] = link(page.next_start)
    if page.prev_start is not None:
        links["prev"] = link(page.prev_start or None)
    return links


async def json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise problem(400, "body: not valid JSON", code=1003) from exc


JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def check_patch_document(operations: Any, read_only: tuple[str, ...]) -> None:
    """RFC 6902 structure, plus our read-only fields; nothing is applied if any op is bad."""
    if not isinstance(operations, list) or not operations:
        raise problem(400, "body: a JSON Patch must be a non-empty array of operations", code=1005)
    for i, op in enumerate(operations):
        where = f"[{i}]"
        if not isinstance(op, dict):
            raise problem(400, f"{where}: each operation must be a JSON object", code=1005)
        name = op.get("op")
        if name not in JSON_PATCH_OPS:
            raise problem(400, f"{where}.op: must be one of {', '.join(JSON_PATCH_OPS)}", code=1005)
        pointers = ["path"] + (["from"] if name in ("move", "copy") else [])
        for key in pointers:
            pointer = op.get(key)
            if not isinstance(pointer, str):
                raise problem(400, f"{where}.{key}: is required for {name}", code=1005)
            if pointer and not pointer.startswith("/"):
                raise problem(400, f"{where}.{key}: {pointer!r} is not a JSON Pointer", code=1005)
        if name in ("add", "replace", "test") and "value" not in op:
            raise problem(400, f"{where}.value: is required for {name}", code=1005)
        if name == "test":
            continue
        written = ["path"] + (["from"] if name == "move" else [])
        for key in written:
            pointer = op[key]
            if pointer == "" or pointer.split("/")[1] in read_only:
                raise problem(422, f"{where}.{key}: {pointer or '/'!r} is read-only", code=1006)


# --------------------------------------------------------------------------------------------
# Handlers: each reads the emulator's backend from the application (`urls.create_app`)
# --------------------------------------------------------------------------------------------
def backend_of(request: Request) -> OfferLibraryBackend:
    return request.app.state.backend


async def refusal(request: Request, exc: Exception) -> Response:
    """An `EmulatorError` as the answer it carries."""
    assert isinstance(exc, EmulatorError)
    return json_response(exc.status, exc.body, exc.headers, exc.media_type)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405 as AEP problem bodies."""
    assert isinstance(exc, StarletteHTTPException)
    err = problem(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")
    return json_response(err.status, err.body, media_type=err.media_type)


async def ims_token(request: Request) -> Response:
    backend = backend_of(request)
    if media_type(request.headers.get("content-type"))[0] != FORM:
        raise oauth_error(400, "invalid_request", f"body must be {FORM}")
    query = query_of(request)
    if backend.config.reject_query_credentials:
        for name in IMS_PARAMETERS:
            if name in query:
                raise oauth_error(
                    400,
                    "invalid_request",
                    f"{name} must be sent in the form body, not in the query string",
                )
    form = await request.form()
    sent = {
        name: _text((form.getlist(name) or query.get(name) or [None])[-1])
        for name in IMS_PARAMETERS
    }
    answer = backend.ims.issue(backend.config, **sent)
    return json_response(200, answer, {"cache-control": "no-store"})


def authenticate(request: Request, body_media_type: str = "application/json") -> Identity:
    """The gateway's header checks, then (for a body) its Content-Type check."""
    backend = backend_of(request)
    headers = request.headers
    identity = backend.ims.authenticate(
        backend.config,
        authorization=headers.get("authorization"),
        api_key=headers.get("x-api-key"),
        org_id=headers.get("x-gw-ims-org-id"),
        sandbox=headers.get("x-sandbox-name"),
    )
    wanted = body_media_type if request.method in ("POST", "PUT", "PATCH") else None
    if wanted and not media_type_matches(headers.get("content-type"), wanted):
        raise content_type_error()
    return identity


def resolve(request: Request, allowed: frozenset[str] = frozenset()):
    """Caller, kind and query of a DPS request; unknown query parameters are refused."""
    identity = authenticate(request)
    resource = request.path_params["resource"]
    query = query_of(request)
    offer_type = query.get("offer-type", [None])[-1]
    kind = kind_for(resource, offer_type)
    extra = [("offer-type", offer_type)] if resource == "offers" else []
    if backend_of(request).config.reject_unknown_query_params:
        check_known(query, allowed | {name for name, _ in extra})
    return identity, kind, query, extra


async def create(request: Request) -> Response:
    backend = backend_of(request)
    identity, kind, _, _ = resolve(request)
    receipt = backend.create(identity, kind, await json_body(request))
    return json_response(backend.config.create_status, receipt)


async def list_(request: Request) -> Response:
    backend = backend_of(request)
    identity, kind, query, extra = resolve(request, LIST_PARAMETERS)
    config = backend.config
    parsed = ListQuery.parse(query, config)
    page = backend.list(
        identity,
        kind,
        filters=parsed.filters,
        order=parsed.order,
        limit=parsed.limit,
        start=parsed.start,
    )
    answer = {
        "results": page.results,
        "count": len(page.results),
        "total": page.total,
        "_links": list_links(request, kind, parsed, page, extra, config.next_link_form),
    }
    return json_response(200, answer)


async def get(request: Request) -> Response:
    backend = backend_of(request)
    identity, kind, _, _ = resolve(request)
    return json_response(200, backend.get(identity, kind, request.path_params["entity_id"]))


async def patch(request: Request) -> Response:
    backend = backend_of(request)
    identity, kind, _, _ = resolve(request)
    entity_id = request.path_params["entity_id"]
    operations = await json_body(request)
    with backend.lock:  # a missing object is 404 before its patch is read
        backend.store(identity).record(kind, entity_id)
        check_patch_document(operations, read_only_members(backend.config))
        receipt = backend.patch(identity, kind, entity_id, operations)
    return json_response(200, receipt)


#: Kinds Adobe updates with `PUT` of the whole object (offer-library-api.md section 10).
PUT_KINDS = ("ranking-formula",)


async def put(request: Request) -> Response:
    backend = backend_of(request)
    identity, kind, _, _ = resolve(request)
    if kind.name not in PUT_KINDS:
        raise problem(405, f"PUT /{kind.resource}/{{id}}: update with PATCH", code=1004)
    body = await json_body(request)
    receipt = backend.replace(identity, kind, request.path_params["entity_id"], body)
    return json_response(200, receipt)


async def delete(request: Request) -> Response:
    identity, kind, _, _ = resolve(request)
    backend_of(request).delete(identity, kind, request.path_params["entity_id"])
    return Response(status_code=200)


async def decisions(request: Request) -> Response:
    """The hub Decisioning API: its media types and headers, then `models/decisioning.py`."""
    backend = backend_of(request)
    identity = authenticate(request, "")
    config = backend.config
    content_type = request.headers.get("content-type")
    if not any(media_type_matches(content_type, t) for t in DECISION_REQUEST_TYPES):
        wanted = " or ".join(DECISION_REQUEST_TYPES)
        raise problem(415, f"Content-Type: must be {wanted}", service="ODE", code=3)
    served = _served_type(request.headers.get("accept"))
    if served is None and config.require_xdm_accept:
        wanted = " or ".join(DECISION_RESPONSE_TYPES)
        raise problem(406, f"Accept: must list {wanted}", service="ODE", code=1)
    if config.require_request_id and not request.headers.get("x-request-id"):
        raise problem(400, "x-request-id: header is required", service="ODE", code=2)
    answer = backend.decide(identity, await json_body(request))
    return json_response(200, answer, media_type=served or DECISION_RESPONSE_TYPE)


async def start_workload(request: Request) -> Response:
    """Batch Decisioning: `models/workloads.py` keeps the workloads."""
    backend = backend_of(request)
    identity = authenticate(request)
    request_id = request.headers.get("x-request-id")
    if backend.config.require_request_id and not request_id:
        raise problem(400, "x-request-id: header is required", service="DWM", code=2)
    body = await json_body(request)
    with backend.lock:
        store = backend.store(identity)
        answer = backend.workloads.start(
            org_id=identity.org_id,
            sandbox=identity.sandbox,
            body=body,
            request_id=request_id or "",
            config=backend.config,
            find=store.find,
        )
    return json_response(200, answer)


async def get_workload(request: Request) -> Response:
    backend = backend_of(request)
    identity = authenticate(request)
    with backend.lock:
        answer = backend.workloads.get(
            identity.org_id, identity.sandbox, request.path_params["workload_id"], backend.config
        )
    return json_response(200, answer)
