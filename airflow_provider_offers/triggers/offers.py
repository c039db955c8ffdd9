"""OfferChangeTrigger: the deferred half of OfferChangeSensor, polling from the triggerer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_offers.hooks.offers import OfferLibraryHook


class OfferChangeTrigger(BaseTrigger):
    """Poll an offer until it changes, the deadline passes, or it is gone; yield one event.

    Every kwarg is a JSON value (the baseline as `api.change` builds it, times as ISO-8601
    strings) so the trigger survives ``airflow.sdk.serde`` and a triggerer restart. With no
    baseline (the sensor's own first check failed transiently) the first successful read becomes
    the baseline. Each look is `api.change.observe`, as in ``OfferChangeSensor.poke()``.

    Events carry ``offer_id`` and ``status``: ``changed`` (with ``change``, the sensor's result,
    and ``message``), ``timeout``, ``not_found`` or ``error`` (with ``message``).
    """

    def __init__(
        self,
        *,
        offer_id: str,
        offer_type: str = "fallback",
        baseline: dict[str, Any] | None = None,
        adobe_conn_id: str = OfferLibraryHook.default_conn_name,
        sandbox_name: str | None = None,
        poll_interval: float = 60.0,
        deadline: str | None = None,
    ) -> None:
        super().__init__()
        self.offer_id = offer_id
        self.offer_type = offer_type
        self.baseline = baseline
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name
        self.poll_interval = poll_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "offer_id": self.offer_id,
                "offer_type": self.offer_type,
                "baseline": self.baseline,
                "adobe_conn_id": self.adobe_conn_id,
                "sandbox_name": self.sandbox_name,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self._wait()
        yield TriggerEvent({"offer_id": self.offer_id, **event})

    async def _wait(self) -> dict[str, Any]:
        from airflow_provider_offers.api.change import observe, poll_delay
        from airflow_provider_offers.api.errors import (
            TRANSIENT_ERRORS,
            NotFoundError,
            OfferLibraryError,
        )
        from airflow_provider_offers.api.inputs import parse_modified

        hook = OfferLibraryHook(adobe_conn_id=self.adobe_conn_id, sandbox_name=self.sandbox_name)
        deadline = parse_modified(self.deadline, "deadline")
        baseline = self.baseline
        async with hook.asession():
            while True:
                # The sensor looked just before deferring; like poke(), look again one interval
                # later (sooner if the deadline comes first, so the last look is at the deadline).
                await asyncio.sleep(
                    poll_delay(self.poll_interval, deadline, datetime.now(timezone.utc))
                )
                try:
                    offer = await hook.aget_offer(self.offer_id, offer_type=self.offer_type)
                except NotFoundError as error:
                    return {"status": "not_found", "message": str(error)}
                except TRANSIENT_ERRORS as error:
                    self.log.warning(
                        "Could not read offer %s (%s); will try again.", self.offer_id, error
                    )
                except OfferLibraryError as error:
                    return {"status": "error", "message": f"Reading offer {self.offer_id}: {error}"}
                else:
                    observation = observe(offer, baseline)
                    baseline = observation.baseline
                    if observation.change is not None:
                        return {
                            "status": "changed",
                            "change": observation.change,
                            "message": observation.message,
                        }
                    self.log.info("%s", observation.message)
                if deadline is not None and datetime.now(timezone.utc) >= deadline:
                    return {
                        "status": "timeout",
                        "message": f"Offer {self.offer_id} did not change before the sensor's "
                        f"deadline {self.deadline}.",
                    }
