"""Wait until an Offer Library offer has changed: poke, reschedule or deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue, conf
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

if TYPE_CHECKING:
    from airflow_provider_offers.hooks.offers import OfferLibraryHook

OFFER_TYPES = ("fallback", "personalized")

#: task_state_store key of the baseline taken when neither since_etag nor since_modified is given.
BASELINE_KEY = "offer_change_baseline"

#: Extra time the triggerer grants past the sensor's own deadline. The trigger normally reports
#: the timeout itself (after one last look at the offer); this only catches a trigger that hangs.
_DEFER_TIMEOUT_GRACE = timedelta(minutes=5)


class OfferChangeSensor(BaseSensorOperator):
    """Succeed once an offer has changed: its ``etag`` passed ``since_etag`` or its ``modified``
    time passed ``since_modified``.

    With neither given, the baseline is what the first check of this try saw; it is kept in the
    task state store (Airflow 3.3) so it holds across reschedules, and handed to the trigger when
    deferring. A retry or a cleared task is a new try and takes a fresh baseline.

    :param offer_id: the offer to watch (templated).
    :param offer_type: ``fallback`` or ``personalized``.
    :param since_etag: done when the offer's etag is greater (int or digit string; templated).
    :param since_modified: done when the offer's ``modified`` is later (ISO-8601 with ``Z`` or an
        offset, or an aware datetime; templated).
    :param adobe_conn_id: the ``adobe_offers`` connection.
    :param sandbox_name: overrides the connection's sandbox (templated).
    :param deferrable: wait in the triggerer instead of holding a worker slot.

    Returns (XCom) ``{"id", "etag", "modified", "previous_etag"}``; ``previous_etag`` is the etag
    compared against (``since_etag``, else the first check's), or None when only
    ``since_modified`` was given.
    """

    template_fields: Sequence[str] = ("offer_id", "since_etag", "since_modified", "sandbox_name")
    ui_color = "#f5e0e0"

    def __init__(
        self,
        *,
        offer_id: str,
        offer_type: str = "fallback",
        since_etag: int | str | None = None,
        since_modified: str | datetime | None = None,
        adobe_conn_id: str = "adobe_offers_default",
        sandbox_name: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer_id = offer_id
        self.offer_type = offer_type
        self.since_etag = since_etag
        self.since_modified = since_modified
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name
        self.deferrable = deferrable
        self._baseline: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> OfferLibraryHook:
        from airflow_provider_offers.hooks.offers import OfferLibraryHook

        return OfferLibraryHook(adobe_conn_id=self.adobe_conn_id, sandbox_name=self.sandbox_name)

    def execute(self, context: Context) -> Any:
        try:
            return self._wait(context)
        finally:
            if "hook" in self.__dict__:
                self.hook.close()

    def _wait(self, context: Context) -> Any:
        from airflow_provider_offers.api.errors import InvalidInputError

        try:
            explicit = self._explicit_baseline()
        except InvalidInputError as error:
            # A retry cannot fix a bad (rendered) input: fail now, without retries.
            raise AirflowFailException(f"invalid input, nothing was sent: {error}") from None
        self._baseline = explicit or self._load_baseline(context)
        if not self.deferrable:
            return super().execute(context)
        try:
            result = self.poke(context)
        except AirflowFailException as error:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(f"Skipping: {error}") from error
            raise
        if result:
            self.log.info("Offer %s has already changed; not deferring.", self.offer_id)
            return result.xcom_value
        deadline = self._deadline(context)
        self.defer(
            trigger=self._trigger(deadline),
            method_name="execute_complete",
            timeout=deadline - datetime.now(timezone.utc) + _DEFER_TIMEOUT_GRACE,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_offers.api.change import (
            baseline_of,
            has_offer_changed,
            offer_snapshot,
        )
        from airflow_provider_offers.api.errors import TRANSIENT_ERRORS, NotFoundError

        try:
            offer = self.hook.get_offer(self.offer_id, offer_type=self.offer_type)
        except NotFoundError as error:
            raise AirflowFailException(self._not_found_message(error)) from error
        except TRANSIENT_ERRORS as error:
            self.log.warning("Could not read offer %s (%s); will try again.", self.offer_id, error)
            return PokeReturnValue(is_done=False)
        seen = offer_snapshot(offer)
        if self._baseline is None:
            self._baseline = baseline_of(seen)
            self._save_baseline(context)
            self.log.info(
                "Offer %s: baseline etag %s, modified %s; waiting for a change.",
                self.offer_id,
                seen["etag"],
                seen["modified"],
            )
            return PokeReturnValue(is_done=False)
        changed = has_offer_changed(
            seen["etag"],
            seen["modified"],
            since_etag=self._baseline["since_etag"],
            since_modified=self._baseline["since_modified"],
        )
        if not changed:
            self.log.info("Offer %s unchanged (etag %s).", self.offer_id, seen["etag"])
            return PokeReturnValue(is_done=False)
        self.log.info(
            "Offer %s changed: etag %s -> %s.",
            self.offer_id,
            self._baseline["previous_etag"],
            seen["etag"],
        )
        return PokeReturnValue(
            is_done=True, xcom_value={**seen, "previous_etag": self._baseline["previous_etag"]}
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's one event into the task's result or failure."""
        status = event.get("status")
        if status == "changed":
            self.log.info(
                "Offer %s changed: etag %s -> %s.",
                self.offer_id,
                event["previous_etag"],
                event["etag"],
            )
            return {key: event[key] for key in ("id", "etag", "modified", "previous_etag")}
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"Sensor has timed out after {self.timeout} s: {event['message']}"
            )
        if status == "not_found":
            raise AirflowFailException(self._not_found_message(event["message"]))
        raise AirflowException(event.get("message", f"Unexpected trigger event: {event!r}"))

    def _explicit_baseline(self) -> dict[str, Any] | None:
        """Check the rendered inputs before any request (so a bad template fails clearly, naming
        the field) and return the baseline they give, if any."""
        from airflow_provider_offers.api.change import parse_etag, parse_modified
        from airflow_provider_offers.api.errors import InvalidInputError

        if not isinstance(self.offer_id, str) or not self.offer_id.strip():
            raise InvalidInputError("offer_id", f"{self.offer_id!r} is not an offer id")
        if self.offer_type not in OFFER_TYPES:
            raise InvalidInputError(
                "offer_type", f"{self.offer_type!r} is not one of {', '.join(OFFER_TYPES)}"
            )
        since_etag = parse_etag(self.since_etag, "since_etag")
        since_modified = parse_modified(self.since_modified, "since_modified")
        if since_etag is None and since_modified is None:
            return None
        return {
            "previous_etag": since_etag,
            "since_etag": since_etag,
            "since_modified": since_modified.isoformat() if since_modified else None,
        }

    def _load_baseline(self, context: Context) -> dict[str, Any] | None:
        """The baseline an earlier run of this try saved (a reschedule is a fresh instance)."""
        store = context.get("task_state_store")
        if store is None:
            if self.reschedule and not self.deferrable:
                raise AirflowFailException(
                    "OfferChangeSensor in mode='reschedule' without since_etag or since_modified "
                    "needs Airflow 3.3's task state store to keep its baseline between "
                    "reschedules; give since_etag/since_modified or use poke or deferrable mode."
                )
            return None
        saved = store.get(BASELINE_KEY)
        if (
            isinstance(saved, dict)
            and saved.get("try_number") == context["ti"].try_number
            and saved.get("offer_id") == self.offer_id
        ):
            return saved["baseline"]
        return None

    def _save_baseline(self, context: Context) -> None:
        store = context.get("task_state_store")
        if store is not None:
            store.set(
                BASELINE_KEY,
                {
                    "try_number": context["ti"].try_number,
                    "offer_id": self.offer_id,
                    "baseline": self._baseline,
                },
            )

    def _deadline(self, context: Context) -> datetime:
        """When the wait ends, anchored on this try's start so a re-deferral cannot extend it."""
        started = context["ti"].start_date or datetime.now(timezone.utc)
        return started + timedelta(seconds=self.timeout)

    def _trigger(self, deadline: datetime):
        from airflow_provider_offers.triggers.offers import OfferChangeTrigger

        baseline = self._baseline or {}
        return OfferChangeTrigger(
            offer_id=self.offer_id,
            offer_type=self.offer_type,
            since_etag=baseline.get("since_etag"),
            since_modified=baseline.get("since_modified"),
            previous_etag=baseline.get("previous_etag"),
            adobe_conn_id=self.adobe_conn_id,
            sandbox_name=self.sandbox_name,
            poll_interval=self.poke_interval,
            deadline=deadline.isoformat(),
        )

    def _not_found_message(self, error: object) -> str:
        return (
            f"Offer {self.offer_id!r} ({self.offer_type}) was not found in sandbox "
            f"{self.hook.sandbox_name!r}: it does not exist or was deleted ({error})."
        )
