"""The deferred wait of a batch decisioning workload: poll it from the triggerer until the one
status rule (`api.batch_decisioning.judge`) says done or failed, or the deadline passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_offers.triggers._base import OfferLibraryTrigger


class BatchDecisioningTrigger(OfferLibraryTrigger):
    """Poll a workload every `poll_interval` seconds; yield one event.

    Transient errors (429, 5xx, network) are logged and the next poll tries again; a 404 or
    another refusal ends the wait with an ``error`` event.

    Events carry ``workload_id`` and ``status``: ``done`` or ``failed`` (with ``workload``,
    Adobe's answer, and ``detail``), ``timeout`` (with the last ``workload`` seen, if any) or
    ``error`` (with ``message``).

    :param workload_id: the workload's `@id`.
    :param deadline: ISO-8601 time after which the trigger reports ``timeout``.

    It also takes the options of every trigger here (`OfferLibraryTrigger`): ``adobe_conn_id``,
    ``sandbox_name``, ``poll_interval``, ``request_timeout``, ``max_attempts`` and
    ``max_retry_after``.
    """

    fields = ("workload_id", "deadline")

    def __init__(self, *, workload_id: str, deadline: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.workload_id = workload_id
        self.deadline = deadline

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self._wait()
        yield TriggerEvent({"workload_id": self.workload_id, **event})

    async def _wait(self) -> dict[str, Any]:
        from airflow_provider_offers.api.batch_decisioning import judge
        from airflow_provider_offers.api.change import poll_delay
        from airflow_provider_offers.api.errors import TRANSIENT_ERRORS, OfferLibraryError
        from airflow_provider_offers.api.inputs import parse_modified

        hook = self.hook()
        deadline = parse_modified(self.deadline, "deadline")
        last: dict[str, Any] | None = None
        async with hook.asession():
            while True:
                try:
                    workload = await hook.aget_batch_workload(self.workload_id)
                except TRANSIENT_ERRORS as error:
                    self.log.warning(
                        "Could not read workload %s (%s); will try again.", self.workload_id, error
                    )
                except OfferLibraryError as error:
                    return {
                        "status": "error",
                        "message": f"Reading workload {self.workload_id}: {error}",
                    }
                else:
                    last = workload.model_dump(mode="json", by_alias=True, exclude_none=True)
                    verdict = judge(workload)
                    if verdict.state != "waiting":
                        return {"status": verdict.state, "workload": last, "detail": verdict.detail}
                    self.log.info("Workload %s is %s", self.workload_id, verdict.status)
                now = datetime.now(timezone.utc)
                if deadline is not None and now >= deadline:
                    return {"status": "timeout", "workload": last}
                await asyncio.sleep(poll_delay(self.poll_interval, deadline, now))
