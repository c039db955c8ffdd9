"""Operators that create, patch and delete Offer Library offers, safe to run again.

Every operator here is declarative and re-runnable (retries, cleared tasks, backfills): the
logic that makes it so lives in `airflow_provider_offers.api.reconcile` and `api.diff`, which
know nothing of Airflow; these classes validate input after templating, call it with the hook,
and return JSON for XCom. Heavy imports (httpx, pydantic, jsonpatch, api/) happen inside
`execute` so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink

from airflow_provider_offers._compat import AirflowFailException, AirflowNotFoundException
from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.operators._base import (
    CreateByNameOperator,
    OfferLibraryOperator,
    as_json_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_offers.api.inputs import OfferType

# Journey Optimizer's UI lives in Experience Cloud under
#   https://experience.adobe.com/#/@<tenant>/sname:<sandbox>/journey-optimizer/...
# (the `@<tenant>/sname:<sandbox>/journey-optimizer/` part appears in Adobe's own docs and lab
# guides; with an empty tenant, `#/@/journey-optimizer/...` as in Adobe's Mobile SDK docs,
# Experience Cloud opens the user's default organisation). The path of one offer below that is
# NOT documented anywhere we found: `offers/<offer type>/<id>` is our best guess. The tenant
# (the org's Experience Cloud short name, not the IMS org id) can be set as `ui_tenant` in the
# connection's extra.
UI_BASE_URL = "https://experience.adobe.com/#/@{tenant}/sname:{sandbox}/journey-optimizer"


def offer_ui_url(offer_id: str, sandbox: str, offer_type: str, tenant: str = "") -> str:
    """Best-guess Journey Optimizer UI URL of one offer (see the note on UI_BASE_URL)."""
    base = UI_BASE_URL.format(tenant=quote(tenant, safe=""), sandbox=quote(sandbox, safe=""))
    return f"{base}/offers/{quote(offer_type, safe='')}/{quote(offer_id, safe=':')}"


class AdobeOfferLink(BaseOperatorLink):
    """ "Adobe offer": the offer in the Journey Optimizer UI, built from the task's XCom."""

    name = "Adobe offer"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(ti_key=ti_key, key="return_value")
        if not isinstance(value, Mapping) or not value.get("id") or not value.get("sandbox"):
            return ""
        tenant = ""
        conn_id = getattr(operator, "adobe_conn_id", None)
        if conn_id:
            # Without a connection the link still opens Journey Optimizer in the default org.
            with suppress(AirflowNotFoundException):
                tenant = BaseHook.get_connection(conn_id).extra_dejson.get("ui_tenant") or ""
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import parse_offer_type

        try:  # the one rule: "Fallback" and "fallback" are one offer type
            offer_type = parse_offer_type(getattr(operator, "offer_type", "fallback"))
        except InvalidInputError:
            return ""
        return offer_ui_url(value["id"], value["sandbox"], str(offer_type), tenant)


class _OfferOperator(OfferLibraryOperator):
    """An operator on offers of one `offer_type`: `"fallback"` or `"personalized"`."""

    def __init__(self, *, offer_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offer_type = offer_type

    @property
    def checked_offer_type(self) -> OfferType:
        """`offer_type` checked by the one rule in `api.inputs` (at run time: parsing a DAG
        file imports nothing of `api/`)."""
        from airflow_provider_offers.api.inputs import parse_offer_type

        return parse_offer_type(self.offer_type)

    @property
    def kind(self) -> str:
        from airflow_provider_offers.api.resources import offer_resource

        return offer_resource(self.checked_offer_type).kind


class CreateOfferOperator(_OfferOperator, CreateByNameOperator):
    """Make sure an offer with this name exists in the sandbox and carries the given fields.

    The offer's `name` is its natural key within the sandbox. `if_exists` says what to do when
    an offer of that name is already there: `"update"` brings the fields given in `offer` to
    the given values with the smallest JSON Patch (other fields are left alone, nothing is sent
    when nothing differs), `"skip"` leaves it as it is, `"fail"` fails the task naming its id.
    A create whose outcome is unknown is reconciled by name, within the task and across task
    retries: never two offers with one name.

    Returns `{"id", "name", "etag", "lastModifiedDate", "sandbox", "action"}` with action
    `created`, `updated` or `unchanged`.

    :param offer: the offer as Adobe's JSON (a dict, a JSON string or an `api.models` offer;
        templated); its `name` is the key.
    :param offer_type: ``fallback`` or ``personalized`` (any case).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    field = "offer"
    template_fields: Sequence[str] = (
        "offer",
        "if_exists",
        *TASK_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"offer": "json"}
    offer_content_fields = {"offer": "keep_offer_content"}
    operator_extra_links = (AdobeOfferLink(),)

    def __init__(self, *, offer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offer = as_json_value(offer, "offer") if hasattr(offer, "model_dump") else offer


class PatchOfferOperator(_OfferOperator):
    """Apply a JSON Patch (RFC 6902) to one offer, optionally only at an expected etag.

    With `expected_etag` the current etag is read first and the task fails without writing if
    it differs (the message gives both); the operations are then sent with `test` preconditions
    on the values they were computed from, so a writer that sneaks in between the check and
    the write makes the patch fail instead of being silently overwritten. An earlier attempt
    whose write committed (a lost answer, a retry, a cleared task) is recognised by the values
    it wrote, so re-running does not fail the etag check on the task's own write.

    Without `expected_etag` the operations are sent once, as given; if the answer is lost the
    task fails rather than guess, and its retry sends them again: harmless for `replace`,
    `remove` and `add` of a member, not for appending to a list (`/-`). Give `expected_etag`
    for exactly-once.

    Returns `{"id", "etag", "lastModifiedDate", "sandbox"}`.

    :param offer_id: the offer to patch (templated).
    :param operations: JSON Patch operations (a list of dicts or a JSON string; templated).
    :param expected_etag: patch only the offer at this version (int or digit string;
        templated); makes the patch exactly-once.
    :param offer_type: ``fallback`` or ``personalized`` (any case).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    template_fields: Sequence[str] = (
        "offer_id",
        "operations",
        "expected_etag",
        *TASK_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"operations": "json"}
    offer_content_fields = {"operations": "keep_patch_content"}
    operator_extra_links = (AdobeOfferLink(),)

    def __init__(
        self,
        *,
        offer_id: str,
        operations: Any,
        expected_etag: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer_id = offer_id
        self.operations = operations
        self.expected_etag = expected_etag

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api import reconcile
        from airflow_provider_offers.api.inputs import parse_etag, parse_id
        from airflow_provider_offers.api.json_patch import parse_operations

        store = self._store()
        offer_id = parse_id(self.offer_id, "offer_id")
        operations = [
            op.model_dump(mode="json")
            for op in parse_operations(as_json_value(self.operations, "operations"))
        ]
        expected_etag = parse_etag(self.expected_etag, "expected_etag")
        try:
            result = reconcile.patch_offer(
                store,
                offer_id,
                operations,
                expected_etag=expected_etag,
                journal=self._journal(context, f"patch:{offer_id}"),
            )
        except (reconcile.EtagMismatchError, reconcile.OperationsDoNotApplyError) as exc:
            raise AirflowFailException(f"{exc} (sandbox {self.hook.sandbox_name!r})") from None
        self.log.info(
            "Patched offer %s in sandbox %r: etag %s",
            result.id,
            self.hook.sandbox_name,
            result.etag,
        )
        return self._xcom(result)


class DeleteOfferOperator(_OfferOperator):
    """Delete one offer; an offer that is already gone counts as success (idempotent clean-up).

    Returns `{"id", "sandbox", "deleted"}`: `deleted` is False when there was nothing to delete.

    :param offer_id: the offer to delete (templated).
    :param offer_type: ``fallback`` or ``personalized`` (any case).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    template_fields: Sequence[str] = ("offer_id", *TASK_TEMPLATE_FIELDS)

    def __init__(
        self,
        *,
        offer_id: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer_id = offer_id

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api.errors import NotFoundError
        from airflow_provider_offers.api.inputs import parse_id

        offer_id = parse_id(self.offer_id, "offer_id")
        try:
            self.hook.delete_offer(offer_id, offer_type=self.checked_offer_type)
            deleted = True
        except NotFoundError:
            self.log.info(
                "Offer %s is already gone from sandbox %r", offer_id, self.hook.sandbox_name
            )
            deleted = False
        return {"id": offer_id, "sandbox": self.hook.sandbox_name, "deleted": deleted}


class CreateFallbackOfferOperator(CreateOfferOperator):
    """`CreateOfferOperator` for fallback offers (the offer a decision serves when none fits).

    :param offer: the fallback offer as Adobe's JSON (templated); its `name` is the key.
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).
    """

    def __init__(self, *, offer: Any, if_exists: str = "update", **kwargs: Any) -> None:
        super().__init__(offer=offer, offer_type="fallback", if_exists=if_exists, **kwargs)


class PatchFallbackOfferOperator(PatchOfferOperator):
    """`PatchOfferOperator` for fallback offers.

    :param offer_id: the offer to patch (templated).
    :param operations: JSON Patch operations (templated).
    :param expected_etag: patch only the offer at this version (templated).
    """

    def __init__(
        self,
        *,
        offer_id: str,
        operations: Any,
        expected_etag: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            offer_id=offer_id,
            operations=operations,
            offer_type="fallback",
            expected_etag=expected_etag,
            **kwargs,
        )


class DeleteFallbackOfferOperator(DeleteOfferOperator):
    """`DeleteOfferOperator` for fallback offers.

    :param offer_id: the offer to delete (templated).
    """

    def __init__(self, *, offer_id: str, **kwargs: Any) -> None:
        super().__init__(offer_id=offer_id, offer_type="fallback", **kwargs)


class SyncOffersOperator(_OfferOperator):
    """Keep the sandbox's offers of one `offer_type` in line with a catalog kept as code.

    The catalog is `offers` (a templated list of offers) or `offers_file` (a JSON or YAML file,
    or a folder of them, relative to the DAG file's folder; or an object storage URL such as
    ``s3://bucket/catalog/``, read with ``ObjectStoragePath``). A catalog file is data, never
    a template: ids that differ between sandboxes reach it through `values` (templated, so
    they can come from ``params`` or an upstream task's XCom), named in the file by a node
    ``{$value: NAME}``. Offer content is sent exactly as written, Journey Optimizer
    personalization included, from files and from `offers` alike. Offers are matched by name
    against one paged listing of the sandbox: missing ones are created (carrying a marker
    naming `catalog` among their `characteristics`), differing ones get the smallest guarded
    JSON Patch (the rule of `CreateOfferOperator`), the rest is left alone. With `prune`, the
    offers carrying this catalog's marker that the catalog no longer lists are deleted; never
    an offer made by hand or by another catalog, and never one a decision still serves as its
    fallback: the task then fails naming the decision, unless `skip_blocked`.

    `dry_run` computes and returns the plan and writes nothing. `expected_plan` (a plan, or
    the result of a dry run) applies only if the plan computed now is the same, writes already
    made by an earlier run of that plan aside; otherwise the task fails naming what drifted,
    writing nothing. Duplicate names, invalid offers and unknown placements fail before any
    write. Writes run through the async client, `max_concurrency` at a time; a 429 holds every
    worker for its `Retry-After`; a lost answer is reconciled by name.

    Returns `{"catalog", "sandbox", "dry_run", "counts": {"created", "updated", "unchanged",
    "deleted", "blocked"}, "plan": [{"name", "id", "action", "fields", "etag"}, ...]}`;
    `sandbox`, `counts` and each count (`created`, ...) are also XComs of their own
    (`sync.output["counts"]`, `sync.output["created"]`).

    :param offers: the catalog inline: a list of offers as Adobe's JSON (templated, except
        their content).
    :param offers_file: the catalog as files (templated; see above). A local path must stay
        inside the DAG file's folder.
    :param values: the values ``{$value: NAME}`` nodes of catalog files are replaced with
        (templated): a mapping of name to any JSON value.
    :param catalog: the catalog's name, in the marker (default: "<dag_id>.<task_id>"; give the
        same name to every task that plans or applies one catalog).
    :param prune: delete this catalog's offers that it no longer lists (templated yes/no).
    :param allow_empty: let a pruning sync of a catalog with no offers delete every offer the
        catalog made (templated yes/no; refused otherwise, as an empty or truncated file
        would do the same).
    :param dry_run: plan only, write nothing (templated yes/no).
    :param expected_plan: apply only this plan (templated; an XCom that renders to nothing
        fails the task).
    :param skip_blocked: leave offers a decision still serves instead of failing (templated
        yes/no).
    :param max_concurrency: writes sent at once.
    :param allow_outside_dag_folder: read a local `offers_file` anywhere (an absolute path, a
        ``file:`` URL, ``..``); not templated, so a run's parameters cannot turn it on.
    """

    template_fields: Sequence[str] = (
        "offers",
        "offers_file",
        "values",
        "catalog",
        "prune",
        "allow_empty",
        "plan_only",
        "skip_blocked",
        "expected_plan",
        *TASK_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"offers": "json", "values": "json", "expected_plan": "json"}
    offer_content_fields = {"offers": "keep_offers_content"}
    output_keys = ("catalog", "sandbox", "counts")

    def _push_outputs(self, context: Context, result: Any) -> None:
        """Also each count on its own: `sync.output["created"]`."""
        super()._push_outputs(context, result)
        for count, value in result["counts"].items():
            context["ti"].xcom_push(key=count, value=value)

    def __init__(
        self,
        *,
        offers: Any = None,
        offers_file: str | None = None,
        values: Any = None,
        catalog: str | None = None,
        prune: bool | str = False,
        allow_empty: bool | str = False,
        dry_run: bool | str = False,
        expected_plan: Any = None,
        max_concurrency: int = 8,
        skip_blocked: bool | str = False,
        allow_outside_dag_folder: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offers = offers
        self.offers_file = offers_file
        self.values = values
        self.catalog = catalog
        self.prune = prune
        self.allow_empty = allow_empty
        # Not `self.dry_run`: BaseOperator.dry_run() is Airflow's own (`airflow tasks test`).
        self.plan_only = dry_run
        self.expected_plan = expected_plan
        # Given at all: a template or XCom that then renders to nothing is a mistake.
        self.expects_plan = expected_plan is not None
        self.max_concurrency = max_concurrency
        self.skip_blocked = skip_blocked
        self.allow_outside_dag_folder = allow_outside_dag_folder

    def _catalog_name(self) -> str:
        from airflow_provider_offers.api.errors import InvalidInputError

        name = self.catalog if self.catalog is not None else f"{self.dag_id}.{self.task_id}"
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("catalog", f"{name!r} is not a name")
        return name.strip()

    def _values(self) -> dict[str, Any]:
        from airflow_provider_offers.api.errors import InvalidInputError

        values = {} if self.values is None else as_json_value(self.values, "values")
        if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
            raise InvalidInputError("values", "expected a mapping of names to values")
        return dict(values)

    def _catalog_offers(self) -> tuple[Any, str]:
        """The offers given inline, or read from `offers_file`; and where they came from."""
        from airflow_provider_offers.api.catalog import source
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import parse_bool

        if (self.offers is None) == (self.offers_file is None):
            raise InvalidInputError("offers", "give exactly one of offers and offers_file")
        if self.offers is not None:
            return as_json_value(self.offers, "offers"), "offers"
        location = str(self.offers_file)
        root: Any
        is_url = "://" in location
        if not is_url or location.lower().startswith("file:"):  # the local file system
            from pathlib import Path

            has_file = self.has_dag() and self.dag.fileloc
            folder = Path(self.dag.fileloc).parent if has_file else Path.cwd()
            allow = parse_bool(self.allow_outside_dag_folder, "allow_outside_dag_folder")
            root = source.local_source(location, folder, allow_outside=allow)
        if is_url:
            from airflow.sdk import ObjectStoragePath

            root = ObjectStoragePath(location)
        if not root.exists():
            raise InvalidInputError("offers_file", f"{location!r}: no such file or directory")
        return source.read_catalog(root, self._values()), f"offers_file {location!r}"

    def _expected_plan(self) -> Any:
        from airflow_provider_offers.api import catalog
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import rendered_nothing

        expected = self.expected_plan
        if not self.expects_plan:
            return None
        if rendered_nothing(expected):
            raise InvalidInputError(
                "expected_plan",
                f"{expected!r}: it was given but is empty (a template or XCom that rendered "
                "nothing, such as a plan task that did not run); nothing was applied",
            )
        catalog.plan_entries(expected)  # a malformed plan fails before any request
        return expected

    def _execute(self, context: Context) -> dict[str, Any]:
        import asyncio

        from airflow_provider_offers.api import catalog
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import parse_bool, parse_max_concurrency

        offer_type = self.checked_offer_type
        name = self._catalog_name()
        prune = parse_bool(self.prune, "prune")
        plan_only = parse_bool(self.plan_only, "dry_run")
        skip_blocked = parse_bool(self.skip_blocked, "skip_blocked")
        offers, given_as = self._catalog_offers()
        bodies = catalog.parse_catalog(offers, offer_type, name)
        if prune and not bodies and not parse_bool(self.allow_empty, "allow_empty"):
            raise InvalidInputError(
                "offers" if given_as == "offers" else "offers_file",
                f"{given_as} holds no offers: with prune=True this would delete every offer "
                f"of catalog {name!r}; refused (allow_empty=True if that is what you want)",
            )
        max_concurrency = parse_max_concurrency(self.max_concurrency)
        expected_plan = self._expected_plan()
        gate = catalog.BackoffGate()
        sandbox = self.hook.sandbox_name

        async def sync() -> dict[str, Any]:
            # A client of its own whose retry waits go through the gate; the hook's is unchanged.
            async with await self.hook.aget_conn(gate.policy(self.hook.retry_policy)) as client:
                plan = await catalog.plan_catalog(
                    client, bodies, offer_type=offer_type, catalog=name, prune=prune
                )
                self.log.info(
                    "Plan for catalog %r in sandbox %r: %s",
                    name,
                    sandbox,
                    catalog.plan_table(plan.entries),
                )
                catalog.check_plan(plan, expected=expected_plan, skip_blocked=skip_blocked)
                counts = plan.counts()
                if not plan_only:
                    counts = await catalog.apply_plan(
                        client,
                        plan,
                        offer_type=offer_type,
                        gate=gate,
                        max_concurrency=max_concurrency,
                    )
                    self.log.info("Catalog %r applied to sandbox %r: %s", name, sandbox, counts)
                return {
                    "catalog": name,
                    "sandbox": sandbox,
                    "dry_run": plan_only,
                    "counts": counts,
                    "plan": plan.entries,
                }

        try:
            return asyncio.run(sync())
        except catalog.CatalogError as exc:
            raise AirflowFailException(f"{exc} (sandbox {sandbox!r})") from None


def plan_markdown(plan: Any) -> str:
    """A sync's plan (its result, its entries, or their JSON) as a Markdown table.

    For Airflow's `ApprovalOperator` body, as a Jinja filter:
    `DAG(..., user_defined_filters={"plan_markdown": plan_markdown})`, then
    `body="{{ ti.xcom_pull(task_ids='plan') | plan_markdown }}"`.
    """
    from airflow_provider_offers.api import catalog

    return catalog.plan_markdown(catalog.plan_entries(plan))


class SyncFallbackOffersOperator(SyncOffersOperator):
    """`SyncOffersOperator` for fallback offers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(offer_type="fallback", **kwargs)
