"""What the sync and async clients share: requests built with Adobe's headers, answers
decoded into models or typed errors, one TLS context per process.

`OfferLibraryClient` and `AsyncOfferLibraryClient` (`api.client`) only differ in how they send
and sleep; everything else is here, once.
"""

from __future__ import annotations

import functools
import logging
import ssl
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError

from airflow_provider_offers.api.auth import ImsAuth, ImsTokenSource
from airflow_provider_offers.api.calls import (
    Call,
    Calls,
)
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import (
    OfferLibraryError,
    OutcomeUnknownError,
    ReceiptMissingError,
    UnreadableResponseError,
    describe_body,
    error_from_response,
    redact,
)
from airflow_provider_offers.api.retry import (
    RetryPolicy,
    parse_retry_after,
    status_error_class,
    transport_error,
)

if TYPE_CHECKING:
    pass  # typing.Unpack from Python 3.11

log = logging.getLogger("airflow_provider_offers.api")

T = TypeVar("T")


class ClientCore(Calls):
    """Everything the sync and async clients share: calls, requests, decoding, errors."""

    def __init__(
        self,
        config: ClientConfig,
        retry: RetryPolicy | None,
        on_token: Callable[[str], Any] | None,
    ) -> None:
        super().__init__(config)
        # The one place a client's policy is built: the task's (or connection's) options in
        # `config` win over `retry`'s numbers.
        self.retry = RetryPolicy.from_options(
            max_attempts=config.max_attempts, max_retry_after=config.max_retry_after, base=retry
        )
        self.token_source = ImsTokenSource.shared(config)
        self.auth = ImsAuth(self.token_source, on_token=on_token)

    def http_options(self) -> dict[str, Any]:
        return {
            "verify": _tls_context(),
            "auth": self.auth,
            "timeout": self.config.timeout,
            "headers": {
                "x-api-key": self.config.client_id,
                "x-gw-ims-org-id": self.config.org_id,
                "x-sandbox-name": self.config.sandbox_name,
                "User-Agent": self.config.user_agent,
            },
        }

    # -- requests and responses -----------------------------------------------------------

    @property
    def _secrets(self) -> list[str | None]:
        return [*self.config.client_secrets, self.token_source.cached_token]

    def _secrets_of(self, request: httpx.Request) -> list[str | None]:
        """`_secrets` and the token `request` carried (it may no longer be the cached one)."""
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return [*self._secrets, sent or None]

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        headers = {"x-request-id": call.request_id or str(uuid.uuid4()), "Accept": call.accept}
        if call.body is not None:
            headers["Content-Type"] = call.content_type
        return http.build_request(
            call.method,
            call.url,
            params=tuple(call.params) or None,
            json=call.body,
            headers=headers,
        )

    def _where(self, request: httpx.Request) -> str:
        return f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"

    def failure(self, call: Call, request: httpx.Request, exc: httpx.TransportError):
        try:
            failed = exc.request
        except RuntimeError:  # raised before a request was attached
            failed = request
        secrets = self._secrets_of(request)
        if failed is not request:  # the auth flow's IMS token request, not the call's
            error = self.token_source.transport_error(exc, secrets)
        else:
            error = transport_error(
                exc,
                resend_safe=call.resend_safe,
                where=f"{self._where(request)} (sandbox {self.config.sandbox_name!r})",
                request_id=request.headers.get("x-request-id"),
                secrets=secrets,
            )
        log.info("%s", error.message)
        return error

    def outcome(self, call: Call[T], request: httpx.Request, response: httpx.Response, attempt):
        request_id = request.headers.get("x-request-id")
        where = self._where(request)
        status = response.status_code
        # A successful read is routine (a sync lists thousands of offers): DEBUG. Writes and
        # every failure stay at INFO, so the task log shows what changed and what went wrong.
        routine = response.is_success and request.method == "GET"
        log.log(
            logging.DEBUG if routine else logging.INFO,
            "%s -> HTTP %d (x-request-id %s, sandbox %s)",
            where,
            status,
            request_id,
            self.config.sandbox_name,
        )
        if response.is_success:
            if _is_a_page(response):
                page = describe_body(
                    response.content, response.headers["content-type"], self._secrets_of(request)
                )
                raise self._unreadable(call, response, where, request_id, page, page=True)
            if not call.reads_body:
                return call.decode(None)
            return self._decode(call, response, where, request_id)
        if status == 404 and call.gone_is_done and attempt > 1:
            log.info("%s: already gone after an earlier attempt; treating as deleted", where)
            return call.decode(None)
        error_class = status_error_class(status, resend_safe=call.resend_safe)
        note = None
        if error_class is not None:
            note = "the write may have been applied, so it was not re-sent"
        elif status == 401 and response.history:
            note = "refused again after one token renewal"
        raise error_from_response(
            status=status,
            body=response.content,
            content_type=response.headers.get("content-type", ""),
            method=request.method,
            path=request.url.raw_path.decode("ascii", "replace"),
            request_id=request_id,
            sandbox=self.config.sandbox_name,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            secrets=self._secrets_of(request),
            error_class=error_class,
            note=note,
        )

    def _decode(self, call: Call[T], response: httpx.Response, where: str, request_id):
        try:
            data = response.json() if response.content else None
            return call.decode(data)
        except (ValueError, ValidationError) as exc:
            kind = response.headers.get("content-type", "no content type")
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                where_in_body = ".".join(str(part) for part in first["loc"]) or "body"
                problem = f"not the documented body ({where_in_body}: {first['msg']})"
            else:
                problem = f"not JSON ({kind})" if response.content else "empty"
            problem = redact(problem, self._secrets_of(response.request))
        # Raised outside the handler: the parse error holds the body, which must not stay
        # reachable as the new error's __context__.
        raise self._unreadable(call, response, where, request_id, problem)

    @staticmethod
    def _unreadable(
        call: Call,
        response: httpx.Response,
        where: str,
        request_id: str | None,
        problem: str,
        *,
        page: bool = False,
    ) -> OfferLibraryError:
        """The error for a 2xx whose body is not a readable answer.

        A read is asked again (`UnreadableResponseError` is retried). A write answered by the
        API without a receipt was applied, so the caller looks it up (`ReceiptMissingError`);
        a write answered with something the API never sends (an HTML page: a proxy's) may not
        have reached the API at all, so its outcome is unknown.
        """
        message = f"{where}: HTTP {response.status_code} but the answer is {problem}"
        if call.resend_safe:
            error_class: type[OfferLibraryError] = UnreadableResponseError
        elif page:
            error_class = OutcomeUnknownError
            message += "; it may not have reached the API, so it was not re-sent"
        else:
            error_class = ReceiptMissingError
        return error_class(
            f"{message} (x-request-id {request_id})",
            status=response.status_code,
            detail=problem,
            request_id=request_id,
        )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: httpx builds a new one (loading every CA
    certificate, ~0.1 s) for each client otherwise, and a task makes one client."""
    return httpx.create_ssl_context()


def _is_a_page(response: httpx.Response) -> bool:
    """An HTML body: never the API's answer (it speaks JSON), a proxy's or a login page."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return bool(response.content) and kind in ("text/html", "application/xhtml+xml")
