"""The answers the emulator gives when it refuses a request (gateway, IMS, DPS problem bodies)."""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class EmulatorError(Exception):
    """A refusal: HTTP status, JSON body, extra headers."""

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        media_type: str = "application/json",
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.media_type = media_type


def gateway_error(status: int, error_code: str, message: str) -> EmulatorError:
    """The Adobe I/O gateway's `{error_code, message}` body (AEP troubleshooting guide)."""
    return EmulatorError(status, {"error_code": error_code, "message": message})


def content_type_error() -> EmulatorError:
    """The documented body for a missing or wrong Content-Type on POST/PUT/PATCH."""
    return EmulatorError(
        400,
        {
            "type": "/placeholder/type/uri",
            "status": 400,
            "title": "BadRequestError",
            "detail": "A valid content-type must be specified",
        },
    )


def oauth_error(status: int, error: str, description: str) -> EmulatorError:
    """IMS answers failures as OAuth error bodies."""
    return EmulatorError(
        status,
        {"error": error, "error_description": description},
        headers={"cache-control": "no-store"},
    )


def problem(status: int, detail: str, *, service: str = "DPS", code: int = 1000) -> EmulatorError:
    """An RFC 7807 problem body in AEP's style; `detail` names the field at fault."""
    return EmulatorError(
        status,
        {
            "type": f"https://ns.adobe.com/aep/errors/{service}-{code:04d}-{status}",
            "status": status,
            "title": _TITLES.get(status, "Error"),
            "detail": detail,
        },
        media_type=PROBLEM_MEDIA_TYPE,
    )


def default_fault_body(status: int) -> dict[str, Any]:
    """Body for an injected fault when the test gives none: what Adobe would plausibly send."""
    if status == 429:
        return {"error_code": "429050", "message": "Too many requests"}
    if status == 401:
        return {"error_code": "401013", "message": "Oauth token is not valid"}
    return problem(status, "Injected fault", code=9999).body
