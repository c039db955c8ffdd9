"""`OfferLibraryClient` (sync) and `AsyncOfferLibraryClient` for the Offer Library (DPS) API.

Both clients share one `_ClientCore`: it turns each operation into a `_Call` (method, URL,
body, how to decode the answer, whether it is safe to re-send), builds the request with the
headers Adobe requires, and decodes the answer into a model or a typed error. The two clients
only differ in how they send and sleep; the retry rule lives in `retry.RetryPolicy`.

Usage::

    config = ClientConfig(client_id=..., client_secrets=[...], org_id="...@AdobeOrg",
                          sandbox_name="prod")
    with OfferLibraryClient(config) as client:
        receipt = client.create(FALLBACK_OFFERS, {"name": "Default", ...})
        for offer in client.list(FALLBACK_OFFERS, filters=["status==approved"]):
            ...
"""

from __future__ import annotations

import logging
import platform
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from airflow_provider_offers import (
    DEFAULT_API_URL,
    DEFAULT_IMS_URL,
    DEFAULT_SANDBOX,
    DEFAULT_SCOPES,
    __version__,
)
from airflow_provider_offers.api.auth import (
    DEFAULT_REFRESH_MARGIN,
    ImsAuth,
    ImsTokenSource,
    normalize_ims_url,
    normalize_scopes,
)
from airflow_provider_offers.api.errors import (
    ConflictError,
    InvalidInputError,
    OfferLibraryError,
    error_from_response,
    redact,
)
from airflow_provider_offers.api.models import (
    DecisionResponse,
    FallbackOffer,
    ListPage,
    OfferCollection,
    OfferDecision,
    OfferRule,
    PersonalizedOffer,
    Placement,
    Receipt,
    Tag,
    _Entity,
    parse_input,
    parse_operations,
)
from airflow_provider_offers.api.retry import (
    RetryPolicy,
    parse_retry_after,
    status_error_class,
    transport_error,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = [
    "DECISIONS_PATH",
    "DPS_PATH",
    "FALLBACK_OFFERS",
    "OFFER_COLLECTIONS",
    "OFFER_DECISIONS",
    "OFFER_RULES",
    "PERSONALIZED_OFFERS",
    "PLACEMENTS",
    "RESOURCES",
    "TAGS",
    "AsyncOfferLibraryClient",
    "ClientConfig",
    "DecisionOptions",
    "ListQuery",
    "OfferLibraryClient",
    "Resource",
    "offer_resource",
    "resolve_resource",
]

log = logging.getLogger("airflow_provider_offers.api")

DPS_PATH = "/data/core/dps"
DECISIONS_PATH = "/data/core/ods/decisions"
DECISION_REQUEST_TYPE = (
    'application/vnd.adobe.xdm+json; schema="https://ns.adobe.com/experience/'
    'offer-management/decision-request;version=1.0"'
)
DECISION_RESPONSE_TYPE = (
    'application/vnd.adobe.xdm+json; schema="https://ns.adobe.com/experience/'
    'offer-management/decision-response;version=1.0"'
)
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # adobe.io's gateway gives up after 60 s
MAX_ITEM_COUNT = 30  # offer-library-api.md 16.1

T = TypeVar("T")
EntityT = TypeVar("EntityT", bound=_Entity)


@dataclass(frozen=True)
class Resource:
    """An Offer Library collection: its path under the DPS base and its model."""

    kind: str
    path: str
    model: type[_Entity]
    noun: str  # what the hook calls one of them: "offer", "placement", "decision", ...
    offer_type: str | None = None

    @property
    def params(self) -> list[tuple[str, str]]:
        return [("offer-type", self.offer_type)] if self.offer_type else []


FALLBACK_OFFERS = Resource("fallback-offers", "/offers", FallbackOffer, "offer", "fallback")
PERSONALIZED_OFFERS = Resource(
    "personalized-offers", "/offers", PersonalizedOffer, "offer", "personalized"
)
PLACEMENTS = Resource("placements", "/placements", Placement, "placement")
TAGS = Resource("tags", "/tags", Tag, "tag")
OFFER_RULES = Resource("offer-rules", "/offer-rules", OfferRule, "offer_rule")
OFFER_COLLECTIONS = Resource(
    "offer-collections", "/offer-collections", OfferCollection, "offer_collection"
)
OFFER_DECISIONS = Resource("offer-decisions", "/offer-decisions", OfferDecision, "decision")
RESOURCES = {
    r.kind: r
    for r in (
        FALLBACK_OFFERS,
        PERSONALIZED_OFFERS,
        PLACEMENTS,
        TAGS,
        OFFER_RULES,
        OFFER_COLLECTIONS,
        OFFER_DECISIONS,
    )
}


def resolve_resource(resource: Resource | str) -> Resource:
    """A `Resource`, or its kind name ("placements", "fallback-offers", ...)."""
    if isinstance(resource, Resource):
        return resource
    try:
        return RESOURCES[resource]
    except (KeyError, TypeError):
        raise InvalidInputError("resource", f"expected one of {sorted(RESOURCES)}") from None


def offer_resource(offer_type: str) -> Resource:
    """FALLBACK_OFFERS or PERSONALIZED_OFFERS for `offer_type` "fallback"/"personalized"."""
    kind = f"{str(offer_type).lower()}-offers"
    if kind not in (FALLBACK_OFFERS.kind, PERSONALIZED_OFFERS.kind):
        raise InvalidInputError("offer_type", "must be 'fallback' or 'personalized'")
    return RESOURCES[kind]


def _base_url(url: str | None, default: str) -> str:
    url = (url or default).strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    return url.removesuffix(DPS_PATH)  # someone pasted the DPS base itself


@dataclass(frozen=True)
class ClientConfig:
    """Where and as whom to call; the secrets never appear in `repr`."""

    client_id: str
    client_secrets: tuple[str, ...] = field(repr=False)
    org_id: str
    sandbox_name: str = DEFAULT_SANDBOX
    base_url: str = DEFAULT_API_URL
    ims_url: str = DEFAULT_IMS_URL
    scopes: str = DEFAULT_SCOPES
    timeout: httpx.Timeout | float = field(default_factory=lambda: DEFAULT_TIMEOUT)
    refresh_margin: float = DEFAULT_REFRESH_MARGIN
    user_agent_suffix: str | None = None

    def __post_init__(self) -> None:
        secrets = self.client_secrets
        secrets = (secrets,) if isinstance(secrets, str) else tuple(s for s in secrets or () if s)
        for name, value in (("client_id", self.client_id), ("org_id", self.org_id)):
            if not value or not str(value).strip():
                raise InvalidInputError(name, "required")
        if not secrets:
            raise InvalidInputError("client_secret", "required (at least one client secret)")
        sandbox = (self.sandbox_name or "").strip()
        if not sandbox:
            raise InvalidInputError("sandbox_name", "required (the sandbox technical name)")
        set_ = object.__setattr__
        set_(self, "client_secrets", secrets)
        set_(self, "client_id", self.client_id.strip())
        set_(self, "org_id", self.org_id.strip())
        set_(self, "sandbox_name", sandbox)
        set_(self, "base_url", _base_url(self.base_url, DEFAULT_API_URL))
        set_(self, "ims_url", normalize_ims_url(self.ims_url))
        set_(self, "scopes", normalize_scopes(self.scopes))

    @property
    def user_agent(self) -> str:
        agent = (
            f"airflow-provider-offers/{__version__} httpx/{httpx.__version__} "
            f"python/{platform.python_version()}"
        )
        return f"{agent} {self.user_agent_suffix}" if self.user_agent_suffix else agent


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One logical API call; each attempt becomes a fresh `httpx.Request`."""

    method: str
    url: str
    decode: Callable[[Any], T]
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    content_type: str = "application/json"
    accept: str = "application/json"
    resend_safe: bool = True
    gone_is_done: bool = False  # DELETE: 404 on a retry means an earlier attempt deleted it
    reads_body: bool = True  # False: any 2xx is success, whatever the body (DELETE)


def _id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(name, "a non-empty string id is required")
    return quote(value.strip(), safe=":@")


def _filters(filters: Iterable[str] | Mapping[str, Any] | str | None) -> list[tuple[str, str]]:
    """`property` filters: ["name==x", "status!=draft"], or {"name": "x"} meaning equality."""
    if filters is None:
        return []
    if isinstance(filters, str):
        filters = [filters]
    elif isinstance(filters, Mapping):
        filters = [f"{key}=={value}" for key, value in filters.items()]
    params = []
    for index, expression in enumerate(filters):
        if not isinstance(expression, str) or not expression.strip():
            raise InvalidInputError(f"filters[{index}]", "expected a non-empty string")
        params.append(("property", expression))
    return params


def _orderby(orderby: str | Sequence[str] | None) -> list[tuple[str, str]]:
    if orderby is None:
        return []
    fields = [orderby] if isinstance(orderby, str) else list(orderby)
    if not fields or not all(isinstance(f, str) and f.strip() for f in fields):
        raise InvalidInputError("orderby", "expected a field name like '-modified' or a list")
    return [("orderby", ",".join(f.strip() for f in fields))]


def _limit(limit: int | None) -> list[tuple[str, str]]:
    if limit is None:
        return []
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError("limit", "expected a positive integer")
    return [("limit", str(limit))]


def _identity_map(
    profile_id: str | None, namespace: str, identity_map: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """XDM identity map; plain ids become `{"xdm:id": ...}` entries."""
    if (profile_id is None) == (identity_map is None):
        raise InvalidInputError("profile_id", "give exactly one of profile_id or identity_map")
    if profile_id is not None:
        if not isinstance(profile_id, str) or not profile_id:
            raise InvalidInputError("profile_id", "expected a non-empty string")
        if not namespace:
            raise InvalidInputError("identity_namespace", "expected a namespace such as 'ECID'")
        return {namespace: [{"xdm:id": profile_id, "primary": True}]}
    if not isinstance(identity_map, Mapping) or not identity_map:
        raise InvalidInputError("identity_map", "expected {namespace: [id, ...]}")
    result: dict[str, list[dict[str, Any]]] = {}
    for ns, ids in identity_map.items():
        entries = [ids] if isinstance(ids, str | Mapping) else list(ids or ())
        if not entries:
            raise InvalidInputError(f"identity_map.{ns}", "expected at least one id")
        result[ns] = []
        for entry in entries:
            if isinstance(entry, str) and entry:
                entry = {"xdm:id": entry}
            elif isinstance(entry, Mapping) and ("xdm:id" in entry or "id" in entry):
                entry = {("xdm:id" if k == "id" else k): v for k, v in entry.items()}
            else:
                raise InvalidInputError(f"identity_map.{ns}", "each id is a string or {'id': ...}")
            result[ns].append(entry)
    return result


class ListQuery(TypedDict, total=False):
    """What `list` and `list_page` accept besides the resource.

    filters: `property` expressions, AND-ed: ["name==Spring sale", "status!=draft"], or a
        dict {"name": "Spring sale"} meaning equality (operators == != <= >= < > ~).
    orderby: "-modified", or several fields ["name", "-created"] ("-" = descending).
    limit: page size.
    """

    filters: Iterable[str] | Mapping[str, Any] | str | None
    orderby: str | Sequence[str] | None
    limit: int | None


class DecisionOptions(TypedDict, total=False):
    """What `request_decision` accepts besides the decision scope (decision id, placement id).

    profile_id: the profile's id in `identity_namespace` (give this or `identity_map`).
    identity_namespace: namespace of `profile_id`, default "ECID".
    identity_map: an XDM identity map instead: {"Email": ["a@b.c"]}, or entries
        {"id": "a@b.c", "primary": True}.
    item_count: how many options to return for the placement, 1-30 (default 1).
    include_content: return the offers' content and delivery URLs (default True).
    include_metadata: also return the names of decision, placement and options (default False).
    decision_request_id: echoed back by Adobe (default: a new uuid4).
    context_data: XDM context data items for rules and ranking formulas.
    """

    profile_id: str | None
    identity_namespace: str
    identity_map: Mapping[str, Any] | None
    item_count: int
    include_content: bool
    include_metadata: bool
    decision_request_id: str | None
    context_data: Sequence[Mapping[str, Any]] | None


class _ClientCore:
    """Everything the sync and async clients share: calls, requests, decoding, errors."""

    def __init__(
        self,
        config: ClientConfig,
        retry: RetryPolicy | None,
        on_token: Callable[[str], Any] | None,
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self.token_source = ImsTokenSource.shared(
            client_id=config.client_id,
            client_secrets=config.client_secrets,
            ims_url=config.ims_url,
            scopes=config.scopes,
            refresh_margin=config.refresh_margin,
            timeout=config.timeout,
        )
        self.auth = ImsAuth(self.token_source, on_token=on_token)
        self.dps = config.base_url + DPS_PATH

    def http_options(self) -> dict[str, Any]:
        return {
            "auth": self.auth,
            "timeout": self.config.timeout,
            "headers": {
                "x-api-key": self.config.client_id,
                "x-gw-ims-org-id": self.config.org_id,
                "x-sandbox-name": self.config.sandbox_name,
                "User-Agent": self.config.user_agent,
            },
        }

    # -- operations as calls --------------------------------------------------------------

    def create(self, resource: Resource | str, entity: Any) -> _Call[Receipt]:
        resource = resolve_resource(resource)
        body = parse_input(resource.model, entity, resource.noun).to_body()
        return _Call(
            "POST",
            self.dps + resource.path,
            _model(Receipt),
            params=resource.params,
            body=body,
            resend_safe=False,
        )

    def get(self, resource: Resource | str, entity_id: str) -> _Call[_Entity]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        return _Call("GET", url, _model(resource.model), params=resource.params)

    def patch(self, resource: Resource | str, entity_id: str, operations: Any) -> _Call[Receipt]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        body = [op.model_dump(mode="json") for op in parse_operations(operations)]
        return _Call(
            "PATCH", url, _model(Receipt), params=resource.params, body=body, resend_safe=False
        )

    def delete(self, resource: Resource | str, entity_id: str) -> _Call[None]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        return _Call(
            "DELETE", url, _nothing, params=resource.params, gone_is_done=True, reads_body=False
        )

    def list_first(
        self,
        resource: Resource | str,
        *,
        filters: Iterable[str] | Mapping[str, Any] | str | None = None,
        orderby: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> _Call[ListPage]:
        resource = resolve_resource(resource)
        params = resource.params + _filters(filters) + _orderby(orderby) + _limit(limit)
        return _Call("GET", self.dps + resource.path, _model(ListPage[resource.model]), params)

    def list_next(self, first: _Call[ListPage], page: ListPage) -> _Call[ListPage] | None:
        """The call for `_links.next.href`, taken verbatim and relative to the DPS base."""
        href = page.next_href
        if not href:
            return None
        if "://" not in href:
            return _Call(
                "GET", self.dps + ("" if href.startswith("/") else "/") + href, first.decode
            )
        # An absolute link is followed only to our own API host: the bearer token goes with it.
        ours, theirs = httpx.URL(self.config.base_url), httpx.URL(href)
        if (theirs.scheme, theirs.host, theirs.port) != (ours.scheme, ours.host, ours.port):
            raise OfferLibraryError(
                f"refusing to follow a next-page link to another host ({theirs.host}); "
                "the access token would go with it",
                detail="next link to another host",
            )
        return _Call("GET", href, first.decode)

    def decision(
        self,
        decision_id: str,
        placement_id: str,
        *,
        profile_id: str | None = None,
        identity_namespace: str = "ECID",
        identity_map: Mapping[str, Any] | None = None,
        item_count: int = 1,
        include_content: bool = True,
        include_metadata: bool = False,
        decision_request_id: str | None = None,
        context_data: Sequence[Mapping[str, Any]] | None = None,
    ) -> _Call[DecisionResponse]:
        if isinstance(item_count, bool) or not isinstance(item_count, int):
            raise InvalidInputError("item_count", "expected an integer")
        if not 1 <= item_count <= MAX_ITEM_COUNT:
            raise InvalidInputError("item_count", f"must be between 1 and {MAX_ITEM_COUNT}")
        profile: dict[str, Any] = {
            "xdm:identityMap": _identity_map(profile_id, identity_namespace, identity_map),
            "xdm:decisionRequestId": decision_request_id or str(uuid.uuid4()),
        }
        if context_data:
            profile["xdm:contextData"] = [dict(item) for item in context_data]
        response_format: dict[str, Any] = {"xdm:includeContent": bool(include_content)}
        if include_metadata:
            response_format["xdm:includeMetadata"] = {
                "xdm:activity": ["name"],
                "xdm:option": ["name", "characteristics"],
                "xdm:placement": ["name", "channel", "componentType"],
            }
        body = {
            "xdm:propositionRequests": [
                {
                    "xdm:activityId": _id(decision_id, "decision_id"),
                    "xdm:placementId": _id(placement_id, "placement_id"),
                    "xdm:itemCount": item_count,
                }
            ],
            "xdm:profiles": [profile],
            "xdm:responseFormat": response_format,
        }
        # Asking for a decision changes nothing we could duplicate, so it may be re-sent.
        return _Call(
            "POST",
            self.config.base_url + DECISIONS_PATH,
            _model(DecisionResponse),
            body=body,
            content_type=DECISION_REQUEST_TYPE,
            accept=DECISION_RESPONSE_TYPE,
        )

    @staticmethod
    def pick_by_name(resource: Resource, name: str, candidates: Iterable[_Entity]) -> Any:
        matches = [entity for entity in candidates if entity.name == name]
        if len(matches) > 1:
            ids = [entity.id or "?" for entity in matches]
            raise ConflictError(
                f"{len(matches)} {resource.kind} are named {name!r}: {', '.join(ids)}; "
                "names must identify one object",
                conflicting_ids=ids,
                error_code="duplicate-name",
            )
        return matches[0] if matches else None

    @staticmethod
    def name_filter(name: Any) -> list[str] | None:
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name", "expected a non-empty string")
        # A comma would split the expression (comma means AND); scan unfiltered instead.
        return None if "," in name else [f"name=={name}"]

    # -- requests and responses -----------------------------------------------------------

    @property
    def _secrets(self) -> list[str | None]:
        return [*self.config.client_secrets, self.token_source.cached_token]

    def build(self, http: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
        headers = {"x-request-id": str(uuid.uuid4()), "Accept": call.accept}
        if call.body is not None:
            headers["Content-Type"] = call.content_type
        return http.build_request(
            call.method,
            call.url,
            params=call.params or None,
            json=call.body,
            headers=headers,
        )

    def _where(self, request: httpx.Request) -> str:
        return f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"

    def failure(self, call: _Call, request: httpx.Request, exc: httpx.TransportError):
        error = transport_error(
            exc,
            resend_safe=call.resend_safe,
            where=f"{self._where(request)} (sandbox {self.config.sandbox_name!r})",
            request_id=request.headers.get("x-request-id"),
        )
        error.message = redact(error.message, self._secrets)
        error.args = (error.message,)
        log.info("%s", error.message)
        return error

    def outcome(self, call: _Call[T], request: httpx.Request, response: httpx.Response, attempt):
        request_id = request.headers.get("x-request-id")
        where = self._where(request)
        status = response.status_code
        log.info(
            "%s -> HTTP %d (x-request-id %s, sandbox %s)",
            where,
            status,
            request_id,
            self.config.sandbox_name,
        )
        if response.is_success:
            if not call.reads_body:
                return call.decode(None)
            return self._decode(call, response, where, request_id)
        if status == 404 and call.gone_is_done and attempt > 1:
            log.info("%s: already gone after an earlier attempt; treating as deleted", where)
            return call.decode(None)
        error_class = status_error_class(status, resend_safe=call.resend_safe)
        note = None
        if error_class is not None:
            note = "the write may have been applied, so it was not re-sent"
        elif status == 401 and response.history:
            note = "refused again after one token renewal"
        raise error_from_response(
            status=status,
            body=response.content,
            content_type=response.headers.get("content-type", ""),
            method=request.method,
            path=request.url.raw_path.decode("ascii", "replace"),
            request_id=request_id,
            sandbox=self.config.sandbox_name,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=self._secrets,
            error_class=error_class,
            note=note,
        )

    def _decode(self, call: _Call[T], response: httpx.Response, where: str, request_id):
        try:
            data = response.json() if response.content else None
            return call.decode(data)
        except (ValueError, ValidationError) as exc:
            kind = response.headers.get("content-type", "no content type")
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                where_in_body = ".".join(str(part) for part in first["loc"]) or "body"
                problem = f"not the documented body ({where_in_body}: {first['msg']})"
            else:
                problem = f"not JSON ({kind})"
            raise OfferLibraryError(
                f"{where}: HTTP {response.status_code} but the answer is {problem} "
                f"(x-request-id {request_id})",
                status=response.status_code,
                detail=problem,
                request_id=request_id,
            ) from None


def _model(model: type[T]) -> Callable[[Any], T]:
    def decode(data: Any) -> T:
        if data is None:
            raise ValueError("empty body")
        return model.model_validate(data)  # type: ignore[attr-defined]

    return decode


def _nothing(_: Any) -> None:
    return None


class _Client:
    """What both clients hold: the shared core and an httpx client of their flavour."""

    _http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self,
        config: ClientConfig,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        on_token: Callable[[str], Any] | None = None,
    ) -> None:
        """`on_token` gets each new access token (the hook masks it); async: may be async."""
        self._core = _ClientCore(config, retry, on_token)
        self._http = self._http_class(transport=transport, **self._core.http_options())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core.config!r})"

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    @property
    def token_source(self) -> ImsTokenSource:
        return self._core.token_source


class OfferLibraryClient(_Client):
    """Synchronous client; a context manager that owns its connection pool."""

    _http_class = httpx.Client
    _http: httpx.Client

    def __enter__(self) -> OfferLibraryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _execute(self, call: _Call[T]) -> T:
        for attempt in self._core.retry.retrying():
            with attempt:
                request = self._core.build(self._http, call)
                try:
                    response = self._http.send(request)
                except httpx.TransportError as exc:
                    raise self._core.failure(call, request, exc) from None
                result = self._core.outcome(
                    call, request, response, attempt.retry_state.attempt_number
                )
        return result

    def create(self, resource: Resource | str, entity: Any) -> Receipt:
        """Create an object (dict or model); returns Adobe's receipt (id, etag)."""
        return self._execute(self._core.create(resource, entity))

    def get(self, resource: Resource | str, entity_id: str) -> Any:
        """Look an object up by id; NotFoundError if it does not exist in this sandbox."""
        return self._execute(self._core.get(resource, entity_id))

    def patch(self, resource: Resource | str, entity_id: str, operations: Any) -> Receipt:
        """Apply a JSON Patch (list of dicts or PatchOperation); returns the new receipt."""
        return self._execute(self._core.patch(resource, entity_id, operations))

    def delete(self, resource: Resource | str, entity_id: str) -> None:
        """Delete an object."""
        self._execute(self._core.delete(resource, entity_id))

    def list_page(
        self,
        resource: Resource | str,
        **query: Unpack[ListQuery],
    ) -> ListPage:
        """Only the first page (with `count`, `total` and `_links`)."""
        return self._execute(self._core.list_first(resource, **query))

    def list(
        self,
        resource: Resource | str,
        **query: Unpack[ListQuery],
    ) -> Iterator[Any]:
        """Every matching object, page after page (`limit` is the page size)."""
        return self._pages(self._core.list_first(resource, **query))

    def _pages(self, call: _Call[ListPage] | None) -> Iterator[Any]:
        first = call
        while call is not None:
            page = self._execute(call)
            yield from page.results
            call = self._core.list_next(first, page)

    def find_by_name(self, resource: Resource | str, name: str) -> Any:
        """The object named exactly `name`, None if there is none, ConflictError if several."""
        resource = resolve_resource(resource)
        found = self.list(resource, filters=self._core.name_filter(name))
        return self._core.pick_by_name(resource, name, found)

    def request_decision(
        self, decision_id: str, placement_id: str, **options: Unpack[DecisionOptions]
    ) -> DecisionResponse:
        """Ask the hub Decisioning API which offers one profile gets for a decision scope.

        The scope is (`decision_id`, `placement_id`); the profile is `profile_id` (in
        `identity_namespace`, default ECID) or a whole `identity_map`; see `DecisionOptions`.
        Returns the propositions: ranked options, or the decision's fallback offer.
        """
        return self._execute(self._core.decision(decision_id, placement_id, **options))


class AsyncOfferLibraryClient(_Client):
    """The async twin of `OfferLibraryClient` (same calls, awaited); for triggers."""

    _http_class = httpx.AsyncClient
    _http: httpx.AsyncClient

    async def __aenter__(self) -> AsyncOfferLibraryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _execute(self, call: _Call[T]) -> T:
        async for attempt in self._core.retry.async_retrying():
            with attempt:
                request = self._core.build(self._http, call)
                try:
                    response = await self._http.send(request)
                except httpx.TransportError as exc:
                    raise self._core.failure(call, request, exc) from None
                result = self._core.outcome(
                    call, request, response, attempt.retry_state.attempt_number
                )
        return result

    async def create(self, resource: Resource | str, entity: Any) -> Receipt:
        """Create an object (dict or model); returns Adobe's receipt (id, etag)."""
        return await self._execute(self._core.create(resource, entity))

    async def get(self, resource: Resource | str, entity_id: str) -> Any:
        """Look an object up by id; NotFoundError if it does not exist in this sandbox."""
        return await self._execute(self._core.get(resource, entity_id))

    async def patch(self, resource: Resource | str, entity_id: str, operations: Any) -> Receipt:
        """Apply a JSON Patch (list of dicts or PatchOperation); returns the new receipt."""
        return await self._execute(self._core.patch(resource, entity_id, operations))

    async def delete(self, resource: Resource | str, entity_id: str) -> None:
        """Delete an object."""
        await self._execute(self._core.delete(resource, entity_id))

    async def list_page(
        self,
        resource: Resource | str,
        **query: Unpack[ListQuery],
    ) -> ListPage:
        """Only the first page (with `count`, `total` and `_links`)."""
        return await self._execute(self._core.list_first(resource, **query))

    def list(
        self,
        resource: Resource | str,
        **query: Unpack[ListQuery],
    ) -> AsyncIterator[Any]:
        """Every matching object, page after page (`async for`); input checked right away."""
        return self._pages(self._core.list_first(resource, **query))

    async def _pages(self, call: _Call[ListPage] | None) -> AsyncIterator[Any]:
        first = call
        while call is not None:
            page = await self._execute(call)
            for entity in page.results:
                yield entity
            call = self._core.list_next(first, page)

    async def find_by_name(self, resource: Resource | str, name: str) -> Any:
        """The object named exactly `name`, None if there is none, ConflictError if several."""
        resource = resolve_resource(resource)
        found = [e async for e in self.list(resource, filters=self._core.name_filter(name))]
        return self._core.pick_by_name(resource, name, found)

    async def request_decision(
        self, decision_id: str, placement_id: str, **options: Unpack[DecisionOptions]
    ) -> DecisionResponse:
        """Async `OfferLibraryClient.request_decision`."""
        return await self._execute(self._core.decision(decision_id, placement_id, **options))
