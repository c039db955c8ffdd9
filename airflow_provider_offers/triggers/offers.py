"""OfferChangeTrigger: the deferred half of OfferChangeSensor, polling from the triggerer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class OfferChangeTrigger(BaseTrigger):
    """Poll an offer until it changes, the deadline passes, or it is gone; yield one event.

    Every kwarg is a JSON value (times as ISO-8601 strings) so the trigger survives
    ``airflow.sdk.serde`` and a triggerer restart. With no baseline (the sensor's own first check
    failed transiently) the first successful read becomes the baseline. Events carry
    ``status``: ``changed`` (with ``id``, ``etag``, ``modified``, ``previous_etag``),
    ``timeout``, ``not_found`` or ``error`` (with ``message``); all carry ``offer_id``.
    """

    def __init__(
        self,
        *,
        offer_id: str,
        offer_type: str = "fallback",
        since_etag: int | None = None,
        since_modified: str | None = None,
        previous_etag: int | None = None,
        adobe_conn_id: str = "adobe_offers_default",
        sandbox_name: str | None = None,
        poll_interval: float = 60.0,
        deadline: str | None = None,
    ) -> None:
        super().__init__()
        self.offer_id = offer_id
        self.offer_type = offer_type
        self.since_etag = since_etag
        self.since_modified = since_modified
        self.previous_etag = previous_etag
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
                "since_etag": self.since_etag,
                "since_modified": self.since_modified,
                "previous_etag": self.previous_etag,
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
        from airflow_provider_offers.api.change import (
            baseline_of,
            has_offer_changed,
            offer_snapshot,
            parse_modified,
        )
        from airflow_provider_offers.api.errors import (
            TRANSIENT_ERRORS,
            NotFoundError,
            OfferLibraryError,
        )
        from airflow_provider_offers.hooks.offers import OfferLibraryHook

        hook = OfferLibraryHook(adobe_conn_id=self.adobe_conn_id, sandbox_name=self.sandbox_name)
        deadline = parse_modified(self.deadline, "deadline")
        baseline: dict[str, Any] | None = None
        if self.since_etag is not None or self.since_modified is not None:
            baseline = {
                "previous_etag": self.previous_etag,
                "since_etag": self.since_etag,
                "since_modified": self.since_modified,
            }
        async with hook.asession():
            while True:
                # The sensor looked just before deferring; like poke(), look again one interval
                # later (sooner if the deadline comes first, so the last look is at the deadline).
                delay = self.poll_interval
                if deadline is not None:
                    delay = max(
                        0.0, min(delay, (deadline - datetime.now(timezone.utc)).total_seconds())
                    )
                await asyncio.sleep(delay)
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
                    seen = offer_snapshot(offer)
                    if baseline is None:
                        baseline = baseline_of(seen)
                        self.log.info("Offer %s: baseline etag %s.", self.offer_id, seen["etag"])
                    elif has_offer_changed(
                        seen["etag"],
                        seen["modified"],
                        since_etag=baseline["since_etag"],
                        since_modified=baseline["since_modified"],
                    ):
                        return {
                            "status": "changed",
                            **seen,
                            "previous_etag": baseline["previous_etag"],
                        }
                    else:
                        self.log.info("Offer %s unchanged (etag %s).", self.offer_id, seen["etag"])
                if deadline is not None and datetime.now(timezone.utc) >= deadline:
                    return {
                        "status": "timeout",
                        "message": f"Offer {self.offer_id} did not change before the sensor's "
                        f"deadline {self.deadline}.",
                    }
