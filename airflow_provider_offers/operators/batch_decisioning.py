"""`BatchDecisioningOperator`: decide offers for a whole audience into a Platform dataset with
Adobe's Batch Decisioning API, wait until the workload is done, exactly once per task.

Exactly once: before the start is sent, the `x-request-id` it carries is kept in the task state
store (Airflow 3.3); the workload id is kept the moment Adobe answers. A retry, a cleared task
or a killed worker's next try finds it and waits on that workload instead of starting another;
a start whose answer was lost is not re-sent (Adobe documents no de-duplication by
`x-request-id`, nor a way to look a workload up by it) unless `resend_unconfirmed_start` says
so, and then with the same `x-request-id`. A workload that ended in ERROR is not resumed: the
next try starts afresh (as Airflow's `ResumableJobMixin` does). docs/batch-decisioning.md.

Heavy imports (httpx, pydantic, api/) happen inside `execute` so parsing a DAG stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_offers._compat import AirflowException, AirflowFailException, conf
from airflow_provider_offers._task import DEFER_TIMEOUT_GRACE, TASK_TEMPLATE_FIELDS
from airflow_provider_offers.assets import create_asset as platform_dataset_asset
from airflow_provider_offers.assets import parse_dataset_uri
from airflow_provider_offers.operators._base import OfferLibraryOperator, as_json_value

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.api.batch_decisioning import BatchRequest, Verdict, Workload
    from airflow_provider_offers.lineage import Touched

__all__ = ["BatchDecisioningOperator", "platform_dataset_asset"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _positive(value: Any, field: str) -> float:
    from airflow_provider_offers.api.inputs import parse_timeout

    seconds = parse_timeout(value, field)
    if seconds is None:
        from airflow_provider_offers.api.errors import InvalidInputError

        raise InvalidInputError(field, "expected a positive number of seconds")
    return seconds


class BatchDecisioningOperator(OfferLibraryOperator):
    """Start a batch decisioning workload for one audience into one dataset and wait for it.

    Returns ``{"workload_id", "status", "dataset_id", "audience_id", "created", "finished",
    "detail"}`` (``created``: Adobe's ``ode:createDate``; ``finished``: when this task first saw
    the workload done, Adobe's answer has no end time). ``ERROR`` fails the task with Adobe's
    ``ode:statusDetail``. Give the dataset as an outlet (``platform_dataset_asset(...)``) and
    its asset event carries ``workload_id`` and ``status`` in its extra.

    :param audience_id: the audience (segment definition) id, a UUID (templated).
    :param dataset_id: the output dataset's id, 24 hex digits (templated).
    :param propositions: 1 to 30 ``{"decision": <id>, "placement": <id>, "item_count": 1-30}``
        (templated).
    :param include_content: write the offers' content into the decision events.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: seconds between two status reads.
    :param timeout: seconds one try waits, for a slot and for the workload; then it fails (the
        workload goes on at Adobe, and a retry waits on it again).
    :param resend_unconfirmed_start: on a try after a start whose answer was lost, send it again
        with the same ``x-request-id`` instead of failing (may start a second workload).

    Also the arguments every task takes (``adobe_conn_id``, ``sandbox_name``,
    ``request_timeout``, ``max_attempts``, ``max_retry_after``, ``max_rate_limit_deferrals``);
    the trigger it defers to uses the same.
    """

    template_fields: Sequence[str] = (
        "audience_id",
        "dataset_id",
        "propositions",
        *TASK_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"propositions": "json"}

    def __init__(
        self,
        *,
        audience_id: str,
        dataset_id: str,
        propositions: Any,
        include_content: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60.0,
        timeout: float = 12 * 3600.0,
        resend_unconfirmed_start: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audience_id = audience_id
        self.dataset_id = dataset_id
        self.propositions = propositions
        self.include_content = include_content
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.resend_unconfirmed_start = resend_unconfirmed_start

    # -- the request and its memory ---------------------------------------------------------

    def _request(self) -> BatchRequest:
        from airflow_provider_offers.api.batch_decisioning import parse_batch_request

        return parse_batch_request(
            self.audience_id,
            self.dataset_id,
            as_json_value(self.propositions, "propositions"),
            self.include_content,
        )

    def _memory(self, context: Context, request: BatchRequest) -> Any:
        """This task's workload record in the task state store, or None before Airflow 3.3."""
        from airflow_provider_offers._task import TaskMemory

        memory = TaskMemory(
            context,
            "batch_decisioning",
            self.hook.sandbox_name,
            request.dataset_id,
            request.audience_id,
        )
        if not memory.available:
            if not self.__dict__.get("_said_no_store"):  # once per try
                self.__dict__["_said_no_store"] = True
                self.log.warning(
                    "No task state store (Airflow 3.3+ gives tasks one): a retry of this task "
                    "cannot find the workload this try starts, and would start another."
                )
            return None
        return memory

    def _deadline(self, context: Context) -> datetime:
        ti = context.get("ti")
        started = getattr(ti, "start_date", None) or _now()
        return started + timedelta(seconds=_positive(self.timeout, "timeout"))

    # -- execute -------------------------------------------------------------------------------

    def _execute(self, context: Context) -> Any:
        from airflow_provider_offers.api.batch_decisioning import new_request_id

        request = self._request()
        _positive(self.poll_interval, "poll_interval")
        deadline = self._deadline(context)
        memory = self._memory(context, request)
        saved = (memory.get() if memory is not None else None) or {}
        if saved.get("workload_id") and saved.get("state") != "failed":
            self.log.info(
                "Resuming workload %s (started by an earlier try with x-request-id %s)",
                saved["workload_id"],
                saved.get("request_id"),
            )
            return self._wait(context, saved["workload_id"], deadline, request)
        request_id = saved.get("request_id") if saved.get("state") == "refused" else None
        if saved.get("state") == "starting":
            if not self.resend_unconfirmed_start:
                raise AirflowFailException(self._unconfirmed(saved["request_id"]))
            request_id = saved["request_id"]
            self.log.warning("Re-sending the unconfirmed start with x-request-id %s", request_id)
        request_id = request_id or new_request_id()
        record = {"request_id": request_id, "state": "starting"}
        if memory is not None:
            memory.set(record)  # before the start is sent: a lost answer is never re-sent
        workload = self._start(context, memory, record, request)
        if memory is not None:
            memory.set({**record, "state": "started", "workload_id": workload.id})
        self.log.info(
            "Started workload %s (x-request-id %s): audience %s into dataset %s, status %s",
            workload.id,
            request_id,
            request.audience_id,
            request.dataset_id,
            workload.status,
        )
        return self._wait(context, workload.id, deadline, request)

    def _start(self, context: Context, memory: Any, record: dict, request: BatchRequest):
        from airflow_provider_offers.api.errors import (
            OfferLibraryError,
            OutcomeUnknownError,
            RateLimitedError,
        )

        deadline = self._deadline(context)
        while True:
            try:
                return self.hook.start_batch_decisioning(request, record["request_id"])
            except OutcomeUnknownError as error:
                message = f"{error}; {self._unconfirmed(record['request_id'])}"
                raise AirflowFailException(message) from None
            except OfferLibraryError as error:
                if memory is not None:  # refused: nothing started, a re-send is safe
                    memory.set({**record, "state": "refused"})
                if not isinstance(error, RateLimitedError):
                    raise
                wait = max(float(error.retry_after or 0), float(self.poll_interval))
            if _now() + timedelta(seconds=wait) > deadline:
                raise AirflowException(
                    f"Dataset {request.dataset_id}: the start was still refused (rate limit or "
                    f"Adobe's 5-jobs-per-dataset limit) at timeout={self.timeout} s"
                )
            self.log.warning("Start refused for now (429); trying again in %g s", wait)
            if self.deferrable:
                from airflow.providers.standard.triggers.temporal import DateTimeTrigger

                self.defer(
                    trigger=DateTimeTrigger(moment=_now() + timedelta(seconds=wait)),
                    method_name="resume_start",
                )
            time.sleep(wait)

    def resume_start(self, context: Context, event: Any = None) -> Any:
        """Where a start refused for now resumes: the task's work again, same x-request-id."""
        return self._run(context, rate_limit_deferrals=0)

    def _unconfirmed(self, request_id: str) -> str:
        return (
            f"the answer to the batch start with x-request-id {request_id} was lost: a workload "
            "may or may not have been started, and Adobe documents no way to find it by that "
            "id. Not re-sent (a second workload). Ask Adobe support with the x-request-id, or "
            "set resend_unconfirmed_start=True to send it again with the same x-request-id."
        )

    # -- waiting -------------------------------------------------------------------------------

    def _look(self, workload_id: str) -> tuple[Workload, Verdict] | None:
        from airflow_provider_offers.api.batch_decisioning import judge
        from airflow_provider_offers.api.errors import TRANSIENT_ERRORS

        try:
            workload = self.hook.get_batch_workload(workload_id)
        except TRANSIENT_ERRORS as error:
            self.log.warning("Could not read workload %s (%s); will try again.", workload_id, error)
            return None
        return workload, judge(workload)

    def _wait(self, context: Context, workload_id: str, deadline: datetime, request) -> Any:
        status = "unknown"
        while True:
            seen = self._look(workload_id)
            if seen is not None:
                workload, verdict = seen
                if verdict.state != "waiting":
                    return self._finish(context, workload, verdict, request)
                status = verdict.status
                self.log.info("Workload %s is %s", workload_id, status)
            now = _now()
            if now >= deadline:
                raise AirflowException(self._timed_out(workload_id, status))
            if self.deferrable:
                self.defer(
                    trigger=self._trigger(workload_id, deadline),
                    method_name="execute_complete",
                    timeout=deadline - now + DEFER_TIMEOUT_GRACE,
                )
            time.sleep(min(float(self.poll_interval), (deadline - now).total_seconds()))

    def _trigger(self, workload_id: str, deadline: datetime):
        from airflow_provider_offers.triggers.batch_decisioning import BatchDecisioningTrigger

        return BatchDecisioningTrigger(
            workload_id=workload_id,
            poll_interval=float(self.poll_interval),
            deadline=deadline.isoformat(),
            **self.trigger_options,
        )

    def _timed_out(self, workload_id: str, status: str) -> str:
        return (
            f"Workload {workload_id} was not done within timeout={self.timeout} s (last status "
            f"{status}); it goes on at Adobe, and a retry of this task waits on it again."
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Turn the trigger's event into the task's result or failure."""
        from airflow_provider_offers.api.batch_decisioning import Workload, judge

        status = event.get("status")
        if status in ("done", "failed"):
            workload = Workload.model_validate(event["workload"])
            return self._finish(context, workload, judge(workload), self._request())
        if status == "timeout":
            last = (event.get("workload") or {}).get("ode:status", "unknown")
            raise AirflowException(self._timed_out(event["workload_id"], last))
        raise AirflowException(event.get("message", f"Unexpected trigger event: {event!r}"))

    def _finish(self, context: Context, workload: Workload, verdict: Verdict, request) -> Any:
        memory = self._memory(context, request)
        saved = (memory.get() if memory is not None else None) or {}
        finished = saved.get("finished") or _now().isoformat(timespec="seconds")
        state = "done" if verdict.state == "done" else "failed"
        if memory is not None:
            memory.set({**saved, "workload_id": workload.id, "state": state, "finished": finished})
        if state == "failed":
            raise AirflowFailException(
                f"Batch decisioning workload {workload.id} (audience {request.audience_id} into "
                f"dataset {request.dataset_id}) ended in ERROR: {verdict.detail}"
            )
        result = {
            "workload_id": workload.id,
            "status": verdict.status,
            "dataset_id": request.dataset_id,
            "audience_id": request.audience_id,
            "created": workload.created,
            "finished": finished,
            "detail": verdict.detail,
        }
        self._mark_outlets(context, result)
        dataset = request.dataset_id
        self.log.info("Workload %s is %s: dataset %s", workload.id, verdict.status, dataset)
        return result

    def _touched(self, result: Any) -> Touched:
        """Read: the audience, each decision and placement asked for; written: the dataset."""
        from airflow_provider_offers import lineage

        sandbox = self.hook.sandbox_name
        objects = []
        for proposition in self._request().propositions:
            objects.append(lineage.object_name(sandbox, "offer-decisions", proposition.decision_id))
            objects.append(lineage.object_name(sandbox, "placements", proposition.placement_id))
        return lineage.Touched(
            inputs=(lineage.audience_name(sandbox, result["audience_id"]), *dict.fromkeys(objects)),
            outputs=((lineage.dataset_name(sandbox, result["dataset_id"]), None),),
            external_job_id=result["workload_id"],
        )

    def _mark_outlets(self, context: Context, result: dict[str, Any]) -> None:
        """The workload id and status on the dataset outlet's asset event."""
        marked = False
        for outlet in self.outlets or ():
            where = parse_dataset_uri(getattr(outlet, "uri", "") or "")
            if where is None or where[2] != result["dataset_id"].lower():
                continue
            if where[:2] != (self.hook.config.org_id, self.hook.sandbox_name):
                self.log.warning(
                    "Outlet %s names org/sandbox %s, but the workload ran in %s/%s",
                    outlet.uri,
                    "/".join(where[:2]),
                    self.hook.config.org_id,
                    self.hook.sandbox_name,
                )
            events = context["outlet_events"][outlet]
            events.extra = {
                **(events.extra or {}),
                "workload_id": result["workload_id"],
                "status": result["status"],
                "audience_id": result["audience_id"],
            }
            marked = True
        if not marked:
            self.log.info(
                "No outlet names dataset %s: give outlets=[platform_dataset_asset(org_id=..., "
                "sandbox_name=..., dataset_id=...)] to start downstream DAGs from it",
                result["dataset_id"],
            )
