"""Operators that create, patch and delete Offer Library offers, safe to run again.

Every operator here is declarative and re-runnable (retries, cleared tasks, backfills): the
logic that makes it so lives in `airflow_provider_offers.api.reconcile` and `api.diff`, which
know nothing of Airflow; these classes validate input after templating, call it with the hook,
and return JSON for XCom. Heavy imports (httpx, pydantic, jsonpatch, api/) happen inside
`execute` so that parsing a DAG file stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import suppress
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_offers.api.reconcile import Journal, Result
    from airflow_provider_offers.hooks.offers import OfferLibraryHook

DEFAULT_CONN_ID = "adobe_offers_default"
OFFER_TYPES = ("fallback", "personalized")

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
        offer_type = getattr(operator, "offer_type", "fallback")
        return offer_ui_url(value["id"], value["sandbox"], offer_type, tenant)


def _as_json_value(value: Any, field: str) -> Any:
    """Models become Adobe's JSON; a JSON string (say, from a templated XCom) is parsed."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise AirflowFailException(f"{field}: not valid JSON ({exc})") from None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_as_json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
    return value


def _check_offer_type(offer_type: str) -> None:
    if offer_type not in OFFER_TYPES:
        raise AirflowFailException(f"offer_type: must be one of {OFFER_TYPES}, got {offer_type!r}")


class _OfferOperator(BaseOperator):
    """What every offer operator takes.

    :param offer_type: `"fallback"` or `"personalized"` (the `offer-type` of the DPS calls).
    :param adobe_conn_id: an `adobe_offers` connection.
    :param sandbox_name: overrides the connection's sandbox (templated).
    """

    ui_color = "#fa0f00"

    def __init__(
        self,
        *,
        offer_type: str,
        adobe_conn_id: str = DEFAULT_CONN_ID,
        sandbox_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer_type = offer_type
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            return self._execute(context)
        finally:
            if "hook" in self.__dict__:
                self.hook.close()  # the client's connection pool

    def _execute(self, context: Context) -> dict[str, Any]:
        raise NotImplementedError

    @cached_property
    def hook(self) -> OfferLibraryHook:
        from airflow_provider_offers.hooks.offers import OfferLibraryHook

        return OfferLibraryHook(adobe_conn_id=self.adobe_conn_id, sandbox_name=self.sandbox_name)

    def _store(self):
        from airflow_provider_offers.operators._store import HookOfferStore

        return HookOfferStore(self.hook, self.offer_type)

    def _journal(self, context: Context, purpose: str) -> Journal | None:
        """Task-retry memory in Airflow's task state store (3.3+); None where there is none."""
        store = context.get("task_state_store")
        if store is None:
            self.log.info("No task state store: retries cannot recognise this task's own writes")
            return None
        from airflow_provider_offers.operators._store import TaskStateJournal

        key = f"adobe_offers:{purpose}:{self.offer_type}:{self.hook.sandbox_name}"
        return TaskStateJournal(store, key)

    def _xcom(self, result: Result) -> dict[str, Any]:
        """The offer's identity and version after the step: small, JSON, no secrets."""
        return {
            "id": result.id,
            "etag": result.etag,
            "lastModifiedDate": result.last_modified,
            "sandbox": self.hook.sandbox_name,
        }


class CreateOfferOperator(_OfferOperator):
    """Make sure an offer with this name exists in the sandbox and carries the given fields.

    The offer's `name` is its natural key within the sandbox. `if_exists` says what to do when
    an offer of that name is already there: `"update"` brings the fields given in `offer` to
    the given values with the smallest JSON Patch (other fields are left alone, nothing is sent
    when nothing differs), `"skip"` leaves it as it is, `"fail"` fails the task naming its id.
    A create whose outcome is unknown is reconciled by name, within the task and across task
    retries: never two offers with one name.

    Returns `{"id", "name", "etag", "lastModifiedDate", "sandbox", "action"}` with action
    `created`, `updated` or `unchanged`.
    """

    template_fields: Sequence[str] = ("offer", "if_exists", "sandbox_name")
    template_fields_renderers = {"offer": "json"}
    operator_extra_links = (AdobeOfferLink(),)

    def __init__(
        self,
        *,
        offer: Any,
        if_exists: str = "update",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer = (
            offer.model_dump(mode="json", by_alias=True, exclude_none=True)
            if hasattr(offer, "model_dump")
            else offer
        )
        self.if_exists = if_exists

    def _execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_offers.api import reconcile

        _check_offer_type(self.offer_type)
        if self.if_exists not in reconcile.IF_EXISTS_MODES:
            raise AirflowFailException(
                f"if_exists: must be one of {reconcile.IF_EXISTS_MODES}, got {self.if_exists!r}"
            )
        from airflow_provider_offers.operators._store import validate_offer

        desired = validate_offer(_as_json_value(self.offer, "offer"), self.offer_type)
        try:
            result = reconcile.ensure_offer(
                self._store(),
                desired,
                if_exists=self.if_exists,
                journal=self._journal(context, "create"),
            )
        except reconcile.OfferExistsError as exc:
            raise AirflowFailException(
                f"{exc} in sandbox {self.hook.sandbox_name!r} (if_exists='fail')"
            ) from None
        self.log.info(
            "Offer %r (%s) in sandbox %r: %s, etag %s",
            result.name,
            result.id,
            self.hook.sandbox_name,
            result.action,
            result.etag,
        )
        return self._xcom(result) | {"name": result.name, "action": result.action}


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
    """

    template_fields: Sequence[str] = ("offer_id", "operations", "expected_etag", "sandbox_name")
    template_fields_renderers = {"operations": "json"}
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
        from airflow_provider_offers.operators._store import (
            validate_expected_etag,
            validate_offer_id,
            validate_operations,
        )

        _check_offer_type(self.offer_type)
        offer_id = validate_offer_id(self.offer_id)
        operations = validate_operations(_as_json_value(self.operations, "operations"))
        expected_etag = validate_expected_etag(self.expected_etag)
        try:
            result = reconcile.patch_offer(
                self._store(),
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
    """

    template_fields: Sequence[str] = ("offer_id", "sandbox_name")

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
        from airflow_provider_offers.operators._store import validate_offer_id

        _check_offer_type(self.offer_type)
        offer_id = validate_offer_id(self.offer_id)
        try:
            self.hook.delete_offer(offer_id, offer_type=self.offer_type)
            deleted = True
        except NotFoundError:
            self.log.info(
                "Offer %s is already gone from sandbox %r", offer_id, self.hook.sandbox_name
            )
            deleted = False
        return {"id": offer_id, "sandbox": self.hook.sandbox_name, "deleted": deleted}


class CreateFallbackOfferOperator(CreateOfferOperator):
    """`CreateOfferOperator` for fallback offers (the offer a decision serves when none fits)."""

    def __init__(self, *, offer: Any, if_exists: str = "update", **kwargs: Any) -> None:
        super().__init__(offer=offer, offer_type="fallback", if_exists=if_exists, **kwargs)


class PatchFallbackOfferOperator(PatchOfferOperator):
    """`PatchOfferOperator` for fallback offers."""

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
    """`DeleteOfferOperator` for fallback offers."""

    def __init__(self, *, offer_id: str, **kwargs: Any) -> None:
        super().__init__(offer_id=offer_id, offer_type="fallback", **kwargs)
