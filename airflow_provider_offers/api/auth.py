"""Adobe IMS OAuth server-to-server tokens, as an `httpx.Auth`.

The bearer token comes from an `ImsTokenSource` (`api.token_source`: cached per credential,
shared between threads, coroutines and processes, renewed before it expires). A 401 from the
API means the token was revoked or expired early: the auth flow renews it once and replays the
request once; a second 401 surfaces as `AuthenticationError`.

The token request is not sent by a client of its own: the auth flow yields it (httpx's
token-refresh pattern), so it goes through the API client's transport, and a test's
`httpx.MockTransport` or an `httpx.ASGITransport` over the emulator stands in for IMS too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any

import httpx

from airflow_provider_offers.api.token_cache import LockWait
from airflow_provider_offers.api.token_source import FlowStep, ImsTokenSource

__all__ = ["ImsAuth", "ImsTokenSource"]  # ImsTokenSource: its import path from before the split

log = logging.getLogger("airflow_provider_offers.api")


class ImsAuth(httpx.Auth):
    """httpx auth flow: bearer token from an `ImsTokenSource`; one renewal and replay on 401.

    `on_token` is called with every token this auth has not used before (the Airflow hook
    masks it); in the async flow it may be a coroutine function.
    """

    def __init__(self, source: ImsTokenSource, on_token: Callable[[str], Any] | None = None):
        self.source = source
        self._on_token = on_token
        self._last_seen: str | None = None

    def __repr__(self) -> str:
        return f"ImsAuth({self.source!r})"

    def _apply(self, request: httpx.Request, token: str) -> Any:
        """Set the header; returns what `on_token` returned for a token not seen before."""
        request.headers["Authorization"] = f"Bearer {token}"
        if token == self._last_seen or self._on_token is None:
            return None
        self._last_seen = token
        return self._on_token(token)

    def _steps(self, request: httpx.Request) -> Generator[FlowStep, Any, None]:
        """The flow, sync or async: token steps, the request, and on a 401 one renewal + replay.

        Yields what `token_flow` yields, `request` itself (send back the response), and the
        awaitable an async `on_token` returned (await it).
        """
        token = yield from self.source.token_flow()
        callback = self._apply(request, token)
        if inspect.isawaitable(callback):
            yield callback
        response = yield request
        if response.status_code == 401:
            log.info(
                "%s %s: token refused (HTTP 401); renewing it once and replaying the request",
                request.method,
                request.url.path,
            )
            callback = self._apply(request, (yield from self.source.token_flow(stale=token)))
            if inspect.isawaitable(callback):
                yield callback
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        with contextlib.closing(self._steps(request)) as steps:
            step = _advance(steps, None)
            while step is not None:
                if isinstance(step, httpx.Request):
                    response = yield step
                    response.read()
                    step = _advance(steps, response)
                elif isinstance(step, concurrent.futures.Future):  # another caller's renewal
                    step = _advance(steps, _outcome(step, self.source.follower_patience))
                elif isinstance(step, LockWait):  # another process's renewal
                    step.wait()
                    step = _advance(steps, None)
                else:
                    raise TypeError("an async on_token callback in a sync request")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        with contextlib.closing(self._steps(request)) as steps:
            step = _advance(steps, None)
            while step is not None:
                if isinstance(step, LockWait):  # never sleep in the event loop: await
                    await step.wait_async()
                    step = _advance(steps, None)
                    continue
                if not isinstance(step, httpx.Request):
                    step = _advance(steps, await _aoutcome(step))
                    continue
                response = yield step
                await response.aread()
                step = _advance(steps, response)


def _advance(steps: Generator[FlowStep, Any, None], reply: Any) -> FlowStep | None:
    """Resume the flow with `reply` (an exception is thrown in); None once it is done."""
    try:
        return steps.throw(reply) if isinstance(reply, Exception) else steps.send(reply)
    except StopIteration:
        return None


def _outcome(future: concurrent.futures.Future[str], timeout: float) -> str | Exception:
    try:
        return future.result(timeout=timeout)
    except Exception as exc:
        return exc


async def _aoutcome(step: concurrent.futures.Future[str] | Awaitable[Any]) -> Any:
    if isinstance(step, concurrent.futures.Future):
        # shield: a cancelled waiter must not cancel the renewal others wait on
        step = asyncio.shield(asyncio.wrap_future(step))
    try:
        return await step
    except Exception as exc:
        return exc
