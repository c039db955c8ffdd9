"""`OfferLibraryClient` (sync) and `AsyncOfferLibraryClient` for the Offer Library (DPS) API.

Both clients share one `core.ClientCore`: `calls.Calls` turns each operation into a `Call`
(method, URL, body, how to decode the answer, whether it is safe to re-send); the core builds
the request with the headers Adobe requires and decodes the answer into a model or a typed
error. The two clients only differ in how they send and sleep; the retry rule lives in
`retry.RetryPolicy`, the settings in `config.ClientConfig`, the collections in `resources`.

Usage::

    config = ClientConfig(client_id=..., client_secrets=[...], org_id="...@AdobeOrg",
                          sandbox_name="prod")
    with OfferLibraryClient(config) as client:
        receipt = client.create(FALLBACK_OFFERS, {"name": "Default", ...})
        for offer in client.list(FALLBACK_OFFERS, filters=["status==approved"]):
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from airflow_provider_offers.api.answers import ListPage, Receipt
from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.batch_decisioning import (
    BatchRequest,
    Workload,
    start_call,
    status_call,
)
from airflow_provider_offers.api.calls import (
    Call,
    DecisionOptions,
    ListQuery,
    Operations,
)
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.core import ClientCore
from airflow_provider_offers.api.decisioning import DecisionResponse
from airflow_provider_offers.api.paging import Pager
from airflow_provider_offers.api.resources import EntityT, Resource, resolve_resource
from airflow_provider_offers.api.retry import (
    RetryPolicy,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = ["AsyncOfferLibraryClient", "OfferLibraryClient"]

T = TypeVar("T")


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
        self._core = ClientCore(config, retry, on_token)
        # Each subclass's httpx class takes the transport of its own kind.
        http_class: Any = self._http_class
        self._http = http_class(transport=transport, **self._core.http_options())

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

    def _execute(self, call: Call[T]) -> T:
        for attempt in self._core.retry.retrying():
            with attempt:
                request = self._core.build(self._http, call)
                response = self._send(call, request)
                result = self._core.outcome(
                    call, request, response, attempt.retry_state.attempt_number
                )
        return result

    def _send(self, call: Call, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            failure = self._core.failure(call, request, exc)
        # Raised outside the handler, so the raw httpx error (its request holds the token, or
        # the client secret of a token request) is not kept as the failure's __context__.
        raise failure

    def create(
        self, resource: Resource[EntityT] | str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Create an object (dict or model); returns Adobe's receipt (id, etag)."""
        return self._execute(self._core.create(resource, entity))

    def get(self, resource: Resource[EntityT] | str, entity_id: str) -> EntityT:
        """Look an object up by id; NotFoundError if it does not exist in this sandbox."""
        return self._execute(self._core.get(resource, entity_id))

    def get_json(self, resource: Resource | str, entity_id: str) -> dict[str, Any]:
        """`get`, the object as the server's JSON (any object, even one no model can type)."""
        return self._execute(self._core.get_json(resource, entity_id))

    def patch(self, resource: Resource | str, entity_id: str, operations: Operations) -> Receipt:
        """Apply a JSON Patch (list of dicts or PatchOperation); returns the new receipt."""
        return self._execute(self._core.patch(resource, entity_id, operations))

    def replace(
        self, resource: Resource[EntityT] | str, entity_id: str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Replace an object whole (`PUT`; Adobe's update of ranking formulas)."""
        return self._execute(self._core.replace(resource, entity_id, entity))

    def delete(self, resource: Resource | str, entity_id: str) -> None:
        """Delete an object."""
        self._execute(self._core.delete(resource, entity_id))

    def list_page(
        self,
        resource: Resource[EntityT] | str,
        **query: Unpack[ListQuery],
    ) -> ListPage[EntityT]:
        """Only the first page (with `count`, `total` and `_links`)."""
        return self._execute(self._core.list_first(resource, **query))

    def list(
        self,
        resource: Resource[EntityT] | str,
        **query: Unpack[ListQuery],
    ) -> Iterator[EntityT]:
        """Every matching object, page after page (`limit` is the page size)."""
        return self._pages(self._core.list_first(resource, **query))

    def list_json(
        self, resource: Resource | str, **query: Unpack[ListQuery]
    ) -> Iterator[dict[str, Any]]:
        """`list`, each object as the server's JSON, without models (cheaper; no `raw_json`)."""
        return self._pages(self._core.list_json_first(resource, **query))

    def _pages(self, first: Call[Any]) -> Iterator[Any]:
        pager: Pager[Any] = Pager(self.config.base_url, first)
        call: Call[Any] | None = first
        while call is not None:
            page = self._execute(call)
            yield from pager.new(page.results)
            call = pager.next_call(page.next_href)

    def find_by_name(self, resource: Resource[EntityT] | str, name: str) -> EntityT | None:
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

    def start_batch_decisioning(self, request: BatchRequest, request_id: str) -> Workload:
        """Start a batch decisioning workload (`api.batch_decisioning`); never re-sent by the
        retry policy once it may have reached Adobe; `request_id` is its `x-request-id`."""
        return self._execute(start_call(self.config.base_url, request, request_id))

    def get_batch_workload(self, workload_id: str) -> Workload:
        """A batch decisioning workload's status."""
        return self._execute(status_call(self.config.base_url, workload_id))


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

    async def _execute(self, call: Call[T]) -> T:
        async for attempt in self._core.retry.async_retrying():
            with attempt:
                request = self._core.build(self._http, call)
                response = await self._send(call, request)
                result = self._core.outcome(
                    call, request, response, attempt.retry_state.attempt_number
                )
        return result

    async def _send(self, call: Call, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            failure = self._core.failure(call, request, exc)
        raise failure  # outside the handler: see OfferLibraryClient._send

    async def create(
        self, resource: Resource[EntityT] | str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Create an object (dict or model); returns Adobe's receipt (id, etag)."""
        return await self._execute(self._core.create(resource, entity))

    async def get(self, resource: Resource[EntityT] | str, entity_id: str) -> EntityT:
        """Look an object up by id; NotFoundError if it does not exist in this sandbox."""
        return await self._execute(self._core.get(resource, entity_id))

    async def get_json(self, resource: Resource | str, entity_id: str) -> dict[str, Any]:
        """Async `OfferLibraryClient.get_json`."""
        return await self._execute(self._core.get_json(resource, entity_id))

    async def patch(
        self, resource: Resource | str, entity_id: str, operations: Operations
    ) -> Receipt:
        """Apply a JSON Patch (list of dicts or PatchOperation); returns the new receipt."""
        return await self._execute(self._core.patch(resource, entity_id, operations))

    async def replace(
        self, resource: Resource[EntityT] | str, entity_id: str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Replace an object whole (`PUT`; Adobe's update of ranking formulas)."""
        return await self._execute(self._core.replace(resource, entity_id, entity))

    async def delete(self, resource: Resource | str, entity_id: str) -> None:
        """Delete an object."""
        await self._execute(self._core.delete(resource, entity_id))

    async def list_page(
        self,
        resource: Resource[EntityT] | str,
        **query: Unpack[ListQuery],
    ) -> ListPage[EntityT]:
        """Only the first page (with `count`, `total` and `_links`)."""
        return await self._execute(self._core.list_first(resource, **query))

    def list(
        self,
        resource: Resource[EntityT] | str,
        **query: Unpack[ListQuery],
    ) -> AsyncIterator[EntityT]:
        """Every matching object, page after page (`async for`); input checked right away."""
        return self._pages(self._core.list_first(resource, **query))

    def list_json(
        self, resource: Resource | str, **query: Unpack[ListQuery]
    ) -> AsyncIterator[dict[str, Any]]:
        """Async `OfferLibraryClient.list_json`: objects as the server's JSON, no models."""
        return self._pages(self._core.list_json_first(resource, **query))

    async def _pages(self, first: Call[Any]) -> AsyncIterator[Any]:
        pager: Pager[Any] = Pager(self.config.base_url, first)
        call: Call[Any] | None = first
        while call is not None:
            page = await self._execute(call)
            for entity in pager.new(page.results):
                yield entity
            call = pager.next_call(page.next_href)

    async def find_by_name(self, resource: Resource[EntityT] | str, name: str) -> EntityT | None:
        """The object named exactly `name`, None if there is none, ConflictError if several."""
        resource = resolve_resource(resource)
        found = [e async for e in self.list(resource, filters=self._core.name_filter(name))]
        return self._core.pick_by_name(resource, name, found)

    async def request_decision(
        self, decision_id: str, placement_id: str, **options: Unpack[DecisionOptions]
    ) -> DecisionResponse:
        """Async `OfferLibraryClient.request_decision`."""
        return await self._execute(self._core.decision(decision_id, placement_id, **options))

    async def start_batch_decisioning(self, request: BatchRequest, request_id: str) -> Workload:
        """Async `OfferLibraryClient.start_batch_decisioning`."""
        return await self._execute(start_call(self.config.base_url, request, request_id))

    async def get_batch_workload(self, workload_id: str) -> Workload:
        """Async `OfferLibraryClient.get_batch_workload`."""
        return await self._execute(status_call(self.config.base_url, workload_id))
