"""`OfferLibraryHook`: an Airflow connection (conn type `adobe_offers`) -> the Offer Library client.

The hook is thin on purpose: it reads the connection lazily (a sync `cached_property`, and an
async resolver for triggers that fills the same slot), builds a `ClientConfig`, masks every
access token the client obtains, and exposes one business method per operation. Everything
else (auth, retries, paging, models, errors) is in `airflow_provider_offers.api`, imported
inside functions so that DAG files importing this module stay cheap to parse.

Connection fields (see design.md): host = API base URL (may be a full URL; default
https://platform.adobe.io), login = client id, password = client secret, extras `org_id`
(required), `sandbox_name` (default "prod"), `scopes`, `ims_url`, and optionally
`client_secrets` (a list, for rotation). Legacy `extra__adobe_offers__<field>` keys are read
too, and an empty string counts as unset (the UI saves empty fields that way).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from airflow_provider_offers import DEFAULT_API_URL, DEFAULT_IMS_URL, DEFAULT_SANDBOX

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_offers.api.client import (
        AsyncOfferLibraryClient,
        ClientConfig,
        OfferLibraryClient,
    )
    from airflow_provider_offers.api.models import DecisionResponse, Receipt
    from airflow_provider_offers.api.retry import RetryPolicy

T = TypeVar("T")
_LEGACY_PREFIX = "extra__adobe_offers__"


def _extra(extras: dict[str, Any], field: str) -> Any:
    """An extra by its plain or legacy key; "" and None mean unset."""
    for key in (field, _LEGACY_PREFIX + field):
        value = extras.get(key)
        if value is not None and value != "":
            return value
    return None


def _api_url(host: str | None, port: int | None) -> str:
    host = (host or "").strip()
    if not host:
        return DEFAULT_API_URL
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if port and parts.port is None:
        host = f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
    return host.rstrip("/")


def _secrets(password: str | None, extra_secrets: Any) -> list[str]:
    """The connection password first, then any `client_secrets` extra (list or comma string)."""
    if isinstance(extra_secrets, str):
        extra_secrets = extra_secrets.split(",")
    secrets = [password] if password else []
    for secret in extra_secrets or ():
        if isinstance(secret, str) and secret.strip() and secret.strip() not in secrets:
            secrets.append(secret.strip())
    return secrets


class _ForResource:
    """A hook method that is a generic `*_resource` method with the resource filled in."""

    def __init__(self, generic: str, kind: str, doc: str) -> None:
        self.generic = generic
        self.kind = kind
        self.__doc__ = f"{doc} (`{generic}({kind!r}, ...)`)"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, hook: Any, owner: type | None = None) -> Any:
        if hook is None:
            return self
        method = functools.partial(getattr(hook, self.generic), self.kind)
        method.__doc__ = self.__doc__  # type: ignore[misc]
        return method


class OfferLibraryHook(BaseHook):
    """Talk to Adobe Journey Optimizer's Offer Library through an `adobe_offers` connection.

    :param adobe_conn_id: the Airflow connection id.
    :param sandbox_name: overrides the connection's sandbox (technical name, e.g. "dev").
    :param retry_policy: backoff numbers (see `airflow_provider_offers.api.retry`).

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
    ) -> None:
        super().__init__()
        self.adobe_conn_id = adobe_conn_id
        self._sandbox_override = sandbox_name.strip() if sandbox_name else None
        self.retry_policy = retry_policy
        self._session_client: AsyncOfferLibraryClient | None = None

    def __repr__(self) -> str:
        return f"OfferLibraryHook(adobe_conn_id={self.adobe_conn_id!r})"

    # -- connection -> config -------------------------------------------------------------

    @cached_property
    def connection(self) -> Connection:
        return self.get_connection(self.adobe_conn_id)

    async def aconnection(self) -> Connection:
        """The connection, fetched the async way (triggers); shares the sync cache slot."""
        if "connection" not in self.__dict__:
            self.__dict__["connection"] = await self.aget_connection(self.adobe_conn_id)
        return self.__dict__["connection"]

    def _missing(self, field: str, what: str, where: str) -> Exception:
        from airflow_provider_offers.api.errors import InvalidInputError

        return InvalidInputError(
            field, f"connection {self.adobe_conn_id!r} has no {what}: set {where}"
        )

    def _config(self, conn: Connection) -> ClientConfig:
        from airflow_provider_offers.api.client import ClientConfig

        extras = conn.extra_dejson or {}
        if not conn.login:
            raise self._missing("client_id", "Client ID", "its login")
        secrets = _secrets(conn.password, _extra(extras, "client_secrets"))
        if not secrets:
            raise self._missing("client_secret", "client secret", "its password")
        org_id = _extra(extras, "org_id")
        if not org_id:
            raise self._missing("org_id", "IMS Org ID", "the extra field org_id")
        return ClientConfig(
            client_id=conn.login,
            client_secrets=tuple(secrets),
            org_id=org_id,
            sandbox_name=self._sandbox_override
            or _extra(extras, "sandbox_name")
            or DEFAULT_SANDBOX,
            base_url=_api_url(conn.host, conn.port),
            ims_url=_extra(extras, "ims_url") or DEFAULT_IMS_URL,
            scopes=_extra(extras, "scopes"),
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
        from airflow.sdk.log import amask_secret

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
        from airflow.sdk.log import mask_secret

        from airflow_provider_offers.api.client import OfferLibraryClient

        return OfferLibraryClient(self.config, retry=self.retry_policy, on_token=mask_secret)

    def get_conn(self) -> OfferLibraryClient:
        """The sync client (one per hook, reused)."""
        return self.client

    async def aget_conn(self) -> AsyncOfferLibraryClient:
        """A new async client; use `async with` (its pool belongs to the running loop)."""
        from airflow.sdk.log import amask_secret

        from airflow_provider_offers.api.client import AsyncOfferLibraryClient

        return AsyncOfferLibraryClient(
            await self.aconfig(), retry=self.retry_policy, on_token=amask_secret
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
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]

    def test_connection(self) -> tuple[bool, str]:
        """One cheap read (the first placement); never raises."""
        try:
            page = self.get_conn().list_page("placements", limit=1)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            self.close()  # runs in the API server: leave no pool behind
        total = f", {page.total} placement(s)" if page.total is not None else ""
        return True, (
            f"Connected to the Offer Library at {self.config.base_url}: sandbox "
            f"{self.sandbox_name!r} of org {self.config.org_id}{total}"
        )

    # -- generic operations (resource: a kind name such as "placements", or api Resource) --

    def create_resource(self, resource: Any, entity: Any) -> Receipt:
        return self.get_conn().create(resource, entity)

    def get_resource(self, resource: Any, entity_id: str) -> Any:
        return self.get_conn().get(resource, entity_id)

    def patch_resource(self, resource: Any, entity_id: str, operations: Any) -> Receipt:
        return self.get_conn().patch(resource, entity_id, operations)

    def delete_resource(self, resource: Any, entity_id: str) -> None:
        self.get_conn().delete(resource, entity_id)

    def list_resources(
        self, resource: Any, filters: Any = None, orderby: Any = None, limit: int | None = None
    ) -> Iterator[Any]:
        return self.get_conn().list(resource, filters=filters, orderby=orderby, limit=limit)

    def find_resource_by_name(self, resource: Any, name: str) -> Any:
        return self.get_conn().find_by_name(resource, name)

    async def acreate_resource(self, resource: Any, entity: Any) -> Receipt:
        return await self._arun(lambda client: client.create(resource, entity))

    async def aget_resource(self, resource: Any, entity_id: str) -> Any:
        return await self._arun(lambda client: client.get(resource, entity_id))

    async def apatch_resource(self, resource: Any, entity_id: str, operations: Any) -> Receipt:
        return await self._arun(lambda client: client.patch(resource, entity_id, operations))

    async def adelete_resource(self, resource: Any, entity_id: str) -> None:
        await self._arun(lambda client: client.delete(resource, entity_id))

    async def alist_resources(
        self, resource: Any, filters: Any = None, orderby: Any = None, limit: int | None = None
    ) -> AsyncIterator[Any]:
        async with self._aclient() as client:
            async for entity in client.list(
                resource, filters=filters, orderby=orderby, limit=limit
            ):
                yield entity

    async def afind_resource_by_name(self, resource: Any, name: str) -> Any:
        return await self._arun(lambda client: client.find_by_name(resource, name))

    # -- offers (offer_type "fallback" or "personalized") --------------------------------

    def create_offer(self, offer: Any, offer_type: str = "fallback") -> Receipt:
        """Create an offer (dict or model); returns the receipt (id, etag)."""
        return self.create_resource(_offers(offer_type), offer)

    def get_offer(self, offer_id: str, offer_type: str = "fallback") -> Any:
        """The offer (`FallbackOffer`/`PersonalizedOffer`); NotFoundError if absent."""
        return self.get_resource(_offers(offer_type), offer_id)

    def patch_offer(self, offer_id: str, operations: Any, offer_type: str = "fallback") -> Receipt:
        """Apply JSON Patch operations (dicts or `PatchOperation`); returns the new receipt."""
        return self.patch_resource(_offers(offer_type), offer_id, operations)

    def list_offers(
        self,
        offer_type: str = "fallback",
        filters: Any = None,
        orderby: Any = None,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Every matching offer, following `_links.next` (`limit` = page size)."""
        return self.list_resources(_offers(offer_type), filters, orderby, limit)

    def delete_offer(self, offer_id: str, offer_type: str = "fallback") -> None:
        """Delete an offer; NotFoundError if it does not exist."""
        self.delete_resource(_offers(offer_type), offer_id)

    def find_offer_by_name(self, name: str, offer_type: str = "fallback") -> Any:
        """The offer named exactly `name`, or None; ConflictError listing ids if several."""
        return self.find_resource_by_name(_offers(offer_type), name)

    async def acreate_offer(self, offer: Any, offer_type: str = "fallback") -> Receipt:
        return await self.acreate_resource(_offers(offer_type), offer)

    async def aget_offer(self, offer_id: str, offer_type: str = "fallback") -> Any:
        return await self.aget_resource(_offers(offer_type), offer_id)

    async def apatch_offer(
        self, offer_id: str, operations: Any, offer_type: str = "fallback"
    ) -> Receipt:
        return await self.apatch_resource(_offers(offer_type), offer_id, operations)

    def alist_offers(
        self,
        offer_type: str = "fallback",
        filters: Any = None,
        orderby: Any = None,
        limit: int | None = None,
    ) -> AsyncIterator[Any]:
        return self.alist_resources(_offers(offer_type), filters, orderby, limit)

    async def adelete_offer(self, offer_id: str, offer_type: str = "fallback") -> None:
        await self.adelete_resource(_offers(offer_type), offer_id)

    async def afind_offer_by_name(self, name: str, offer_type: str = "fallback") -> Any:
        return await self.afind_resource_by_name(_offers(offer_type), name)

    # -- the other resources: the same six operations, sync and async --------------------

    create_placement = _ForResource("create_resource", "placements", "Create a placement")
    get_placement = _ForResource("get_resource", "placements", "Get a placement by id")
    patch_placement = _ForResource("patch_resource", "placements", "JSON-Patch a placement")
    list_placements = _ForResource("list_resources", "placements", "Iterate over placements")
    delete_placement = _ForResource("delete_resource", "placements", "Delete a placement")
    find_placement_by_name = _ForResource(
        "find_resource_by_name", "placements", "The placement with this exact name, or None"
    )
    acreate_placement = _ForResource("acreate_resource", "placements", "Create a placement")
    aget_placement = _ForResource("aget_resource", "placements", "Get a placement by id")
    apatch_placement = _ForResource("apatch_resource", "placements", "JSON-Patch a placement")
    alist_placements = _ForResource("alist_resources", "placements", "Iterate over placements")
    adelete_placement = _ForResource("adelete_resource", "placements", "Delete a placement")
    afind_placement_by_name = _ForResource(
        "afind_resource_by_name", "placements", "The placement with this exact name, or None"
    )

    create_tag = _ForResource("create_resource", "tags", "Create a tag")
    get_tag = _ForResource("get_resource", "tags", "Get a tag by id")
    patch_tag = _ForResource("patch_resource", "tags", "JSON-Patch a tag")
    list_tags = _ForResource("list_resources", "tags", "Iterate over tags")
    delete_tag = _ForResource("delete_resource", "tags", "Delete a tag")
    find_tag_by_name = _ForResource("find_resource_by_name", "tags", "The tag named so, or None")
    acreate_tag = _ForResource("acreate_resource", "tags", "Create a tag")
    aget_tag = _ForResource("aget_resource", "tags", "Get a tag by id")
    apatch_tag = _ForResource("apatch_resource", "tags", "JSON-Patch a tag")
    alist_tags = _ForResource("alist_resources", "tags", "Iterate over tags")
    adelete_tag = _ForResource("adelete_resource", "tags", "Delete a tag")
    afind_tag_by_name = _ForResource("afind_resource_by_name", "tags", "The tag named so, or None")

    create_offer_rule = _ForResource("create_resource", "offer-rules", "Create a decision rule")
    get_offer_rule = _ForResource("get_resource", "offer-rules", "Get a decision rule by id")
    patch_offer_rule = _ForResource("patch_resource", "offer-rules", "JSON-Patch a rule")
    list_offer_rules = _ForResource("list_resources", "offer-rules", "Iterate over rules")
    delete_offer_rule = _ForResource("delete_resource", "offer-rules", "Delete a rule")
    find_offer_rule_by_name = _ForResource(
        "find_resource_by_name", "offer-rules", "The rule with this exact name, or None"
    )
    acreate_offer_rule = _ForResource("acreate_resource", "offer-rules", "Create a rule")
    aget_offer_rule = _ForResource("aget_resource", "offer-rules", "Get a rule by id")
    apatch_offer_rule = _ForResource("apatch_resource", "offer-rules", "JSON-Patch a rule")
    alist_offer_rules = _ForResource("alist_resources", "offer-rules", "Iterate over rules")
    adelete_offer_rule = _ForResource("adelete_resource", "offer-rules", "Delete a rule")
    afind_offer_rule_by_name = _ForResource(
        "afind_resource_by_name", "offer-rules", "The rule with this exact name, or None"
    )

    create_offer_collection = _ForResource(
        "create_resource", "offer-collections", "Create a collection"
    )
    get_offer_collection = _ForResource(
        "get_resource", "offer-collections", "Get a collection by id"
    )
    patch_offer_collection = _ForResource(
        "patch_resource", "offer-collections", "JSON-Patch a collection"
    )
    list_offer_collections = _ForResource(
        "list_resources", "offer-collections", "Iterate over collections"
    )
    delete_offer_collection = _ForResource(
        "delete_resource", "offer-collections", "Delete a collection"
    )
    find_offer_collection_by_name = _ForResource(
        "find_resource_by_name", "offer-collections", "The collection named so, or None"
    )
    acreate_offer_collection = _ForResource(
        "acreate_resource", "offer-collections", "Create a collection"
    )
    aget_offer_collection = _ForResource(
        "aget_resource", "offer-collections", "Get a collection by id"
    )
    apatch_offer_collection = _ForResource(
        "apatch_resource", "offer-collections", "JSON-Patch a collection"
    )
    alist_offer_collections = _ForResource(
        "alist_resources", "offer-collections", "Iterate over collections"
    )
    adelete_offer_collection = _ForResource(
        "adelete_resource", "offer-collections", "Delete a collection"
    )
    afind_offer_collection_by_name = _ForResource(
        "afind_resource_by_name", "offer-collections", "The collection named so, or None"
    )

    create_decision = _ForResource("create_resource", "offer-decisions", "Create a decision")
    get_decision = _ForResource("get_resource", "offer-decisions", "Get a decision by id")
    patch_decision = _ForResource("patch_resource", "offer-decisions", "JSON-Patch a decision")
    list_decisions = _ForResource("list_resources", "offer-decisions", "Iterate over decisions")
    delete_decision = _ForResource("delete_resource", "offer-decisions", "Delete a decision")
    find_decision_by_name = _ForResource(
        "find_resource_by_name", "offer-decisions", "The decision named so, or None"
    )
    acreate_decision = _ForResource("acreate_resource", "offer-decisions", "Create a decision")
    aget_decision = _ForResource("aget_resource", "offer-decisions", "Get a decision by id")
    apatch_decision = _ForResource("apatch_resource", "offer-decisions", "JSON-Patch a decision")
    alist_decisions = _ForResource("alist_resources", "offer-decisions", "Iterate decisions")
    adelete_decision = _ForResource("adelete_resource", "offer-decisions", "Delete a decision")
    afind_decision_by_name = _ForResource(
        "afind_resource_by_name", "offer-decisions", "The decision named so, or None"
    )

    # -- decisioning ----------------------------------------------------------------------

    def request_decision(
        self, decision_id: str, placement_id: str, **options: Any
    ) -> DecisionResponse:
        """Which offers a profile gets for (decision, placement), from the hub Decisioning API.

        `options` are `api.client.DecisionOptions`: `profile_id` (+ `identity_namespace`,
        default "ECID") or `identity_map`, `item_count` (1-30, default 1), `include_content`
        (default True), `include_metadata`, `decision_request_id`, `context_data`.
        """
        return self.get_conn().request_decision(decision_id, placement_id, **options)

    async def arequest_decision(
        self, decision_id: str, placement_id: str, **options: Any
    ) -> DecisionResponse:
        return await self._arun(
            lambda client: client.request_decision(decision_id, placement_id, **options)
        )


def _offers(offer_type: str) -> Any:
    from airflow_provider_offers.api.client import offer_resource

    return offer_resource(offer_type)


def _airflow_version() -> str:
    try:
        from airflow import __version__ as airflow_version
    except ImportError:  # pragma: no cover - only outside a full Airflow install
        return "unknown"
    return airflow_version


__all__ = ["OfferLibraryHook"]
