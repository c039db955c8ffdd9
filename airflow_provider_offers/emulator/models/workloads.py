"""Batch Decisioning workloads (`/data/core/dwm/workloads/decisions`, API doc 16.3): state and
rules, no HTTP.

Adobe's page: a POST names exactly one audience (`xdm:segmentIds`), the output dataset
(`xdm:dataSetId`) and proposition requests (`xdm:activityId`, `xdm:placementId`, `xdm:itemCount`
1-30), optionally `xdm:includeContent`; it is answered with the workload's `@id`, the org, its
`ode:createDate` (epoch milliseconds) and `ode:status` `QUEUED`. The status then goes
`PROCESSING`, `INGESTING`, `COMPLETED` or `ERROR` (`ode:statusDetail`: the Spark job and batch
while it runs, what went wrong on error). "Up to five batch jobs can be run at a time, per
dataset. Any other batch requests with the same output dataset are added to the queue."

Our choices where the page is silent (fields of `EmulatorConfig`): how long each step takes
(`workload_step_seconds`; zero: the next read sees the workload done), what a workload ends in
(`workload_outcome`: `COMPLETED`, `ERROR` or `stuck`, which stays `PROCESSING`), and whether a
start beyond the per-dataset limit is queued (the page) or refused with a 429
(`workload_limit_answer`). A decision that does not exist, is not live, or whose criteria do
not name the placement makes the workload end in `ERROR`: the start itself is accepted.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config import EmulatorConfig
from ..exceptions import EmulatorError, problem

STEPS = ("QUEUED", "PROCESSING", "INGESTING")
TERMINAL = ("COMPLETED", "ERROR")
OUTCOMES = ("COMPLETED", "ERROR", "stuck")
LIMIT_ANSWERS = ("queue", "429")
BODY_MEMBERS = frozenset(
    {"xdm:segmentIds", "xdm:dataSetId", "xdm:propositionRequests", "xdm:includeContent"}
)
ITEM_MEMBERS = frozenset({"xdm:activityId", "xdm:placementId", "xdm:itemCount"})


def _bad(detail: str) -> EmulatorError:
    return problem(400, detail, service="DWM", code=400)


@dataclass
class Workload:
    ident: str
    org_id: str
    sandbox: str
    dataset_id: str
    audience_id: str
    request_id: str
    created: datetime
    outcome: str
    error_detail: str | None
    started: datetime | None = None  # when it took one of the dataset's slots
    ended: datetime | None = None
    status: str = "QUEUED"
    spark_job_id: str = field(default_factory=lambda: secrets.token_hex(8))
    batch_id: str = field(default_factory=lambda: secrets.token_hex(12).upper())

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@id": self.ident,
            "xdm:imsOrgId": self.org_id,
            "ode:createDate": int(self.created.timestamp() * 1000),
            "ode:status": self.status,
        }
        if self.status in ("PROCESSING", "INGESTING"):
            body["ode:statusDetail"] = {"sparkJobId": self.spark_job_id, "batchId": self.batch_id}
        elif self.status == "ERROR":
            body["ode:statusDetail"] = self.error_detail
        return body


def parse_body(body: Any, config: EmulatorConfig) -> tuple[str, str, list[tuple[str, str, int]]]:
    """The documented body, checked: (audience, dataset, [(decision, placement, count)])."""
    if not isinstance(body, dict):
        raise _bad("body: must be a JSON object")
    unknown = sorted(set(body) - BODY_MEMBERS)
    if unknown and config.reject_unknown_fields:
        raise _bad(f"{unknown[0]}: unknown member")
    segments = body.get("xdm:segmentIds")
    if not isinstance(segments, list) or len(segments) != 1:
        raise _bad("xdm:segmentIds: must contain exactly one audience id")
    if not isinstance(segments[0], str) or not segments[0]:
        raise _bad("xdm:segmentIds[0]: must be a non-empty string")
    dataset = body.get("xdm:dataSetId")
    if not isinstance(dataset, str) or not dataset:
        raise _bad("xdm:dataSetId: is required")
    requests = body.get("xdm:propositionRequests")
    if not isinstance(requests, list) or not requests:
        raise _bad("xdm:propositionRequests: at least one proposition request is required")
    items = []
    for i, item in enumerate(requests):
        where = f"xdm:propositionRequests[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"{where}: must be a JSON object")
        extra = sorted(set(item) - ITEM_MEMBERS)
        if extra and config.reject_unknown_fields:
            raise _bad(f"{where}.{extra[0]}: unknown member")
        for key in ("xdm:activityId", "xdm:placementId"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise _bad(f"{where}.{key}: is required")
        count = item.get("xdm:itemCount", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise _bad(f"{where}.xdm:itemCount: must be an integer")
        if not 1 <= count <= config.max_item_count:
            raise _bad(f"{where}.xdm:itemCount: must be between 1 and {config.max_item_count}")
        items.append((item["xdm:activityId"], item["xdm:placementId"], count))
    if not isinstance(body.get("xdm:includeContent", False), bool):
        raise _bad("xdm:includeContent: must be true or false")
    return segments[0], dataset, items


def _unique_part(ident: str) -> str:
    """`offer-activity:<hex>` of `xcore:offer-activity:<hex>` or `dps:offer-activity:<hex>`."""
    return ident.split(":", 1)[1] if ident.count(":") >= 2 else ident


def _problem_with(items: list[tuple[str, str, int]], find: Any) -> str | None:
    """Why the decisions cannot be made (the workload's ERROR detail), or None."""
    for decision_id, placement_id, _ in items:
        decision = find("offer-decision", decision_id)
        if decision is None:
            return f"Decision {decision_id} was not found in the sandbox"
        if decision.get("status") != "live":
            return f"Decision {decision_id} is not live (status {decision.get('status')!r})"
        placements = {
            _unique_part(p) for c in decision.get("criteria", []) for p in c.get("placements", [])
        }
        if _unique_part(placement_id) not in placements:
            return f"Placement {placement_id} is not one of decision {decision_id}'s placements"
    return None


class WorkloadBook:
    """Every workload of one emulator; the caller holds the backend's lock."""

    def __init__(self) -> None:
        self.workloads: dict[str, Workload] = {}

    def start(
        self,
        *,
        org_id: str,
        sandbox: str,
        body: Any,
        request_id: str,
        config: EmulatorConfig,
        find: Any,
    ) -> dict[str, Any]:
        audience, dataset, items = parse_body(body, config)
        now = config.clock()
        self.advance(config, now)
        if (
            config.workload_limit_answer == "429"
            and len(self._running(org_id, sandbox, dataset)) >= config.workload_dataset_limit
        ):
            raise EmulatorError(
                429,
                {
                    "error_code": "429050",
                    "message": f"Too many batch jobs for dataset {dataset}: at most "
                    f"{config.workload_dataset_limit} run at a time",
                },
                headers={"retry-after": f"{config.workload_limit_retry_after:g}"},
            )
        reason = _problem_with(items, find)
        outcome = config.workload_outcome  # stuck: never ends, whatever the decisions
        if reason and outcome != "stuck":
            outcome = "ERROR"
        workload = Workload(
            ident=str(uuid.uuid4()),
            org_id=org_id,
            sandbox=sandbox,
            dataset_id=dataset,
            audience_id=audience,
            request_id=request_id,
            created=now,
            outcome=outcome,
            error_detail=reason or config.workload_error_detail,
        )
        self.workloads[workload.ident] = workload
        answer = workload.answer()  # QUEUED, as the page shows, whatever comes next
        self.advance(config, now)
        return answer

    def get(self, org_id: str, sandbox: str, ident: str, config: EmulatorConfig) -> dict:
        self.advance(config, config.clock())
        workload = self.workloads.get(ident)
        if workload is None or (workload.org_id, workload.sandbox) != (org_id, sandbox):
            raise problem(404, f"Workload {ident} was not found", service="DWM", code=404)
        return workload.answer()

    def in_dataset(self, dataset_id: str) -> list[Workload]:
        """The workloads writing into a dataset, oldest first (tests read them)."""
        return [w for w in self.workloads.values() if w.dataset_id == dataset_id]

    def _running(self, org_id: str, sandbox: str, dataset: str) -> list[Workload]:
        return [
            w
            for w in self.workloads.values()
            if (w.org_id, w.sandbox, w.dataset_id) == (org_id, sandbox, dataset)
            and w.started is not None
            and w.status not in TERMINAL
        ]

    def advance(self, config: EmulatorConfig, now: datetime) -> None:
        """Bring every workload to where `now` puts it: finish, then fill freed slots."""
        steps = [timedelta(seconds=s) for s in config.workload_step_seconds]
        moved = True
        while moved:
            moved = False
            for workload in self.workloads.values():
                if workload.status in TERMINAL:
                    continue
                if workload.started is None:
                    running = self._running(workload.org_id, workload.sandbox, workload.dataset_id)
                    if len(running) >= config.workload_dataset_limit:
                        continue
                    freed = [w.ended for w in self._ended_in(workload) if w.ended is not None]
                    workload.started = max([workload.created, *freed[-1:]])
                    moved = True
                before = workload.status
                workload.status = self._status_at(workload, steps, now)
                moved = moved or workload.status != before

    def _ended_in(self, workload: Workload) -> list[Workload]:
        return sorted(
            (
                w
                for w in self.workloads.values()
                if (w.org_id, w.sandbox, w.dataset_id)
                == (workload.org_id, workload.sandbox, workload.dataset_id)
                and w.ended is not None
                and w.ended > workload.created
            ),
            key=lambda w: w.ended or w.created,
        )

    @staticmethod
    def _status_at(workload: Workload, steps: list[timedelta], now: datetime) -> str:
        assert workload.started is not None
        elapsed = now - workload.started
        for name, duration in zip(STEPS, steps, strict=True):
            if workload.outcome == "stuck" and name == "PROCESSING":
                return name
            if elapsed < duration:
                return name
            elapsed -= duration
        workload.ended = now - elapsed
        return "ERROR" if workload.outcome == "ERROR" else "COMPLETED"


def check_config(config: EmulatorConfig) -> None:
    """The `workload_*` settings of `EmulatorConfig` (a JSON list of steps becomes a tuple)."""
    steps = tuple(config.workload_step_seconds)
    if len(steps) != len(STEPS) or any(
        isinstance(s, bool) or not isinstance(s, int | float) or s < 0 for s in steps
    ):
        raise ValueError("workload_step_seconds: three durations (seconds, zero or more)")
    object.__setattr__(config, "workload_step_seconds", tuple(float(s) for s in steps))
    if config.workload_outcome not in OUTCOMES:
        raise ValueError(f"workload_outcome: one of {', '.join(OUTCOMES)}")
    if config.workload_limit_answer not in LIMIT_ANSWERS:
        raise ValueError(f"workload_limit_answer: one of {', '.join(LIMIT_ANSWERS)}")
    if isinstance(config.workload_dataset_limit, bool) or config.workload_dataset_limit < 1:
        raise ValueError("workload_dataset_limit: at least 1")
    if config.workload_limit_retry_after < 0:
        raise ValueError("workload_limit_retry_after: zero or more")
