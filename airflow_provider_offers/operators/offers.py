"""Operators that create, patch and delete Offer Library offers, safe to run again.

Every operator here is declarative and re-runnable (retries, cleared tasks, backfills): the
logic that makes it so lives in `airflow_provider_offers.api.reconcile` and `api.diff`, which
know nothing of Airflow; these classes validate input after templating, call it with the hook,
and return JSON for XCom. Heavy imports (httpx, pydantic, jsonpatch, api/) happen inside
`execute` so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeOfferLink
from airflow_provider_offers.operators._base import (
    CreateByNameOperator,
    OfferLibraryOperator,
    as_json_value,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.api.inputs import OfferType
    from airflow_provider_offers.lineage import Touched


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

    def _touched(self, result: Any) -> Touched:
        return self._written((result["id"], "updated"))


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

    def _touched(self, result: Any) -> Touched:
        return self._written((result["id"], "deleted" if result["deleted"] else "unchanged"))


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


_MOVED_TO_CATALOG = ("SyncOffersOperator", "SyncFallbackOffersOperator", "plan_markdown")


def __getattr__(name: str) -> Any:
    """The catalog sync moved to `operators.catalog`; its old import path keeps working."""
    if name in _MOVED_TO_CATALOG:
        from airflow_provider_offers.operators import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
