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
import dataclasses
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
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
    redact,
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
    exc: httpx.TransportError,
    *,
    resend_safe: bool,
    where: str,
    request_id: str | None,
    secrets: Iterable[str | None] = (),
) -> OfferLibraryError:
    """Map a network failure to ConnectionFailedError (retryable) or OutcomeUnknownError, its
    message and detail with `secrets` redacted."""
    secrets = list(secrets)
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    sent = f" (x-request-id {request_id})" if request_id else ""
    if resend_safe or isinstance(exc, _NOT_SENT):
        error_class: type[OfferLibraryError] = ConnectionFailedError
        message = f"{where}: network failure ({reason}){sent}"
    else:
        error_class = OutcomeUnknownError
        message = (
            f"{where}: the connection failed after the request was sent ({reason}); it may or "
            f"may not have been applied, so it was not re-sent{sent}"
        )
    return error_class(
        redact(message, secrets), detail=redact(reason, secrets), request_id=request_id
    )


def status_error_class(status: int, *, resend_safe: bool) -> type[OfferLibraryError] | None:
    """OutcomeUnknownError for a 502/504 answer to a write; None means "classify by status"."""
    if not resend_safe and status in AMBIGUOUS_STATUSES:
        return OutcomeUnknownError
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff numbers and the retry decision, a frozen value: never changed once built.

    Built from a task's options by `from_options` (the client does it once, from its config);
    a copy that sleeps elsewhere (the catalog's `BackoffGate`, a test's recording sleep) comes
    from `with_sleep`. The predicates are pure; what the caller gets when retrying stops is a
    new error built from the last one (`final_error`), never the last one rewritten.
    """

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

    @classmethod
    def from_options(
        cls,
        *,
        max_attempts: int | None = None,
        max_retry_after: float | None = None,
        base: RetryPolicy | None = None,
    ) -> RetryPolicy:
        """The policy for a task's (already parsed) `max_attempts` and `max_retry_after`: each
        one given replaces `base`'s number (the defaults' when `base` is None)."""
        base = base or cls()
        return dataclasses.replace(
            base,
            max_attempts=base.max_attempts if max_attempts is None else max_attempts,
            max_retry_after=base.max_retry_after if max_retry_after is None else max_retry_after,
        )

    def with_sleep(
        self,
        *,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> RetryPolicy:
        """The one way to send this policy's waits elsewhere: a copy, the numbers unchanged."""
        return dataclasses.replace(
            self, sleep=sleep or self.sleep, async_sleep=async_sleep or self.async_sleep
        )

    def should_retry(self, exc: BaseException) -> bool:
        """Is `exc` worth another attempt in-process? (A pure predicate.)"""
        if isinstance(exc, ConnectionFailedError | UnreadableResponseError):
            return True
        return _retryable_status(exc) and not self.waits_beyond_cap(exc)

    def waits_beyond_cap(self, exc: BaseException | None) -> bool:
        """A retryable answer whose `Retry-After` is longer than this policy sleeps through."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is None or not _retryable_status(exc):
            return False
        return retry_after > self.max_retry_after

    def final_error(self, exc: BaseException, attempts: int) -> BaseException:
        """What the caller gets when retrying stops at `exc` after `attempts` tries: a new error
        of the same type and attributes saying why it stopped, or `exc` when there is nothing
        to add."""
        if self.waits_beyond_cap(exc):
            if not isinstance(exc, RateLimitedError):
                return exc
            return exc.with_message(
                f"{exc.message}; the server asked to wait {exc.retry_after:g} s, longer than "
                f"the {self.max_retry_after:g} s this client waits in-process",
                beyond_wait_cap=True,
            )
        if isinstance(exc, OfferLibraryError) and self.max_attempts > 1:
            return exc.with_message(f"{exc.message} (gave up after {attempts} attempts)")
        return exc

    def delay(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.max_retry_after)
        backoff = self.backoff(attempt)
        return backoff / 2 + random.uniform(0, backoff / 2)  # "equal jitter"

    def backoff(self, attempt: int) -> float:
        """The backoff after failed attempt `attempt`, before jitter: doubling, capped."""
        return min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))

    def _retry(self, exc: BaseException) -> bool:
        # Also "yes" for a wait beyond the cap, so that `_stop` ends it through `_give_up`.
        return self.should_retry(exc) or self.waits_beyond_cap(exc)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        return state.attempt_number >= self.max_attempts or self.waits_beyond_cap(exc)

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
        if exc is None:
            raise RuntimeError("gave up without an outcome")  # tenacity always has one
        error = self.final_error(exc, state.attempt_number)
        if error is exc:
            raise exc
        # Not chained: no error the client raises keeps another reachable (the redaction rule,
        # see errors.py); the new one carries every attribute of the last.
        raise error from None

    def _options(self) -> dict:
        return {
            "stop": self._stop,
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(self._retry),
            "before_sleep": self._before_sleep,
            "retry_error_callback": self._give_up,
            "reraise": True,
        }

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(sleep=self.sleep, **self._options())

    def async_retrying(self) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(sleep=self.async_sleep, **self._options())


def _retryable_status(exc: BaseException | None) -> bool:
    """A rate limit or server error with a status that is retried (429, 502, 503, 504)."""
    return isinstance(exc, RateLimitedError | ServerError) and exc.status in RETRYABLE_STATUSES
