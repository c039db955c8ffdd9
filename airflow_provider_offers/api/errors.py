"""One exception tree for every failure the Offer Library client can report.

`OfferLibraryError` is the root of every error this package raises on purpose: the client's
(below), the input rules' (`InvalidInputError`), the create-and-patch steps'
(`api.reconcile`: `NameTakenError`, `EtagMismatchError`, `OperationsDoNotApplyError`,
`ConcurrentModificationError`) and the catalog's (`CatalogError`, `ApplyError`).

Every error carries what a user needs to act on it or quote it to Adobe support: the HTTP
status, Adobe's `error_code` (gateway), problem `type` or IMS `error`, the `detail`, and the
`x-request-id` we sent. Messages are built from the response body only, never from request
headers, and pass through `redact` so a token or secret can never leak into a log line: the
whole body is redacted before any of it is parsed or cut to a snippet, and echoes of a secret
in its percent-, form-, JSON- or HTML-encoded forms are redacted too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from typing_extensions import Self  # typing.Self from Python 3.11

__all__ = [
    "TRANSIENT_ERRORS",
    "AuthenticationError",
    "ConflictError",
    "ConnectionFailedError",
    "InvalidInputError",
    "NotFoundError",
    "OfferLibraryError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ReceiptMissingError",
    "RequestValidationError",
    "ServerError",
    "UnreadableResponseError",
    "describe_body",
    "error_from_response",
    "redact",
]

_SNIPPET_CHARS = 300
# An echoed `Authorization: Bearer <token>` whose token we do not know (an older one, say).
_BEARER = re.compile(r"(\bBearer(?:\s|\+|%20)+)[A-Za-z0-9\-._~+/%]{16,}=*", re.IGNORECASE)
_HTML_NAMES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "(?:apos|#39)"}


class OfferLibraryError(Exception):
    """Base class: something the Offer Library (or IMS, or the network) refused or broke."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.detail = detail
        self.request_id = request_id
        # Seconds the server asked us to wait (`Retry-After` on a 429 or 503), if it said.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        for name in ("status", "error_code", "request_id"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def with_message(self, message: str, **changes: Any) -> Self:
        """A new error of this type and attributes but `message` (and `changes`): how a caller
        adds to an error it caught (raising the new one `from` it) without rewriting it."""
        return _rebuild(type(self), message, {**self.__dict__, "message": message, **changes})

    def __reduce__(self):
        # Keep the attributes when Airflow pickles the exception (keyword-only __init__).
        return _rebuild, (type(self), self.message, dict(self.__dict__))


def _rebuild(cls: type[OfferLibraryError], message: str, state: dict[str, Any]):
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(OfferLibraryError):
    """IMS refused the credentials, or the API refused the token even after one renewal."""


class PermissionDeniedError(OfferLibraryError):
    """HTTP 403: the credential's product profile or AEP role does not allow this."""


class NotFoundError(OfferLibraryError):
    """HTTP 404: no such object in this sandbox."""


class ConflictError(OfferLibraryError):
    """HTTP 409/412, or several objects share a name that must identify exactly one."""

    def __init__(self, message: str, *, conflicting_ids: Iterable[str] = (), **kwargs: Any):
        super().__init__(message, **kwargs)
        self.conflicting_ids = list(conflicting_ids)


class RequestValidationError(OfferLibraryError):
    """HTTP 400/422: the server rejected the request body or parameters."""


class RateLimitedError(OfferLibraryError):
    """HTTP 429; `retry_after` (seconds) is what the server asked us to wait, if it said.

    `beyond_wait_cap`: the wait is longer than the client sleeps in-process, so it was not
    retried (an Airflow task defers itself until then instead).
    """

    beyond_wait_cap: bool = False


class ServerError(OfferLibraryError):
    """HTTP 5xx."""


class ConnectionFailedError(OfferLibraryError):
    """The network failed (after retries) before a response arrived."""


class UnreadableResponseError(OfferLibraryError):
    """A read answered 2xx with a body that is not the API's (an HTML page from a proxy, an
    empty or non-JSON body): not a success, and safe to ask again, so retried."""


class OutcomeUnknownError(OfferLibraryError):
    """A non-idempotent request (POST/PATCH) may have reached the server, so it was not re-sent.

    The caller must look at the server's state (e.g. find the offer by name) to learn whether
    the write happened.
    """


class ReceiptMissingError(OutcomeUnknownError):
    """A write answered 2xx without a readable receipt (no body, no id, not JSON): it was
    applied, but which object or version it made is unknown, so the caller looks it up."""


class InvalidInputError(OfferLibraryError, ValueError):
    """Bad input, caught before any request was sent; `field` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", detail=problem)
        self.field = field


TRANSIENT_ERRORS: tuple[type[OfferLibraryError], ...] = (
    RateLimitedError,
    ServerError,
    ConnectionFailedError,
    UnreadableResponseError,
)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret (token, client secret) in `text` with `***`, also where a
    server echoed it encoded (percent or form encoding, JSON or HTML escapes, in any mix), and
    any bearer credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = _secret_pattern(secret).sub("***", text)
    return _BEARER.sub(r"\1***", text)


def _hex(number: int, digits: int) -> str:
    """`number` in hex, matching either case."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{number:0{digits}x}")


def _char_forms(char: str) -> str:
    """A regex for `char` as itself or in any of the encodings a server may echo it in."""
    forms = [re.escape(char), "".join("%" + _hex(byte, 2) for byte in char.encode())]
    if ord(char) <= 0xFFFF:
        forms.append(r"\\u" + _hex(ord(char), 4))
    forms.append(f"&#(?:0*{ord(char)}|[xX]0*{_hex(ord(char), 1)});")
    if char == " ":
        forms.append(r"\+")
    if char in '"\\/':
        forms.append(re.escape("\\" + char))
    if char in _HTML_NAMES:
        forms.append(f"&{_HTML_NAMES[char]};")
    return "(?:" + "|".join(forms) + ")"


@functools.lru_cache(maxsize=64)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    return re.compile("".join(_char_forms(char) for char in secret))


def _class_for_status(status: int) -> type[OfferLibraryError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status in (409, 412):
        return ConflictError
    if status in (400, 422):
        return RequestValidationError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return OfferLibraryError


def describe_body(body: bytes, content_type: str, secrets: Iterable[str | None] = ()) -> str:
    """A short, readable account of a non-JSON body: its kind and an HTML page's title;
    `secrets` are redacted from the whole body before a snippet of it is cut."""
    secrets = list(secrets)
    text = redact(body.decode("utf-8", errors="replace"), secrets)
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        text = title.group(1)
    else:
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
        text = re.sub(r"<[^>]+>", " ", text)
    text = redact(" ".join(text.split()), secrets)
    if len(text) > _SNIPPET_CHARS:
        text = text[:_SNIPPET_CHARS] + "..."
    kind = content_type.split(";")[0].strip() or "no content type"
    return f"non-JSON response ({kind})" + (f": {text}" if text else "")


def _parse_body(body: bytes, content_type: str) -> tuple[str | None, str]:
    """(code, detail) from any of Adobe's error shapes, or a snippet of a non-JSON body."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        if not body:
            return None, "empty response body"
        if isinstance(data, str):  # a JSON string: show its text
            return None, describe_body(data.encode(), content_type)
        return None, describe_body(body, content_type)
    if "error_code" in data:  # adobe.io gateway
        return str(data["error_code"]), str(data.get("message") or "")
    if "error" in data and isinstance(data["error"], str):  # IMS (OAuth)
        return data["error"], str(data.get("error_description") or data["error"])
    if "type" in data or "title" in data:  # RFC 7807 problem
        detail = data.get("detail") or data.get("title") or ""
        title = data.get("title")
        if title and detail and title != detail:
            detail = f"{title}: {detail}"
        return (str(data["type"]) if data.get("type") else None), str(detail)
    if isinstance(data.get("errors"), list) and data["errors"]:  # Reactor-style list
        first = data["errors"][0] if isinstance(data["errors"][0], dict) else {}
        return (
            str(first.get("code")) if first.get("code") else None,
            str(first.get("detail") or first.get("title") or first),
        )
    for key in ("errorMessage", "message", "detail"):
        if data.get(key):
            code = data.get("code") or data.get("errorCode")
            return (str(code) if code else None), str(data[key])
    return None, describe_body(json.dumps(data).encode(), "application/json")


def error_from_response(
    *,
    status: int,
    body: bytes,
    content_type: str,
    method: str,
    path: str,
    request_id: str | None,
    sandbox: str | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
    error_class: type[OfferLibraryError] | None = None,
    note: str | None = None,
) -> OfferLibraryError:
    """Build the typed error for a non-2xx response (gateway, problem, IMS or non-JSON body).

    The body is redacted before it is parsed or cut: no part of a secret survives in the
    message, the detail or the error code.
    """
    secrets = list(secrets)
    body = redact(body.decode("utf-8", errors="replace"), secrets).encode()
    code, detail = _parse_body(body, content_type)
    code = redact(code, secrets) if code else code
    detail = redact(detail, secrets) or f"HTTP {status}"
    where = f"{method} {path}" + (f" (sandbox {sandbox!r})" if sandbox else "")
    message = f"{where} failed with HTTP {status}"
    if code:
        message += f" [{code}]"
    message += f": {detail}"
    if note:
        message += f"; {note}"
    if request_id:
        message += f" (x-request-id {request_id})"
    cls = error_class or _class_for_status(status)
    kwargs: dict[str, Any] = {
        "status": status,
        "error_code": code,
        "detail": detail,
        "request_id": request_id,
        "retry_after": retry_after,
    }
    return cls(redact(message, secrets), **kwargs)
