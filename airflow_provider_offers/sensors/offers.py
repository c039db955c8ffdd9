"""Wait until an Offer Library offer has changed: poke, reschedule or deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_offers._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    conf,
)
from airflow_provider_offers._task import (
    DEFER_TIMEOUT_GRACE,
    TASK_TEMPLATE_FIELDS,
    OfferLibraryTask,
    TaskMemory,
)

if TYPE_CHECKING:
    from airflow_provider_offers.api.change import Baseline
    from airflow_provider_offers.triggers.offers import OfferChangeTrigger


class OfferChangeSensor(OfferLibraryTask, BaseSensorOperator):
    """Succeed once an offer has changed: its ``etag`` differs from ``since_etag`` or its
    ``modified`` time passed ``since_modified``.

    With neither given, the baseline is what the first check of this try saw; it is kept in the
    task state store (Airflow 3.3) so it holds across reschedules, and handed to the trigger when
    deferring. A retry or a cleared task is a new try and takes a fresh baseline. Each check reads
    the offer as the server's JSON, so an offer our models cannot type is watched like any other.

    A rate limit whose ``Retry-After`` is longer than ``max_retry_after`` defers the sensor (in
    every mode) until the time the server asked for, and no later than its ``timeout``: the
    wait counts toward the timeout, and toward ``max_rate_limit_deferrals``.

    :param offer_id: the offer to watch (templated).
    :param offer_type: ``fallback`` or ``personalized``.
    :param since_etag: done when the offer's etag is different (int or digit string; templated).
    :param since_modified: done when the offer's ``modified`` is later (ISO-8601 with ``Z`` or an
        offset, or an aware datetime; templated).
    :param deferrable: wait in the triggerer instead of holding a worker slot.

    Also the arguments every task takes (``adobe_conn_id``, ``sandbox_name``,
    ``request_timeout``, ``max_attempts``, ``max_retry_after``, ``max_rate_limit_deferrals``);
    the trigger it defers to uses the same.

    Returns (XCom) ``{"id", "etag", "modified", "previous_etag"}``; ``previous_etag`` is the etag
    compared against (``since_etag``, else the first check's), or None when only
    ``since_modified`` was given.
    """

    template_fields: Sequence[str] = (
        "offer_id",
        "since_etag",
        "since_modified",
        *TASK_TEMPLATE_FIELDS,
    )
    ui_color = "#f5e0e0"

    def __init__(
        self,
        *,
        offer_id: str,
        offer_type: str = "fallback",
        since_etag: int | str | None = None,
        since_modified: str | datetime | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.offer_id = offer_id
        self.offer_type = offer_type
        self.since_etag = since_etag
        self.since_modified = since_modified
        self.deferrable = deferrable
        self._baseline: Baseline | None = None
        self._until = datetime.max.replace(tzinfo=timezone.utc)  # the try's deadline

    def _execute(self, context: Context) -> Any:
        from airflow_provider_offers.api.change import given_baseline
        from airflow_provider_offers.api.inputs import parse_id, parse_offer_type

        # Checked before any request, so a bad template fails clearly (and is not retried).
        self.offer_id = parse_id(self.offer_id, "offer_id")
        self.offer_type = parse_offer_type(self.offer_type).value
        self._baseline = given_baseline(self.since_etag, self.since_modified)
        self._baseline = self._baseline or self._load_baseline(context)
        self._until = self._deadline(context)
        self._fail_if_past_deadline("the deadline passed before the offer could be read again")
        if not self.deferrable:
            return BaseSensorOperator.execute(self, context)
        try:
            result = self.poke(context)
        except AirflowFailException as error:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(f"Skipping: {error}") from error
            raise
        if result:
            self.log.info("Offer %s has already changed; not deferring.", self.offer_id)
            return result.xcom_value
        self.defer(
            trigger=self._trigger(self._until),
            method_name="execute_complete",
            timeout=self._until - datetime.now(timezone.utc) + DEFER_TIMEOUT_GRACE,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_offers.api.change import observe
        from airflow_provider_offers.api.errors import (
            TRANSIENT_ERRORS,
            NotFoundError,
            RateLimitedError,
        )

        try:
            offer = self.hook.get_offer_json(self.offer_id, offer_type=self.offer_type)
        except NotFoundError as error:
            raise AirflowFailException(self._not_found_message(error)) from error
        except TRANSIENT_ERRORS as error:
            if isinstance(error, RateLimitedError) and error.beyond_wait_cap:
                raise  # OfferLibraryTask defers until the time asked (or the deadline)
            self.log.warning("Could not read offer %s (%s); will try again.", self.offer_id, error)
            return PokeReturnValue(is_done=False)
        first_look = self._baseline is None
        observation = observe(offer, self._baseline)
        self._baseline = observation.baseline
        if first_look:
            self._save_baseline(context)
        self.log.info("%s", observation.message)
        if observation.change is None:
            # A wait resumed after a long rate limit restarts Airflow's own timeout clock; the
            # try's deadline does not move.
            self._fail_if_past_deadline(f"offer {self.offer_id} did not change")
        return PokeReturnValue(
            is_done=observation.change is not None, xcom_value=observation.change
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's one event into the task's result or failure."""
        status = event.get("status")
        if status == "changed":
            self.log.info("%s", event["message"])
            return event["change"]
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"Sensor has timed out after {self.timeout} s: {event['message']}"
            )
        if status == "not_found":
            raise AirflowFailException(self._not_found_message(event["message"]))
        raise AirflowException(event.get("message", f"Unexpected trigger event: {event!r}"))

    def _baseline_memory(self, context: Context) -> TaskMemory:
        """Where this try keeps the baseline it took (neither since_etag nor since_modified)."""
        return TaskMemory(context, "offer_change_baseline", self.offer_id, per_try=True)

    def _load_baseline(self, context: Context) -> Baseline | None:
        """The baseline an earlier run of this try saved (a reschedule is a fresh instance)."""
        memory = self._baseline_memory(context)
        if not memory.available:
            if self.reschedule and not self.deferrable:
                raise AirflowFailException(
                    "OfferChangeSensor in mode='reschedule' without since_etag or since_modified "
                    "needs Airflow 3.3's task state store to keep its baseline between "
                    "reschedules; give since_etag/since_modified or use poke or deferrable mode."
                )
            return None
        baseline = memory.get()
        return baseline if isinstance(baseline, dict) else None

    def _save_baseline(self, context: Context) -> None:
        self._baseline_memory(context).set(self._baseline)

    def _deadline(self, context: Context) -> datetime:
        """When the wait ends: `timeout` after this try began, so no deferral extends it.

        Kept in the task state store (3.3) for the try, as a resumed or rescheduled run may be
        given a new start date (`dag.test()` gives one after every deferral); without a store,
        counted from the try's start (reschedule mode: its first run, as Airflow's own timeout
        does)."""
        ti = context["ti"]
        memory = TaskMemory(context, "offer_change_deadline", per_try=True)
        saved = memory.get()
        if isinstance(saved, str):
            return datetime.fromisoformat(saved)
        started = ti.start_date
        if self.reschedule:
            first = ti.get_first_reschedule_date(context)
            started = first if isinstance(first, datetime) else started
        deadline = (started or datetime.now(timezone.utc)) + timedelta(seconds=self.timeout)
        memory.set(deadline.isoformat())
        return deadline

    def _rate_limit_deadline(self, context: Context) -> datetime | None:
        """A long rate limit defers the sensor no later than its timeout."""
        return self._until

    def _fail_if_past_deadline(self, why: str) -> None:
        """The timeout holds over the whole try, rate-limit deferrals included."""
        if datetime.now(timezone.utc) < self._until:
            return
        deadline = self._until.isoformat(timespec="seconds")
        message = f"Sensor has timed out after {self.timeout} s (at {deadline}): {why}."
        if self.soft_fail or self.never_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)

    def _trigger(self, deadline: datetime) -> OfferChangeTrigger:
        from airflow_provider_offers.triggers.offers import OfferChangeTrigger

        return OfferChangeTrigger(
            offer_id=self.offer_id,
            offer_type=self.offer_type,
            baseline=self._baseline,
            poll_interval=self.poke_interval,
            deadline=deadline.isoformat(),
            **self.trigger_options,
        )

    def _not_found_message(self, error: object) -> str:
        return (
            f"Offer {self.offer_id!r} ({self.offer_type}) was not found in sandbox "
            f"{self.hook.sandbox_name!r}: it does not exist or was deleted ({error})."
        )
