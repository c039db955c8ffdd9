"""Triggers polling the Offer Library from the triggerer.

OfferChangeTrigger is the deferred half of OfferChangeSensor (one offer, one event, a deadline);
OfferChangeEventTrigger watches a sandbox's offers for an `AssetWatcher` (an event per change,
forever).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Hashable
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_offers._compat import AIRFLOW_VERSION, asset_state_store
from airflow_provider_offers.hooks.offers import OfferLibraryHook
from airflow_provider_offers.triggers._base import OfferLibraryTrigger, auth_backoff


class OfferChangeTrigger(OfferLibraryTrigger):
    """Poll an offer until it changes, the deadline passes, or it is gone; yield one event.

    Every kwarg is a JSON value (the baseline as `api.change` builds it, times as ISO-8601
    strings). With no baseline (the sensor's own first check failed transiently) the first
    successful read becomes the baseline. Each look is `api.change.observe`, as in
    ``OfferChangeSensor.poke()``. After a `Retry-After` longer than ``max_retry_after`` the
    trigger looks again at the time asked, or reports ``timeout`` if the deadline comes first.

    Events carry ``offer_id`` and ``status``: ``changed`` (with ``change``, the sensor's result,
    and ``message``), ``timeout``, ``not_found`` or ``error`` (with ``message``).

    :param offer_id: the offer to watch.
    :param offer_type: ``fallback`` or ``personalized``.
    :param baseline: what "unchanged" means, as `api.change` builds it (None: the first read).
    :param deadline: ISO-8601 time after which the trigger reports ``timeout``.

    It also takes the options of every trigger here (`OfferLibraryTrigger`): ``adobe_conn_id``,
    ``sandbox_name``, ``poll_interval``, ``request_timeout``, ``max_attempts`` and
    ``max_retry_after``.
    """

    fields = ("offer_id", "offer_type", "baseline", "deadline")

    def __init__(
        self,
        *,
        offer_id: str,
        offer_type: str = "fallback",
        baseline: dict[str, Any] | None = None,
        deadline: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.offer_id = offer_id
        self.offer_type = offer_type
        self.baseline = baseline
        self.deadline = deadline

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self._wait()
        yield TriggerEvent({"offer_id": self.offer_id, **event})

    async def _wait(self) -> dict[str, Any]:
        from airflow_provider_offers.api.change import observe, poll_delay
        from airflow_provider_offers.api.errors import (
            TRANSIENT_ERRORS,
            NotFoundError,
            OfferLibraryError,
            RateLimitedError,
        )
        from airflow_provider_offers.api.inputs import parse_modified

        hook = self.hook()
        deadline = parse_modified(self.deadline, "deadline")
        baseline = self.baseline
        # The sensor looked just before deferring; like poke(), look again one interval later
        # (sooner if the deadline comes first, so the last look is at the deadline).
        delay = poll_delay(self.poll_interval, deadline, datetime.now(timezone.utc))
        async with hook.asession():
            while True:
                await asyncio.sleep(delay)
                delay = poll_delay(self.poll_interval, deadline, datetime.now(timezone.utc))
                try:
                    offer = await hook.aget_offer_json(self.offer_id, offer_type=self.offer_type)
                except NotFoundError as error:
                    return {"status": "not_found", "message": str(error)}
                except TRANSIENT_ERRORS as error:
                    if isinstance(error, RateLimitedError) and error.beyond_wait_cap:
                        # Look again when the server asked, not one poll interval later.
                        delay = float(error.retry_after or 0.0)
                        if deadline is not None and delay >= _seconds_until(deadline):
                            await asyncio.sleep(_seconds_until(deadline))
                            return self._timeout_event(
                                f"was rate limited past the sensor's deadline {self.deadline} "
                                f"(the server asked to wait {delay:g} s)"
                            )
                        self.log.warning(
                            "Rate limited reading offer %s: the server asked to wait %g s; "
                            "looking again then.",
                            self.offer_id,
                            delay,
                        )
                        continue
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
                    return self._timeout_event(
                        f"did not change before the sensor's deadline {self.deadline}"
                    )

    def _timeout_event(self, what: str) -> dict[str, Any]:
        return {"status": "timeout", "message": f"Offer {self.offer_id} {what}."}


def _seconds_until(moment: datetime) -> float:
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


log = logging.getLogger(__name__)


class OfferChangeEventTrigger(OfferLibraryTrigger, BaseEventTrigger):
    """Yield one event per offer of `offer_type` created or changed in the sandbox, for an
    `AssetWatcher`: DAGs scheduled on the asset run once per change, with no task waiting.

    One poll lists the offers (newest change first) every `poll_interval` seconds and is shared
    by every watcher on the same connection, sandbox, type and interval (Airflow's shared
    stream); each watcher keeps only its `names` and reports what is new to its own cursor
    (`api.change.changes_since`: a version of an offer not reported yet, even one whose
    `modified` is older than others already seen, within a bounded window). Without a cursor
    the present is the baseline (existing offers are reported only with `emit_existing`). The
    cursor is saved after each event in the asset state store the triggerer provides, so a
    restart neither replays nor misses a change; without a store it lives in memory.

    Event payloads: `id`, `name`, `etag` (the server's form), `modified` (ISO-8601), `sandbox`,
    `offer_type`. Errors never end the watch: transient ones are retried by the client and
    then at the next poll; refused credentials are logged and retried with a growing delay.

    :param offer_type: ``fallback`` or ``personalized`` (checked on the first look).
    :param names: watch only offers with these names (None: every offer of the type).
    :param emit_existing: report the offers already there on the first start, once each.

    It also takes the options of every trigger here (`OfferLibraryTrigger`): ``adobe_conn_id``,
    ``sandbox_name``, ``poll_interval`` (seconds between two listings), ``request_timeout``,
    ``max_attempts`` and ``max_retry_after``.
    """

    fields = ("offer_type", "names", "emit_existing")

    def __init__(
        self,
        *,
        offer_type: str = "fallback",
        names: list[str] | None = None,
        emit_existing: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.offer_type = offer_type  # checked on the first look: parsing a DAG loads no client
        self.names = sorted(set([names] if isinstance(names, str) else names)) if names else None
        self.emit_existing = emit_existing
        self._memory_cursor: dict[str, Any] | None = None

    def shared_stream_key(self) -> Hashable:
        """Watchers that would list the same offers at the same pace share one poll."""
        return (
            "adobe_offers.listing",
            self.adobe_conn_id,
            self.sandbox_name or "",
            self._listed_type,
            str(self.poll_interval),
            str(self.request_timeout),
            str(self.max_attempts),
            str(self.max_retry_after),
        )

    @property
    def _listed_type(self) -> str:
        """`offer_type` as Adobe spells it, so that `"Fallback"` and `"fallback"` watchers share
        one poll, cursor and payload; a bad value stays as given until the first look refuses
        it (the parse happens here, in the triggerer: parsing a DAG loads no client)."""
        from airflow_provider_offers.api.errors import InvalidInputError
        from airflow_provider_offers.api.inputs import parse_offer_type

        try:
            return parse_offer_type(self.offer_type).value
        except InvalidInputError:
            return str(self.offer_type)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The unshared path (a triggerer without shared streams, or a test): a poll of its own."""
        async for event in self.filter_shared_stream(self.open_shared_stream(self.serialize()[1])):
            yield event

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Every `poll_interval`, one listing: `{"sandbox", "offers": [api.change.listed_offer]}`.

        A whole listing, not a diff, so a watcher that joins late or restarts judges it against
        its own cursor and misses nothing. Yields forever (the triggerer cancels it)."""
        from airflow_provider_offers.api.errors import (
            AuthenticationError,
            OfferLibraryError,
            PermissionDeniedError,
        )
        from airflow_provider_offers.api.inputs import parse_offer_type

        offer_type = parse_offer_type(kwargs["offer_type"]).value  # a bad one ends the watch
        poll_interval = float(kwargs["poll_interval"])
        backoff = auth_backoff(poll_interval)
        refusals = 0
        while True:
            # A new hook after refused credentials: the connection is read again (rotated secret).
            hook = cls.hook_for(kwargs)
            async with hook.asession():
                while True:
                    try:
                        listing = await cls._list(hook, offer_type)
                    except (AuthenticationError, PermissionDeniedError) as error:
                        refusals += 1
                        delay = backoff.backoff(refusals)
                        log.error(
                            "Offer watcher: the Offer Library refused connection %r (%s); "
                            "check its credentials. Trying again in %.1f s.",
                            kwargs["adobe_conn_id"],
                            error,
                            delay,
                        )
                        break
                    except OfferLibraryError as error:
                        log.warning(
                            "Offer watcher: could not list offers (%s); will try again.", error
                        )
                    else:
                        refusals = 0
                        yield listing
                    await asyncio.sleep(poll_interval)
            await asyncio.sleep(delay)

    @staticmethod
    async def _list(hook: OfferLibraryHook, offer_type: str) -> dict[str, Any]:
        from airflow_provider_offers.api.change import listed_offer

        # The server's JSON, not models: an offer our models cannot type is watched like any
        # other (only an object without an id cannot be told apart, and is left out).
        offers = [
            listed_offer(offer)
            async for offer in hook.alist_offers_json(offer_type, orderby="-modified", limit=100)
            if isinstance(offer.get("id"), str)
        ]
        return {"sandbox": (await hook.aconfig()).sandbox_name, "offers": offers}

    async def filter_shared_stream(
        self, shared_stream: AsyncIterator[Any]
    ) -> AsyncIterator[TriggerEvent]:
        """This watcher's events from the shared listings: its offers, new to its cursor."""
        from airflow_provider_offers.api.change import (
            EMPTY_CURSOR,
            advance_cursor,
            changes_since,
            cursor_at,
            watched_offers,
        )

        cursor = await self._load_cursor()
        async for listing in shared_stream:
            offers = watched_offers(listing["offers"], self.names)
            if cursor is None:
                if not self.emit_existing:
                    cursor = cursor_at(offers)
                    await self._save_cursor(cursor)
                    self.log.info(
                        "Offer watcher: baseline of %d %s offer(s) in sandbox %r; waiting for "
                        "changes.",
                        len(offers),
                        self._listed_type,
                        listing["sandbox"],
                    )
                    continue
                cursor = EMPTY_CURSOR
            for offer in changes_since(cursor, offers):
                yield TriggerEvent(
                    {**offer, "sandbox": listing["sandbox"], "offer_type": self._listed_type}
                )
                cursor = advance_cursor(cursor, offer)
                await self._save_cursor(cursor)

    @property
    def cursor_key(self) -> str:
        """This watcher's key in the asset state store (its listing and its names)."""
        watched = json.dumps(
            [self.adobe_conn_id, self.sandbox_name, self._listed_type, self.names], sort_keys=True
        )
        return f"adobe_offers.change_cursor.{hashlib.sha256(watched.encode()).hexdigest()[:16]}"

    async def _load_cursor(self) -> dict[str, Any] | None:
        from airflow_provider_offers.api.change import stored_cursor

        store = asset_state_store(self)
        if store is None:  # Airflow before 3.3, or run outside a triggerer
            self.log.warning(
                "Offer watcher: no asset state store (Airflow %s; 3.3+ gives a watcher one): "
                "the cursor is kept in memory, so a triggerer restart takes a new baseline.",
                AIRFLOW_VERSION,
            )
            return self._memory_cursor
        try:
            value = await store.aget(self.cursor_key)
        except ValueError as error:  # one trigger watched by several assets: no single store
            self.log.warning("Offer watcher: keeping the cursor in memory (%s).", error)
            self.asset_state_store = None
            return self._memory_cursor
        cursor = stored_cursor(value)
        if value is not None and cursor is None:
            self.log.warning("Offer watcher: ignoring a stored cursor it cannot read: %r", value)
        return cursor

    async def _save_cursor(self, cursor: dict[str, Any]) -> None:
        self._memory_cursor = cursor
        store = asset_state_store(self)
        if store is not None:
            await store.aset(self.cursor_key, cursor)
