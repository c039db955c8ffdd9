"""What every Offer Library operator shares: retry memory, the XCom shape, create-by-name.

`CreateByNameOperator` is the one create-or-converge step, keyed by the object's `name` within
the sandbox; the offer, placement, tag, rule, collection and decision operators are thin
subclasses of it. The logic that makes it safe to re-run lives in `api.reconcile` and
`api.diff` (no Airflow there). Heavy imports happen inside `execute` so DAG parsing stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_offers._compat import AIRFLOW_VERSION, AirflowFailException
from airflow_provider_offers._task import OfferLibraryTask, TaskMemory

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from airflow_provider_offers.api.reconcile import Journal, Result
    from airflow_provider_offers.lineage import Touched
    from airflow_provider_offers.operators._store import HookResourceStore


def as_json_value(value: Any, field: str) -> Any:
    """Models become Adobe's JSON; a JSON string (say, from a templated XCom) is parsed."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            from airflow_provider_offers.api.errors import InvalidInputError

            raise InvalidInputError(field, f"not valid JSON ({exc})") from None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [as_json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
    return value


class OfferLibraryOperator(OfferLibraryTask):
    """Base of every operator here (connection, hook and input errors: `OfferLibraryTask`).

    `kind` (the client's resource kind, e.g. "placements") picks the store and keys the
    task-retry memory.
    """

    ui_color = "#fa0f00"
    output_keys = ("id", "etag", "sandbox")
    resource_kind: ClassVar[str] = ""
    #: Template fields holding offers, each with the `api.content` function that finds the
    #: customer's content in it: Airflow's Jinja renders everything else, never that.
    offer_content_fields: ClassVar[Mapping[str, str]] = {}

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Airflow's templating, except on offer content (Journey Optimizer personalization
        such as `{{profile.person.name.firstName}}` is sent exactly as written)."""
        if self.offer_content_fields:
            from airflow.sdk import literal

            from airflow_provider_offers.api import content

            for field, keep in self.offer_content_fields.items():
                setattr(self, field, getattr(content, keep)(getattr(self, field), literal))
        super().render_template_fields(context, jinja_env)

    @property
    def kind(self) -> str:
        """The client's resource kind ("placements", "fallback-offers", ...)."""
        return self.resource_kind

    def _store(self) -> HookResourceStore:
        from airflow_provider_offers.operators._store import HookResourceStore

        return HookResourceStore(self.hook, self.kind)

    def _journal(self, context: Context, purpose: str) -> Journal | None:
        """Task-retry memory in Airflow's task state store (3.3+); None where there is none."""
        memory = TaskMemory(context, purpose, self.kind, self.hook.sandbox_name)
        if not memory.available:
            self.log.warning(
                "No task state store (Airflow %s; 3.3+ gives tasks one): a retry of this task "
                "cannot tell its own earlier write from someone else's (never two objects with "
                "one name still holds).",
                AIRFLOW_VERSION,
            )
            return None
        return memory

    # -- lineage (docs/openlineage.md) ----------------------------------------------------------
    # The task runner calls `execute`, or `resume_execution` for a task that deferred; the
    # OpenLineage provider then asks, in the same process, what the run touched.

    def execute(self, context: Context) -> Any:
        return self._kept_for_lineage(super().execute(context))

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context
    ) -> Any:
        return self._kept_for_lineage(super().resume_execution(next_method, next_kwargs, context))

    def _kept_for_lineage(self, result: Any) -> Any:
        self.__dict__["_lineage_result"] = result
        return result

    def _touched(self, result: Any) -> Touched:
        """What the run that returned `result` read and wrote (each operator says)."""
        from airflow_provider_offers.lineage import Touched

        return Touched()

    def _written(self, *writes: tuple[str, str]) -> Touched:
        """Objects of this operator's kind, each `(id, action)`: an action of a result or a
        plan ("created", "update", ...); one that wrote nothing ("unchanged") is left out."""
        return self._written_of((self.kind, object_id, action) for object_id, action in writes)

    def _written_of(self, writes: Iterable[tuple[str, str, str]]) -> Touched:
        """`_written` for objects of any kind, each `(resource kind, id, action)`."""
        from airflow_provider_offers.lineage import CHANGE_OF_ACTION, Touched, object_name

        sandbox = self.hook.sandbox_name
        return Touched(
            outputs=tuple(
                (object_name(sandbox, kind, object_id), CHANGE_OF_ACTION[action])
                for kind, object_id, action in writes
                if action in CHANGE_OF_ACTION
            )
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """The Offer Library objects (and Platform datasets) this run read and wrote, for
        Airflow's OpenLineage provider (the `openlineage` extra), which alone calls it."""
        if "_lineage_result" not in self.__dict__:
            return None
        from airflow_provider_offers.lineage import operator_lineage

        touched = self._touched(self.__dict__["_lineage_result"])
        return operator_lineage(self.hook.config.org_id, touched)

    def _xcom(self, result: Result) -> dict[str, Any]:
        """The object's identity and version after the step: small, JSON, no secrets."""
        return {
            "id": result.id,
            "etag": result.etag,
            "lastModifiedDate": result.last_modified,
            "sandbox": self.hook.sandbox_name,
        }


class CreateByNameOperator(OfferLibraryOperator):
    """Make sure an object named `<field>["name"]` exists in the sandbox with the given fields.

    Subclasses set `resource_kind` (the client's resource kind) and `field` (the argument that
    holds the object, also its template field). `if_exists`: `"update"` brings the given
    fields to the given values with the smallest JSON Patch (other fields are left alone,
    nothing is sent when nothing differs), `"skip"` leaves the object alone, `"fail"` fails the
    task naming its id. A create whose outcome is unknown is reconciled by name, within the
    task and across task retries: never two objects with one name.

    Returns `{"id", "name", "etag", "lastModifiedDate", "sandbox", "action"}`, action being
    `created`, `updated` or `unchanged`.

    :param if_exists: ``update`` (default), ``skip`` or ``fail`` (templated).
    """

    field: str

    def __init__(self, *, if_exists: str = "update", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.if_exists = if_exists

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api import reconcile
        from airflow_provider_offers.api.errors import ConflictError
        from airflow_provider_offers.api.inputs import parse_if_exists

        if_exists = parse_if_exists(self.if_exists)
        store = self._store()
        desired = store.body(as_json_value(getattr(self, self.field), self.field), self.field)
        sandbox = self.hook.sandbox_name
        try:
            result = reconcile.ensure_by_name(
                store, desired, if_exists=if_exists, journal=self._journal(context, "create")
            )
        except reconcile.NameTakenError as exc:
            raise AirflowFailException(
                f"{self.field} named {exc.name!r} already exists: id {exc.entity_id!r} "
                f"in sandbox {sandbox!r} (if_exists='fail')"
            ) from None
        except ConflictError as exc:
            if not exc.conflicting_ids:
                raise
            # Several objects carry the name: a retry cannot pick one, a person has to.
            raise AirflowFailException(f"{exc} (sandbox {sandbox!r})") from None
        self.log.info(
            "%s %r (%s) in sandbox %r: %s, etag %s",
            self.field,
            result.name,
            result.id,
            sandbox,
            result.action,
            result.etag,
        )
        return {**self._xcom(result), "name": result.name, "action": result.action}

    def _touched(self, result: Any) -> Touched:
        return self._written((result["id"], result["action"]))
