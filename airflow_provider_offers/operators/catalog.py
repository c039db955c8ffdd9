"""The catalog sync: an Offer Library kept as code, planned, approved and applied.

`SyncOffersOperator` (and `SyncFallbackOffersOperator`) bring the sandbox's offers of one type
to a catalog given inline or in files; the rules (what a catalog file may hold, ownership,
the plan and its approval) live in `airflow_provider_offers.api.catalog`, which knows nothing
of Airflow. See the "Catalog sync" page of the documentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeOffersLink
from airflow_provider_offers.operators._base import OfferLibraryOperator, as_json_value
from airflow_provider_offers.operators._catalog_io import (
    catalog_name,
    catalog_root,
    catalog_values,
    checked_expected_plan,
    write_whole,
)
from airflow_provider_offers.operators.offers import _OfferOperator

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow.sdk import Context

    from airflow_provider_offers.api.client import AsyncOfferLibraryClient
    from airflow_provider_offers.lineage import Touched

__all__ = [
    "ExportOfferLibraryOperator",
    "SyncFallbackOffersOperator",
    "SyncOfferLibraryOperator",
    "SyncOffersOperator",
    "plan_markdown",
]


class _CatalogSyncOperator(OfferLibraryOperator):
    """What both syncs take and do: plan, show the plan, hold it against the approved one,
    apply it (or not: `dry_run`)."""

    sync_template_fields = (
        "values",
        "catalog",
        "prune",
        "allow_empty",
        "plan_only",
        "skip_blocked",
        "expected_plan",
        *TASK_TEMPLATE_FIELDS,
    )
    output_keys = ("catalog", "sandbox", "counts")

    def __init__(
        self,
        *,
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

    def _push_outputs(self, context: Context, result: Any) -> None:
        """Also each count on its own: `sync.output["created"]`."""
        super()._push_outputs(context, result)
        ti = context.get("ti")
        if ti is None:  # `execute()` called outside a task (a benchmark, a unit test)
            return
        for count, value in result["counts"].items():
            ti.xcom_push(key=count, value=value)

    def _pruning(self, name: str, has_offers: bool, field: str, given_as: str) -> bool:
        """`prune`, refused for a catalog without offers (an empty or truncated file would
        delete every offer the catalog made) unless `allow_empty`."""
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import parse_bool

        prune = parse_bool(self.prune, "prune")
        if prune and not has_offers and not parse_bool(self.allow_empty, "allow_empty"):
            raise InvalidInputError(
                field,
                f"{given_as} holds no offers: with prune=True this would delete every offer "
                f"of catalog {name!r}; refused (allow_empty=True if that is what you want)",
            )
        return prune

    def _sync(
        self,
        name: str,
        plan_with: Callable[[AsyncOfferLibraryClient], Awaitable[Any]],
        apply_with: Callable[..., Awaitable[dict[str, int]]],
    ) -> dict[str, Any]:
        """Plan (`plan_with(client)`), log and check the plan, then `apply_with(client, plan,
        gate=, max_concurrency=)` unless `dry_run`; the sync's result."""
        import asyncio

        from airflow_provider_offers.api import catalog
        from airflow_provider_offers.api.inputs import parse_bool, parse_max_concurrency

        plan_only = parse_bool(self.plan_only, "dry_run")
        skip_blocked = parse_bool(self.skip_blocked, "skip_blocked")
        max_concurrency = parse_max_concurrency(self.max_concurrency)
        expected_plan = checked_expected_plan(self.expected_plan, self.expects_plan)
        gate = catalog.BackoffGate()
        sandbox = self.hook.sandbox_name

        async def sync() -> dict[str, Any]:
            # A client of its own whose retry waits go through the gate; the hook's is unchanged.
            async with await self.hook.aget_conn(gate.policy(self.hook.retry_policy)) as client:
                plan = await plan_with(client)
                table = catalog.plan_table(plan.entries)
                self.log.info("Plan for catalog %r in sandbox %r: %s", name, sandbox, table)
                catalog.check_plan(plan, expected=expected_plan, skip_blocked=skip_blocked)
                counts = plan.counts()
                if not plan_only:
                    counts = await apply_with(
                        client, plan, gate=gate, max_concurrency=max_concurrency
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


class SyncOffersOperator(_CatalogSyncOperator, _OfferOperator):
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
        *_CatalogSyncOperator.sync_template_fields,
    )
    template_fields_renderers = {"offers": "json", "values": "json", "expected_plan": "json"}
    offer_content_fields = {"offers": "keep_offers_content"}
    operator_extra_links = (AdobeOffersLink(),)

    def __init__(self, *, offers: Any = None, offers_file: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.offers = offers
        self.offers_file = offers_file

    def _catalog_offers(self) -> tuple[Any, str]:
        """The offers given inline, or read from `offers_file`; and where they came from."""
        from airflow_provider_offers.api.catalog import source
        from airflow_provider_offers.api.errors import InvalidInputError

        if (self.offers is None) == (self.offers_file is None):
            raise InvalidInputError("offers", "give exactly one of offers and offers_file")
        if self.offers is not None:
            return as_json_value(self.offers, "offers"), "offers"
        root = catalog_root(self, str(self.offers_file), "offers_file")
        return source.read_catalog(root, catalog_values(self.values)), (
            f"offers_file {self.offers_file!r}"
        )

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api import catalog
        from airflow_provider_offers.api.resources import offer_resource

        offer_type = self.checked_offer_type
        name = catalog_name(self, self.catalog)
        offers, given_as = self._catalog_offers()
        bodies = catalog.parse_catalog(offers, offer_type, name)
        field = "offers" if given_as == "offers" else "offers_file"
        prune = self._pruning(name, bool(bodies), field, given_as)
        written: list[tuple[str, str]] = []  # (id, action) of each write: what lineage reports
        self.__dict__["_writes"] = written

        def plan_with(client: AsyncOfferLibraryClient) -> Awaitable[Any]:
            return catalog.plan_catalog(
                client, bodies, offer_type=offer_type, catalog=name, prune=prune
            )

        def apply_with(client: AsyncOfferLibraryClient, plan: Any, **options: Any) -> Any:
            resource = offer_resource(offer_type)
            return catalog.apply_plan(client, plan, resource=resource, written=written, **options)

        return self._sync(name, plan_with, apply_with)

    def _touched(self, result: Any) -> Touched:
        """Each offer this run created, updated or deleted (a dry run: none)."""
        return self._written(*self.__dict__.get("_writes", ()))


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


class SyncOfferLibraryOperator(_CatalogSyncOperator):
    """Keep a sandbox's whole decisioning setup in line with one catalog kept as code.

    The document (`objects` inline, or `source`: a JSON or YAML file, a folder of them, or an
    object storage URL, read as `SyncOffersOperator` reads `offers_file`) maps kinds to lists
    of objects in Adobe's JSON: ``placements``, ``tags``, ``rules``, ``ranking_formulas``,
    ``personalized_offers``, ``fallback_offers``, ``collections``, ``decisions``, each object
    identified by its ``name`` within its kind. Wherever Adobe takes another object's id, the
    document may write ``{"name": "<name>"}``: the object of that kind with that name, in the
    document or already in the sandbox (a plain string stays an id). One plan covers every
    kind; the apply creates and updates in dependency order (placements, tags, rules and
    ranking formulas, then offers, collections, decisions), filling in the ids it creates, and
    deletes in reverse. Ranking formulas are updated with ``PUT``; everything else with the
    smallest guarded JSON Patch. Experience Decisioning's rules and formulas are never
    matched, changed or deleted.

    With `prune`, only offers carrying this catalog's marker are deleted, never one anything
    still references; other kinds are never pruned (Adobe gives them no member that could
    record who made them: see the catalog page of the documentation). `dry_run`,
    `expected_plan`, `values`, `max_concurrency` and `skip_blocked` work as for
    `SyncOffersOperator`.

    Returns `{"catalog", "sandbox", "dry_run", "counts", "plan"}`; each plan entry carries its
    `kind`, and references show by name.

    :param objects: the document inline (templated, except offer content).
    :param source: the document as files (templated); a local path stays inside the DAG
        file's folder unless `allow_outside_dag_folder`.
    """

    template_fields: Sequence[str] = (
        "objects",
        "source",
        *_CatalogSyncOperator.sync_template_fields,
    )
    template_fields_renderers = {"objects": "json", "values": "json", "expected_plan": "json"}
    offer_content_fields = {"objects": "keep_setup_content"}

    def __init__(self, *, objects: Any = None, source: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.objects = objects
        self.source = source

    def _document(self) -> tuple[Any, str]:
        from airflow_provider_offers.api.catalog import source
        from airflow_provider_offers.api.errors import InvalidInputError

        if (self.objects is None) == (self.source is None):
            raise InvalidInputError("objects", "give exactly one of objects and source")
        if self.objects is not None:
            return as_json_value(self.objects, "objects"), "objects"
        root = catalog_root(self, str(self.source), "source")
        return source.read_document(root, catalog_values(self.values)), "source"

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api.catalog import document, graph

        name = catalog_name(self, self.catalog)
        given, field = self._document()
        setup = document.parse_setup(given, name, field)
        offers = setup["personalized_offers"] + setup["fallback_offers"]
        prune = self._pruning(name, bool(offers), field, f"the document ({field})")
        written: list[tuple[str, str, str]] = []  # (kind, id, action): what lineage reports
        self.__dict__["_writes"] = written

        def plan_with(client: AsyncOfferLibraryClient) -> Awaitable[Any]:
            return graph.plan_setup(client, setup, catalog=name, prune=prune)

        def apply_with(client: AsyncOfferLibraryClient, plan: Any, **options: Any) -> Any:
            return graph.apply_setup(client, plan, written=written, **options)

        return self._sync(name, plan_with, apply_with)

    def _touched(self, result: Any) -> Touched:
        """Each object this run created, updated or deleted, of every kind."""
        from airflow_provider_offers.api.catalog.kinds import BY_KEY

        writes = self.__dict__.get("_writes", ())
        return self._written_of((BY_KEY[key].resource.kind, i, a) for key, i, a in writes)


class ExportOfferLibraryOperator(OfferLibraryOperator):
    """Write a sandbox's setup as a whole-setup document (what `SyncOfferLibraryOperator`
    reads) to `destination`: a local file (JSON, or YAML for ``.yaml``/``.yml``) or an object
    storage URL. Ids become ``{"name": ...}`` references, server-managed members and the
    catalog's marker are dropped, objects are sorted by name and members by key: a diff
    between two exports is a review. Written whole or not at all.

    Returns `{"sandbox", "destination", "counts": {kind: number exported}}`.

    :param destination: where the document goes (templated).
    :param kinds: the kinds exported (default: all).
    :param decisions: export only these decisions (names) and what they need (templated).
    """

    template_fields: Sequence[str] = ("destination", "kinds", "decisions", *TASK_TEMPLATE_FIELDS)
    output_keys = ("sandbox", "destination", "counts")

    def __init__(
        self,
        *,
        destination: str,
        kinds: Sequence[str] | None = None,
        decisions: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self.kinds = kinds
        self.decisions = decisions

    def _execute(self, context: Context) -> dict[str, Any]:
        import asyncio

        from airflow_provider_offers.api.catalog import export, graph

        async def read() -> Any:
            async with await self.hook.aget_conn() as client:
                return await graph.read_sandbox(client)

        exported = export.export_setup(
            asyncio.run(read()),
            kinds=as_json_value(self.kinds, "kinds"),
            decisions=as_json_value(self.decisions, "decisions"),
        )
        destination = str(self.destination)
        write_whole(destination, exported)
        counts = {key: len(objects) for key, objects in exported.items()}
        self.log.info("Exported sandbox %r to %s: %s", self.hook.sandbox_name, destination, counts)
        return {"sandbox": self.hook.sandbox_name, "destination": destination, "counts": counts}
