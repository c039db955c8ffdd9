"""Adobe IMS OAuth server-to-server tokens: where `ImsAuth` gets them, cached and shared.

Adobe asks integrations to reuse a token until it expires (IMS may throttle clients that mint
one per call), so tokens are cached process-wide per credential (IMS URL, client id, a digest of
the client secrets, scopes) and shared by every client holding that credential: a client with
another secret never receives a token minted with this one. A token is renewed
`refresh_margin` seconds before it expires; when many threads or coroutines find it stale at
once, exactly one of them asks IMS and the others wait for its answer.

With `token_cache="machine"` (the default) the token is also shared by every process of the
machine through an encrypted file (`token_cache.MachineTokenCache`): the process renewing it
holds that file's lock, so N task processes starting together mint one token, and a token the
API refused is replaced for all of them at once. `"process"` keeps tokens in this process only;
`"off"` shares nothing beyond one client.

A credential may hold several client secrets (Adobe allows two, for rotation); when IMS answers
`invalid_client`, the next secret is tried and the one that works is remembered.

No I/O here: `ImsTokenSource.token_flow` yields the token request (and the waits) for the
auth flow (`api.auth`) to perform.
"""

from __future__ import annotations

import concurrent.futures
import copy
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_offers.api.config import TOKEN_PATH, ClientConfig
from airflow_provider_offers.api.errors import (
    AuthenticationError,
    OfferLibraryError,
    error_from_response,
)
from airflow_provider_offers.api.retry import transport_error
from airflow_provider_offers.api.token_cache import LockWait, MachineTokenCache, SharedToken

__all__ = ["ImsTokenSource"]

log = logging.getLogger("airflow_provider_offers.api")

# `expires_in` is seconds for /ims/token/v3; the retired JWT exchange gave milliseconds.
# Nothing lives longer than 30 days, so a bigger number can only be milliseconds.
_MAX_PLAUSIBLE_SECONDS = 30 * 24 * 3600
# IMS `error` values that mean "this client secret is wrong; another one may work".
_TRY_NEXT_SECRET = frozenset({"invalid_client"})


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # `ImsTokenSource.clock()` after which the token is renewed
    expires_at: float  # `ImsTokenSource.wall_clock()` at which IMS lets it expire
    lifetime: float  # seconds, as IMS gave it


#: What the flows ask their driver to do: send a request (and send back the read response),
#: wait for a renewal `Future` or an `on_token` awaitable (and send back its result), or
#: pause before trying the machine cache's file lock again (`LockWait`: sleep, or await).
FlowStep = httpx.Request | concurrent.futures.Future | Awaitable[Any] | LockWait


class _RenewalAbandoned(Exception):
    """The renewing caller was cancelled; a waiting caller should renew itself."""


class ImsTokenSource:
    """Process-wide cache and single-flight renewal of one credential's IMS token."""

    _registry: dict[tuple[str, ...], ImsTokenSource] = {}
    _registry_lock = threading.Lock()
    #: Seconds a sync caller waits for another caller's renewal before renewing itself.
    follower_patience = 30.0
    #: The clock token lifetimes are measured on (tests replace it).
    clock: Callable[[], float] = staticmethod(time.monotonic)
    #: The clock of the expiry kept in the machine cache, shared by processes (tests replace it).
    wall_clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, config: ClientConfig) -> None:
        """The token source for `config`'s credential (IMS URL, client id, scopes, secrets)."""
        self.client_id = config.client_id
        self.ims_url = config.ims_url
        self.settings_source = config.source
        self.scopes = config.scopes
        self.refresh_margin = float(config.refresh_margin)
        self._timeout = config.timeout
        self._lock = threading.Lock()
        self._secrets: list[str] = list(config.client_secrets)
        self._token: _Token | None = None
        self._inflight: concurrent.futures.Future[str] | None = None
        self._machine = MachineTokenCache.open(config)

    def __repr__(self) -> str:
        return (
            f"ImsTokenSource(ims_url={self.ims_url!r}, client_id={self.client_id!r}, "
            f"scopes={self.scopes!r}, secrets=<{len(self._secrets)} hidden>)"
        )

    @classmethod
    def shared(cls, config: ClientConfig) -> ImsTokenSource:
        """The process-wide source for `config`'s credential: IMS URL, client id, client
        secrets (by digest) and scopes, and where it is cached.

        Created on first use (with that config's refresh margin and timeout). A config with
        other secrets (a wrong one, or a rotated one) gets a source of its own, so a token is
        only ever handed to a holder of the secrets it was minted with. With
        `token_cache="off"` every call gets a source of its own.
        """
        if config.token_cache == "off":
            return cls(config)
        key = (
            config.ims_url,
            config.client_id,
            _secrets_digest(config.client_secrets),
            config.scopes,
            config.token_cache,
            config.token_cache_dir or "",
        )
        with cls._registry_lock:
            source = cls._registry.get(key)
            if source is None:
                source = cls._registry[key] = cls(config)
            return source

    @classmethod
    def reset_cache(cls) -> None:
        """Forget every cached token (tests; credentials rotated out of band)."""
        with cls._registry_lock:
            cls._registry.clear()

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)

    @property
    def cached_token(self) -> str | None:
        """The current token, if one is cached (fresh or not); for masking and tests."""
        token = self._token
        return token.value if token else None

    # -- getting a token ------------------------------------------------------------------

    def _claim(self, stale: str | None) -> tuple[str | None, concurrent.futures.Future[str], bool]:
        """(fresh token, or the renewal future to wait on / to fulfil, am I the renewer?)."""
        with self._lock:
            token = self._token
            if token and token.value != stale and self.clock() < token.renew_at:
                return token.value, None, False  # type: ignore[return-value]
            if self._inflight is None:
                self._inflight = concurrent.futures.Future()
                return None, self._inflight, True
            return None, self._inflight, False

    def _settle(self, future: concurrent.futures.Future[str], outcome: _Token | BaseException):
        with self._lock:
            if isinstance(outcome, _Token):
                self._token = outcome
            if self._inflight is future:
                self._inflight = None
        if future.done():
            return
        if isinstance(outcome, _Token):
            future.set_result(outcome.value)
        elif isinstance(outcome, OfferLibraryError):
            future.set_exception(outcome)
        else:  # cancelled or interrupted: let a waiting caller renew instead
            future.set_exception(_RenewalAbandoned())

    def _forget(self, stale: str | None) -> None:
        with self._lock:
            if stale is not None and self._token is not None and self._token.value == stale:
                self._token = None

    def token_flow(self, stale: str | None = None) -> Generator[FlowStep, Any, str]:
        """The steps to a fresh token; `stale` is one the API just refused, never returned.

        The caller drives it (`ImsAuth` does, inside the client's own auth flow, so the token
        request goes through the client's transport like any other): a yielded
        `httpx.Request` is sent and its read response sent back; a yielded `Future` is another
        caller's renewal, whose token is sent back (or whose exception is thrown in,
        `TimeoutError` after `follower_patience` for a sync caller); a yielded `LockWait`
        is waited (slept, or awaited in an event loop) and answered with None. Returns the
        token.
        """
        while True:
            value, future, renewer = self._claim(stale)
            if value is not None:
                return value
            if not renewer:
                try:
                    return (yield future)
                except _RenewalAbandoned:
                    continue
                except OfferLibraryError as exc:  # the renewer's error, a copy per waiter
                    raise copy.copy(exc) from None
                except concurrent.futures.TimeoutError:
                    # The renewer may be a coroutine on this very thread (a sync call made
                    # inside an event loop): rather than deadlock, renew here.
                    pass
            try:
                minted = yield from self._renew(stale)
            except BaseException as exc:
                self._forget(stale)  # refused by the API: the next attempt renews first
                self._settle(future, exc)
                raise
            self._settle(future, minted)
            return minted.value

    def _renew(self, stale: str | None) -> Generator[httpx.Request | LockWait, Any, _Token]:
        """This process's renewal: the machine's token if another process has a fresh one
        (not `stale`), else a new one from IMS, written for the others; under the file lock."""
        machine = self._machine
        if machine is None:
            return (yield from self._mint())
        with machine.hold() as lock:
            yield from lock.acquire()  # without the lock after its patience: one more token
            shared = machine.read(self._secrets)
            if shared is not None and shared.value == stale:
                machine.discard()  # refused by the API: never handed out again, even if IMS fails
            elif shared is not None:
                minted_at = shared.expires_at - shared.lifetime
                started = (self.clock() - (self.wall_clock() - minted_at), minted_at)
                token = self._token_for(shared.value, shared.lifetime, started)
                if self.clock() < token.renew_at:
                    log.info("Using the IMS access token cached on this machine")
                    return token
            minted = yield from self._mint()
            shared = SharedToken(minted.value, minted.expires_at, minted.lifetime)
            machine.write(shared, self._secrets[0])
            return minted

    def _token_for(self, value: str, lifetime: float, started: tuple[float, float]) -> _Token:
        """The token minted at `started` (`clock()`, `wall_clock()`), renewed `refresh_margin`
        seconds before it expires."""
        # A margin as long as the lifetime would renew on every call: use half-life then.
        margin = self.refresh_margin if self.refresh_margin < lifetime else lifetime / 2
        return _Token(value, started[0] + lifetime - margin, started[1] + lifetime, lifetime)

    # -- talking to IMS -------------------------------------------------------------------

    def _mint(self) -> Generator[httpx.Request, httpx.Response, _Token]:
        """Ask IMS, trying the next secret on `invalid_client`."""
        started, secrets = (self.clock(), self.wall_clock()), list(self._secrets)
        for index, secret in enumerate(secrets):
            response = yield self._token_request(secret)
            if not self._try_next_secret(response, index, secrets):
                break
        return self._result(response, secret, secrets, started)

    def _token_request(self, secret: str) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": secret,
            "scope": self.scopes,
        }
        timeout = httpx.Timeout(self._timeout).as_dict()
        return httpx.Request("POST", self.token_url, data=form, extensions={"timeout": timeout})

    @property
    def token_url(self) -> str:
        return self.ims_url + TOKEN_PATH

    def _try_next_secret(self, response: httpx.Response, index: int, secrets: list[str]) -> bool:
        if index == len(secrets) - 1 or not self._wrong_secret(response):
            return False
        log.warning(
            "IMS refused client secret #%d of %d (invalid_client); trying the next one",
            index + 1,
            len(secrets),
        )
        return True

    @staticmethod
    def _wrong_secret(response: httpx.Response) -> bool:
        if response.status_code not in (400, 401):
            return False
        try:
            return response.json().get("error") in _TRY_NEXT_SECRET
        except ValueError:
            return False

    def transport_error(
        self, exc: httpx.TransportError, secrets: Iterable[str | None] = ()
    ) -> OfferLibraryError:
        """A network failure of a token request; asking twice is harmless, so retryable."""
        return transport_error(
            exc, resend_safe=True, where=f"POST {self.token_url}", request_id=None, secrets=secrets
        )

    def _result(
        self,
        response: httpx.Response,
        secret: str,
        secrets: list[str],
        started: tuple[float, float],
    ) -> _Token:
        if not response.is_success:
            status = response.status_code
            error = error_from_response(
                status=status,
                body=response.content,
                content_type=response.headers.get("content-type", ""),
                method="POST",
                path=self.token_url,
                request_id=None,
                secrets=secrets,
                error_class=AuthenticationError if 400 <= status < 500 and status != 429 else None,
            )
            if self._wrong_secret(response) and self.settings_source:
                error.message = (
                    f"{error.message}; IMS does not accept the client secret of "
                    f"{self.settings_source}: check its password (and any client_secrets "
                    "extra) against the project's credential in Adobe Developer Console"
                )
                error.args = (error.message,)
            raise error
        try:
            payload = response.json()
            value = payload["access_token"]
            lifetime = float(payload["expires_in"])
        except (ValueError, KeyError, TypeError):
            value = None
        if value is None:  # raised outside the handler: the parse error would keep the body
            raise AuthenticationError(
                f"POST {self.token_url}: IMS answered HTTP {response.status_code} without "
                "access_token/expires_in",
                status=response.status_code,
            )
        if lifetime > _MAX_PLAUSIBLE_SECONDS:
            lifetime /= 1000.0
        if secret != secrets[0]:
            log.warning("IMS accepted a later client secret; it will be tried first from now on")
            self._secrets = [secret, *[s for s in secrets if s != secret]]
        log.info("Obtained an IMS access token from %s (valid %.0f s)", self.ims_url, lifetime)
        return self._token_for(value, lifetime, started)


def _secrets_digest(secrets: Sequence[str]) -> str:
    """A digest naming a set of client secrets (their order aside), never the secrets."""
    digest = hashlib.sha256(b"airflow-provider-offers client secrets")
    for secret in sorted(set(secrets)):
        digest.update(len(secret.encode()).to_bytes(4, "big") + secret.encode())
    return digest.hexdigest()
