"""What tests steer and read besides the API itself: the request log and the control endpoints.

The control endpoints (`/_emulator/`) serve tests that run the emulator as a subprocess. They
answer anyone who can reach the port, so what they print hides every credential: the secrets
and tokens stay with the in-process objects (`EmulatorServer.config`, `.issued_tokens`), which
a test that started the emulator has. They take JSON only (a web page on another origin can
post a form or text/plain to localhost without asking, never JSON).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from .config import EmulatorConfig
from .exceptions import problem
from .responses import backend_of, json_body, json_response, media_type

#: Requests under this prefix steer the emulator; they are neither logged nor faulted.
CONTROL_PREFIX = "/_emulator/"
#: Stands for a credential when the request log is printed.
HIDDEN = "***"
_FORM_SECRET = re.compile(r"(client_secret=)[^&]*")


@dataclass
class RecordedRequest:
    """One request as the emulator received it (tests assert on what the server saw)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] | None = None
    text: str = ""
    status: int | None = None
    client_port: int | None = None  # tells which requests shared one connection

    def to_dict(self) -> dict[str, Any]:
        """The request as the log prints it (`GET /_emulator/requests`): the bearer token and
        the client secret hidden, wherever the client put it (form, query string, a body sent
        without a form type); tests in-process read the attributes as received."""
        printed = asdict(self)
        if "authorization" in self.headers:
            scheme = self.headers["authorization"].partition(" ")[0]
            printed["headers"]["authorization"] = f"{scheme} {HIDDEN}"
        if self.form and "client_secret" in self.form:
            printed["form"]["client_secret"] = HIDDEN
        if "client_secret" in self.query:
            printed["query"]["client_secret"] = [HIDDEN] * len(self.query["client_secret"])
        printed["text"] = _FORM_SECRET.sub(rf"\g<1>{HIDDEN}", self.text)
        return printed

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.to_dict().items())
        return f"RecordedRequest({fields})"


#: The emulator's access tokens: `emu-` and 43 URL-safe characters (32 random bytes).
ACCESS_TOKEN_SHAPE = re.compile(r"emu-[A-Za-z0-9_-]{43}")


def token_digest(token: str) -> str:
    """What `GET /_emulator/tokens` shows of a token: its SHA-256, enough to recognise it in a
    log one has (`tests/secrets_scan.py`), useless as a credential."""
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# The control endpoints (`urls.py` routes them)
# --------------------------------------------------------------------------------------------
async def control_body(request: Request) -> Any:
    """A control request's JSON body (`{}` when empty); 415 unless it says `application/json`:
    a cross-origin page can send a form, multipart, text/plain or no body without a CORS
    preflight, which the emulator never grants, but not JSON."""
    if media_type(request.headers.get("content-type"))[0] != "application/json":
        raise problem(415, "Content-Type: control requests take application/json only")
    return await json_body(request) if await request.body() else {}


def config_summary(config: EmulatorConfig) -> dict[str, Any]:
    """The settings as JSON (the clock is not one of them), one `***` per accepted secret."""
    summary: dict[str, Any] = {"answer_style": config.answer_style}
    for item in fields(config):
        value = getattr(config, item.name)
        if item.name != "clock":
            summary[item.name] = sorted(value) if isinstance(value, frozenset) else value
    summary["client_secrets"] = [HIDDEN] * len(config.client_secrets)
    return summary


async def health(request: Request) -> Response:
    return json_response(200, {"status": "ok"})


async def reset(request: Request) -> Response:
    await control_body(request)
    backend_of(request).reset()
    return json_response(200, {"status": "reset"})


async def revoke(request: Request) -> Response:
    await control_body(request)
    backend_of(request).ims.revoke()
    return json_response(200, {"status": "revoked"})


async def add_faults(request: Request) -> Response:
    """`inject_fault` arguments as JSON, or `{"kind": ..., "method", "path_prefix",
    "slow_seconds"}` for a named fault kind."""
    backend = backend_of(request)
    spec = await control_body(request)
    try:
        with backend.lock:
            backend.faults.add_spec(spec)
    except (TypeError, ValueError) as exc:
        raise problem(400, f"fault: {exc}") from exc
    return json_response(201, {"status": "added"})


async def fault_counts(request: Request) -> Response:
    backend = backend_of(request)
    with backend.lock:
        counts = dict(backend.faults.counts)
    return json_response(200, {"seed": backend.faults.seed, "counts": counts})


async def config(request: Request) -> Response:
    return json_response(200, config_summary(backend_of(request).config))


async def configure(request: Request) -> Response:
    """`configure(**changes)` over HTTP, e.g. `{"answer_style": "adobe-examples"}`."""
    changes = await control_body(request)
    if not isinstance(changes, dict) or "clock" in changes:
        raise problem(400, "configure: a JSON object of EmulatorConfig fields (not clock)")
    try:
        configured = backend_of(request).configure(**changes)
    except (TypeError, ValueError) as exc:
        raise problem(400, f"configure: {exc}") from exc
    return json_response(200, config_summary(configured))


async def requests(request: Request) -> Response:
    backend = backend_of(request)
    with backend.lock:
        return json_response(200, [r.to_dict() for r in backend.requests])


async def tokens(request: Request) -> Response:
    backend = backend_of(request)
    with backend.lock:
        issued = {
            "tokens_issued": backend.ims.tokens_issued,
            "access_token_sha256": [token_digest(t) for t in backend.ims.issued_tokens],
        }
        return json_response(200, issued)
