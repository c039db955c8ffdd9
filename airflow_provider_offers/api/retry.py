"""The one retry rule, shared by the sync client, the async client and the IMS token source.

What is retried: HTTP 429, 502, 503, 504, network failures and a read answered 2xx with a
body that is not the API's (an HTML page from a proxy, an empty body), with exponential backoff and
jitter, or exactly the server's `Retry-After` (seconds or an HTTP date) when it gives one, up to
`max_retry_after`; a longer wait is not slept through but raised as `RateLimitedError` with
`.retry_after` and `.beyond_wait_cap`, so an Airflow task can defer itself until then.
Nothing else is retried.

What is never re-sent: a request that is not idempotent (POST, PATCH) and may already have
reached the server: a timeout or lost connection after sending, or a 502/504 from the gateway
(the upstream may have committed it). Those raise `OutcomeUnknownError` for the caller to
reconcile, as does a write answered 2xx with a page that is not the API's. A connection refused
before anything was sent is always safe to retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NoReturn

import httpx
import tenacity

from airflow_provider_offers.api.errors import (
    ConnectionFailedError,
    OfferLibraryError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    UnreadableResponseError,
)

log = logging.getLogger("airflow_provider_offers.api")

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that, for a write, do not prove the server left it undone.
AMBIGUOUS_STATUSES = frozenset({502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Raised while opening the connection: nothing has been sent yet.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def transport_error(
    exc: httpx.TransportError, *, resend_safe: bool, where: str, request_id: str | None
) -> OfferLibraryError:
    """Map a network failure to ConnectionFailedError (retryable) or OutcomeUnknownError."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if resend_safe or isinstance(exc, _NOT_SENT):
        return ConnectionFailedError(
            f"{where}: network failure ({reason})"
            + (f" (x-request-id {request_id})" if request_id else ""),
            detail=reason,
            request_id=request_id,
        )
    return OutcomeUnknownError(
        f"{where}: the connection failed after the request was sent ({reason}); it may or may "
        "not have been applied, so it was not re-sent"
        + (f" (x-request-id {request_id})" if request_id else ""),
        detail=reason,
        request_id=request_id,
    )


def status_error_class(status: int, *, resend_safe: bool) -> type[OfferLibraryError] | None:
    """OutcomeUnknownError for a 502/504 answer to a write; None means "classify by status"."""
    if not resend_safe and status in AMBIGUOUS_STATUSES:
        return OutcomeUnknownError
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff numbers and the retry decision; `sleep`/`async_sleep` are injectable for tests."""

    max_attempts: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, ConnectionFailedError | UnreadableResponseError):
            return True
        if isinstance(exc, RateLimitedError | ServerError) and exc.status in RETRYABLE_STATUSES:
            if exc.retry_after is None or exc.retry_after <= self.max_retry_after:
                return True
            if isinstance(exc, RateLimitedError) and not exc.beyond_wait_cap:
                exc.beyond_wait_cap = True
                exc.message = (
                    f"{exc.message}; the server asked to wait {exc.retry_after:g} s, longer than "
                    f"the {self.max_retry_after:g} s this client waits in-process"
                )
                exc.args = (exc.message,)
        return False

    def delay(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.max_retry_after)
        backoff = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)  # "equal jitter"

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.delay(exc, state.attempt_number)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s; retrying in %.2f s (attempt %d of %d)",
            exc,
            state.next_action.sleep if state.next_action else 0.0,
            state.attempt_number + 1,
            self.max_attempts,
        )

    def _give_up(self, state: tenacity.RetryCallState) -> NoReturn:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, OfferLibraryError) and self.max_attempts > 1:
            exc.message = f"{exc.message} (gave up after {state.attempt_number} attempts)"
            exc.args = (exc.message,)
        raise exc or RuntimeError("gave up without an outcome")  # tenacity always has one

    def _options(self) -> dict:
        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts),
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(self.should_retry),
            "before_sleep": self._before_sleep,
            "retry_error_callback": self._give_up,
            "reraise": True,
        }

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(sleep=self.sleep, **self._options())

    def async_retrying(self) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(sleep=self.async_sleep, **self._options())
