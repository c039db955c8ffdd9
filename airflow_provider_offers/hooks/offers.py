"""`OfferLibraryHook`: an Airflow connection (conn type `adobe_offers`) -> the Offer Library client.

The hook is thin on purpose: it reads the connection lazily (a sync `cached_property`, and an
async resolver for triggers that fills the same slot), turns it into a `ClientConfig` with
`ClientConfig.from_fields`, masks the secrets and every access token the client obtains, and
exposes one business method per operation. Everything else (auth, retries, paging, models,
errors) is in `airflow_provider_offers.api`, imported inside functions so that DAG files
importing this module stay cheap to parse.

The generic methods take a resource: a constant of `api.resources` (`PLACEMENTS`, `TAGS`,
`OFFER_RULES`, `OFFER_COLLECTIONS`, `OFFER_DECISIONS`, ...), which also types the answer, or
its kind name ("placements"). Offers have their own methods, with `offer_type` "fallback"
(the default) or "personalized".
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from typing_extensions import Unpack

    from airflow_provider_offers.api.answers import Receipt
    from airflow_provider_offers.api.batch_decisioning import BatchRequest, Workload
    from airflow_provider_offers.api.calls import DecisionOptions, Filters, Operations, OrderBy
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
    from airflow_provider_offers.api.config import ClientConfig
    from airflow_provider_offers.api.decisioning import DecisionResponse
    from airflow_provider_offers.api.models import _Offer
    from airflow_provider_offers.api.resources import EntityT, Resource
    from airflow_provider_offers.api.retry import RetryPolicy

    Offer = _Offer  # FallbackOffer or PersonalizedOffer

T = TypeVar("T")


class OfferLibraryHook(BaseHook):
    """Talk to Adobe Journey Optimizer's Offer Library through an `adobe_offers` connection.

    :param adobe_conn_id: the Airflow connection id.
    :param sandbox_name: overrides the connection's sandbox (technical name, e.g. "dev").
    :param retry_policy: backoff numbers (see `airflow_provider_offers.api.retry`).
    :param timeout: seconds to wait for each HTTP request; overrides the connection's extra
        ``timeout`` (default 60 s, connecting at most 10 s).
    :param max_attempts: tries of a retryable request in all (1: no retry); overrides the
        connection's extra ``max_attempts`` and ``retry_policy``'s (default 5).
    :param max_retry_after: the longest `Retry-After` (seconds) waited in-process; overrides
        ``retry_policy``'s (default 120 s).

    Offers and patch operations may be given as dicts or as the `api.models` models. Every
    method raises a subclass of `api.errors.OfferLibraryError`; `InvalidInputError` before any
    request was sent.
    """

    conn_name_attr = "adobe_conn_id"
    default_conn_name = "adobe_offers_default"
    conn_type = "adobe_offers"
    hook_name = "Adobe Offer Library"

    def __init__(
        self,
        adobe_conn_id: str = default_conn_name,
        sandbox_name: str | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: float | str | None = None,
        max_attempts: int | str | None = None,
        max_retry_after: float | str | None = None,
    ) -> None:
        super().__init__()
        self.adobe_conn_id = adobe_conn_id
        self._sandbox_override = sandbox_name.strip() if sandbox_name else None
        self.retry_policy = retry_policy
        self._request_options = {
            "timeout": timeout,
            "max_attempts": max_attempts,
            "max_retry_after": max_retry_after,
        }
        self._session_client: AsyncOfferLibraryClient | None = None

    def __repr__(self) -> str:
        return f"OfferLibraryHook(adobe_conn_id={self.adobe_conn_id!r})"

    # -- connection -> config -------------------------------------------------------------

    @cached_property
    def connection(self) -> Connection:
        """The Airflow connection, fetched on first use."""
        return self.get_connection(self.adobe_conn_id)

    async def aconnection(self) -> Connection:
        """The connection, fetched the async way (triggers); shares the sync cache slot."""
        if "connection" not in self.__dict__:
            self.__dict__["connection"] = await self.aget_connection(self.adobe_conn_id)
        return self.__dict__["connection"]

    def _config(self, conn: Connection) -> ClientConfig:
        from airflow_provider_offers.api.config import ClientConfig
        from airflow_provider_offers.api.inputs import (
            parse_max_attempts,
            parse_max_retry_after,
            parse_timeout,
        )

        # Checked before the connection's fields, so an error names what the caller gave.
        options = self._request_options
        return ClientConfig.from_fields(
            timeout=parse_timeout(options["timeout"], "timeout"),
            max_attempts=parse_max_attempts(options["max_attempts"], "max_attempts"),
            max_retry_after=parse_max_retry_after(options["max_retry_after"]),
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extras=conn.extra_dejson or {},
            sandbox_name=self._sandbox_override,
            source=f"connection {self.adobe_conn_id!r}",
            user_agent_suffix=f"apache-airflow/{_airflow_version()}",
        )

    @cached_property
    def config(self) -> ClientConfig:
        """The client settings from the connection (secrets hidden from repr)."""
        from airflow.sdk.log import mask_secret

        config = self._config(self.connection)
        for secret in config.client_secrets:  # also those from the `client_secrets` extra
            mask_secret(secret)
        return config

    async def aconfig(self) -> ClientConfig:
        """`config`, resolved without blocking the event loop (triggers)."""
        from airflow_provider_offers._compat import amask_secret

        if "config" not in self.__dict__:
            config = self._config(await self.aconnection())
            for secret in config.client_secrets:
                await amask_secret(secret)
            self.__dict__["config"] = config
        return self.__dict__["config"]

    @property
    def sandbox_name(self) -> str:
        """The sandbox every call goes to: the override, else the connection's, else "prod"."""
        return self._sandbox_override or self.config.sandbox_name

    # -- clients --------------------------------------------------------------------------

    @cached_property
    def client(self) -> OfferLibraryClient:
        """The sync client (one per hook), masking every token it obtains."""
        from airflow.sdk.log import mask_secret

        from airflow_provider_offers.api.client import OfferLibraryClient

        return OfferLibraryClient(self.config, retry=self.retry_policy, on_token=mask_secret)

    def get_conn(self) -> OfferLibraryClient:
        """The sync client (one per hook, reused)."""
        return self.client

    async def aget_conn(self, retry_policy: RetryPolicy | None = None) -> AsyncOfferLibraryClient:
        """A new async client; use `async with` (its pool belongs to the running loop).

        `retry_policy`: for this client instead of the hook's (the catalog's gated copy)."""
        from airflow_provider_offers._compat import amask_secret
        from airflow_provider_offers.api.client import AsyncOfferLibraryClient

        return AsyncOfferLibraryClient(
            await self.aconfig(), retry=retry_policy or self.retry_policy, on_token=amask_secret
        )

    @contextlib.asynccontextmanager
    async def asession(self) -> AsyncIterator[OfferLibraryHook]:
        """Share one async client (one connection pool) across the `a*` calls in the block.

        A polling trigger uses it so every poll reuses the open connection instead of a new one.
        """
        async with await self.aget_conn() as client:
            self._session_client = client
            try:
                yield self
            finally:
                self._session_client = None

    @contextlib.asynccontextmanager
    async def _aclient(self) -> AsyncIterator[AsyncOfferLibraryClient]:
        """The `asession()` client when inside one, else a client for this call only."""
        if self._session_client is not None:
            yield self._session_client
            return
        async with await self.aget_conn() as client:
            yield client

    async def _arun(self, call: Callable[[AsyncOfferLibraryClient], Awaitable[T]]) -> T:
        async with self._aclient() as client:
            return await call(client)

    def close(self) -> None:
        """Close the sync client's connection pool (a later call opens a new one)."""
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]

    def test_connection(self) -> tuple[bool, str]:
        """One cheap read (the first placement); never raises. A setting that cannot work (an
        org id that is not `...@AdobeOrg`, say) is reported before any request."""
        from airflow_provider_offers.api.errors import InvalidInputError

        try:
            page = self.get_conn().list_page("placements", limit=1)
        except InvalidInputError as exc:
            return False, f"The connection's settings cannot work: {exc}"
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            self.close()  # runs in the API server: leave no pool behind
        total = f", {page.total} placement(s)" if page.total is not None else ""
        return True, (
            f"Connected to the Offer Library at {self.config.base_url}: sandbox "
            f"{self.sandbox_name!r} of org {self.config.org_id}{total}"
        )

    # -- any resource (a constant of `api.resources`, or its kind name) --------------------

    def create_resource(
        self, resource: Resource[EntityT] | str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Create an object (dict or model); returns Adobe's receipt (id, etag)."""
        return self.get_conn().create(resource, entity)

    def get_resource(self, resource: Resource[EntityT] | str, entity_id: str) -> EntityT:
        """The object with this id; `NotFoundError` if it is not in the sandbox."""
        return self.get_conn().get(resource, entity_id)

    def patch_resource(
        self, resource: Resource | str, entity_id: str, operations: Operations
    ) -> Receipt:
        """Apply JSON Patch operations (dicts or `PatchOperation`); returns the new receipt."""
        return self.get_conn().patch(resource, entity_id, operations)

    def delete_resource(self, resource: Resource | str, entity_id: str) -> None:
        """Delete an object; `NotFoundError` if it does not exist."""
        self.get_conn().delete(resource, entity_id)

    def list_resources(
        self,
        resource: Resource[EntityT] | str,
        filters: Filters = None,
        orderby: OrderBy = None,
        limit: int | None = None,
    ) -> Iterator[EntityT]:
        """Every matching object, page after page (`limit` is the page size).

        filters: ["name==Spring sale", "status!=draft"] (AND-ed), or {"name": "Spring sale"};
        orderby: "-modified" or ["name", "-created"].
        """
        return self.get_conn().list(resource, filters=filters, orderby=orderby, limit=limit)

    def find_resource_by_name(self, resource: Resource[EntityT] | str, name: str) -> EntityT | None:
        """The object named exactly `name`, or None; `ConflictError` listing ids if several."""
        return self.get_conn().find_by_name(resource, name)

    async def acreate_resource(
        self, resource: Resource[EntityT] | str, entity: EntityT | Mapping[str, Any]
    ) -> Receipt:
        """Async `create_resource`."""
        return await self._arun(lambda client: client.create(resource, entity))

    async def aget_resource(self, resource: Resource[EntityT] | str, entity_id: str) -> EntityT:
        """Async `get_resource`."""
        return await self._arun(lambda client: client.get(resource, entity_id))

    async def apatch_resource(
        self, resource: Resource | str, entity_id: str, operations: Operations
    ) -> Receipt:
        """Async `patch_resource`."""
        return await self._arun(lambda client: client.patch(resource, entity_id, operations))

    async def adelete_resource(self, resource: Resource | str, entity_id: str) -> None:
        """Async `delete_resource`."""
        await self._arun(lambda client: client.delete(resource, entity_id))

    async def alist_resources(
        self,
        resource: Resource[EntityT] | str,
        filters: Filters = None,
        orderby: OrderBy = None,
        limit: int | None = None,
    ) -> AsyncIterator[EntityT]:
        """Async `list_resources` (`async for`)."""
        async with self._aclient() as client:
            async for entity in client.list(
                resource, filters=filters, orderby=orderby, limit=limit
            ):
                yield entity

    async def afind_resource_by_name(
        self, resource: Resource[EntityT] | str, name: str
    ) -> EntityT | None:
        """Async `find_resource_by_name`."""
        return await self._arun(lambda client: client.find_by_name(resource, name))

    # -- offers (offer_type "fallback" or "personalized") --------------------------------

    def create_offer(
        self, offer: Offer | Mapping[str, Any], offer_type: str = "fallback"
    ) -> Receipt:
        """Create an offer (dict or model); returns the receipt (id, etag)."""
        return self.create_resource(_offers(offer_type), offer)

    def get_offer(self, offer_id: str, offer_type: str = "fallback") -> Offer:
        """The offer (`FallbackOffer`/`PersonalizedOffer`); `NotFoundError` if absent."""
        return self.get_resource(_offers(offer_type), offer_id)

    def get_offer_json(self, offer_id: str, offer_type: str = "fallback") -> dict[str, object]:
        """The offer as the server's JSON: readable even when no model can type it."""
        return self.get_conn().get_json(_offers(offer_type), offer_id)

    def patch_offer(
        self, offer_id: str, operations: Operations, offer_type: str = "fallback"
    ) -> Receipt:
        """Apply JSON Patch operations (dicts or `PatchOperation`); returns the new receipt."""
        return self.patch_resource(_offers(offer_type), offer_id, operations)

    def list_offers(
        self,
        offer_type: str = "fallback",
        filters: Filters = None,
        orderby: OrderBy = None,
        limit: int | None = None,
    ) -> Iterator[Offer]:
        """Every matching offer, following `_links.next` (`limit` = page size)."""
        return self.list_resources(_offers(offer_type), filters, orderby, limit)

    def delete_offer(self, offer_id: str, offer_type: str = "fallback") -> None:
        """Delete an offer; `NotFoundError` if it does not exist."""
        self.delete_resource(_offers(offer_type), offer_id)

    def find_offer_by_name(self, name: str, offer_type: str = "fallback") -> Offer | None:
        """The offer named exactly `name`, or None; `ConflictError` listing ids if several."""
        return self.find_resource_by_name(_offers(offer_type), name)

    async def acreate_offer(
        self, offer: Offer | Mapping[str, Any], offer_type: str = "fallback"
    ) -> Receipt:
        """Async `create_offer`."""
        return await self.acreate_resource(_offers(offer_type), offer)

    async def aget_offer(self, offer_id: str, offer_type: str = "fallback") -> Offer:
        """Async `get_offer` (what the trigger polls)."""
        return await self.aget_resource(_offers(offer_type), offer_id)

    async def aget_offer_json(
        self, offer_id: str, offer_type: str = "fallback"
    ) -> dict[str, object]:
        """Async `get_offer_json` (what the trigger polls)."""
        return await self._arun(lambda client: client.get_json(_offers(offer_type), offer_id))

    async def alist_offers_json(
        self, offer_type: str = "fallback", orderby: OrderBy = None, limit: int | None = None
    ) -> AsyncIterator[dict[str, object]]:
        """Every offer as the server's JSON (`async for`): no object is left unreadable."""
        async with self._aclient() as client:
            async for offer in client.list_json(_offers(offer_type), orderby=orderby, limit=limit):
                yield offer

    async def apatch_offer(
        self, offer_id: str, operations: Operations, offer_type: str = "fallback"
    ) -> Receipt:
        """Async `patch_offer`."""
        return await self.apatch_resource(_offers(offer_type), offer_id, operations)

    def alist_offers(
        self,
        offer_type: str = "fallback",
        filters: Filters = None,
        orderby: OrderBy = None,
        limit: int | None = None,
    ) -> AsyncIterator[Offer]:
        """Async `list_offers` (`async for`)."""
        return self.alist_resources(_offers(offer_type), filters, orderby, limit)

    async def adelete_offer(self, offer_id: str, offer_type: str = "fallback") -> None:
        """Async `delete_offer`."""
        await self.adelete_resource(_offers(offer_type), offer_id)

    async def afind_offer_by_name(self, name: str, offer_type: str = "fallback") -> Offer | None:
        """Async `find_offer_by_name`."""
        return await self.afind_resource_by_name(_offers(offer_type), name)

    # -- decisioning ----------------------------------------------------------------------

    def request_decision(
        self, decision_id: str, placement_id: str, **options: Unpack[DecisionOptions]
    ) -> DecisionResponse:
        """Which offers a profile gets for (decision, placement), from the hub Decisioning API.

        `options` (`api.calls.DecisionOptions`): `profile_id` (+ `identity_namespace`,
        default "ECID") or `identity_map`, `item_count` (1-30, default 1), `include_content`
        (default True), `include_metadata`, `decision_request_id`, `context_data`.
        """
        return self.get_conn().request_decision(decision_id, placement_id, **options)

    async def arequest_decision(
        self, decision_id: str, placement_id: str, **options: Unpack[DecisionOptions]
    ) -> DecisionResponse:
        """Async `request_decision`."""
        return await self._arun(
            lambda client: client.request_decision(decision_id, placement_id, **options)
        )

    # -- batch decisioning (api.batch_decisioning) -----------------------------------------

    def start_batch_decisioning(self, request: BatchRequest, request_id: str) -> Workload:
        """Start a batch decisioning workload; `request_id` is its `x-request-id`."""
        return self.get_conn().start_batch_decisioning(request, request_id)

    def get_batch_workload(self, workload_id: str) -> Workload:
        """A batch decisioning workload's status (`ode:status`, `ode:statusDetail`)."""
        return self.get_conn().get_batch_workload(workload_id)

    async def aget_batch_workload(self, workload_id: str) -> Workload:
        """Async `get_batch_workload` (what the trigger polls)."""
        return await self._arun(lambda client: client.get_batch_workload(workload_id))


def _offers(offer_type: str) -> Resource[Offer]:
    from airflow_provider_offers.api.resources import offer_resource

    return offer_resource(offer_type)


def _airflow_version() -> str:
    try:
        from airflow import __version__ as airflow_version
    except ImportError:  # pragma: no cover - only outside a full Airflow install
        return "unknown"
    return airflow_version


__all__ = ["OfferLibraryHook"]
