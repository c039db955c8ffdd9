"""The catalog sync: an Offer Library kept as code, planned, approved and applied.

`SyncOffersOperator` (and `SyncFallbackOffersOperator`) bring the sandbox's offers of one type
to a catalog given inline or in files; the rules (what a catalog file may hold, ownership,
the plan and its approval) live in `airflow_provider_offers.api.catalog`, which knows nothing
of Airflow. See the "Catalog sync" page of the documentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeOffersLink
from airflow_provider_offers.operators._base import as_json_value
from airflow_provider_offers.operators.offers import _OfferOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.lineage import Touched

__all__ = ["SyncFallbackOffersOperator", "SyncOffersOperator", "plan_markdown"]


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
    operator_extra_links = (AdobeOffersLink(),)
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
        from airflow_provider_offers.api.resources import offer_resource

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
        written: list[tuple[str, str]] = []  # (id, action) of each write: what lineage reports
        self.__dict__["_writes"] = written

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
                        resource=offer_resource(offer_type),
                        gate=gate,
                        max_concurrency=max_concurrency,
                        written=written,
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
