"""Wait for a batch decisioning workload started elsewhere (another DAG, a script, the UI):
poke, reschedule or deferrable, with the operator's and the trigger's status rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from airflow_provider_offers._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    conf,
)
from airflow_provider_offers._task import (
    DEFER_TIMEOUT_GRACE,
    TASK_TEMPLATE_FIELDS,
    OfferLibraryTask,
)

if TYPE_CHECKING:
    from airflow_provider_offers.api.batch_decisioning import Verdict, Workload


class BatchDecisioningWorkloadSensor(OfferLibraryTask, BaseSensorOperator):
    """Succeed once the workload is ``COMPLETED``; fail with Adobe's detail on ``ERROR``.

    Returns ``{"workload_id", "status", "created", "detail"}``. QUEUED, PROCESSING, INGESTING
    (and a status Adobe's page does not name, logged) mean "not yet"; a transient error (429,
    5xx, network) is logged and the next poke tries again.

    :param workload_id: the workload's id (a UUID; templated).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).

    Also ``poke_interval``, ``timeout``, ``mode`` (Airflow's sensor arguments) and the arguments
    every task takes (``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after``, ``max_rate_limit_deferrals``); the trigger it defers
    to uses the same.
    """

    template_fields: Sequence[str] = ("workload_id", *TASK_TEMPLATE_FIELDS)
    ui_color = "#f5e0e0"

    def __init__(
        self,
        *,
        workload_id: str,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workload_id = workload_id
        self.deferrable = deferrable

    def _execute(self, context: Context) -> Any:
        from airflow_provider_offers.api.batch_decisioning import parse_workload_id

        self.workload_id = parse_workload_id(self.workload_id)
        if not self.deferrable:
            return BaseSensorOperator.execute(self, context)
        result = self.poke(context)
        if result:
            return result.xcom_value
        started = context["ti"].start_date or datetime.now(timezone.utc)
        deadline = started + timedelta(seconds=self.timeout)
        from airflow_provider_offers.triggers.batch_decisioning import BatchDecisioningTrigger

        self.defer(
            trigger=BatchDecisioningTrigger(
                workload_id=self.workload_id,
                poll_interval=self.poke_interval,
                deadline=deadline.isoformat(),
                **self.trigger_options,
            ),
            method_name="execute_complete",
            timeout=deadline - datetime.now(timezone.utc) + DEFER_TIMEOUT_GRACE,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_offers.api.batch_decisioning import judge
        from airflow_provider_offers.api.errors import TRANSIENT_ERRORS

        try:
            workload = self.hook.get_batch_workload(self.workload_id)
        except TRANSIENT_ERRORS as error:
            self.log.warning(
                "Could not read workload %s (%s); will try again.", self.workload_id, error
            )
            return PokeReturnValue(is_done=False)
        verdict = judge(workload)
        self.log.info("Workload %s is %s", self.workload_id, verdict.status)
        return PokeReturnValue(
            is_done=self._settle(workload, verdict), xcom_value=_result(workload, verdict)
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_offers.api.batch_decisioning import Workload, judge

        status = event.get("status")
        if status in ("done", "failed"):
            workload = Workload.model_validate(event["workload"])
            verdict = judge(workload)
            self._settle(workload, verdict)
            return _result(workload, verdict)
        if status == "timeout":
            raise AirflowSensorTimeout(
                f"Sensor has timed out after {self.timeout} s: workload {self.workload_id} "
                "was not done"
            )
        raise AirflowException(event.get("message", f"Unexpected trigger event: {event!r}"))

    def _settle(self, workload: Workload, verdict: Verdict) -> bool:
        if verdict.state == "failed":
            raise AirflowFailException(
                f"Batch decisioning workload {workload.id} ended in ERROR: {verdict.detail}"
            )
        return verdict.state == "done"


def _result(workload: Workload, verdict: Verdict) -> dict[str, Any]:
    return {
        "workload_id": workload.id,
        "status": verdict.status,
        "created": workload.created,
        "detail": verdict.detail,
    }
