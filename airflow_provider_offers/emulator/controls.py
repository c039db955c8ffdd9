"""What tests steer and read besides the API itself: the request log and injected faults.

The control endpoints (`/_emulator/`) answer anyone who can reach the port, so what they
print hides every credential: the secrets and tokens stay with the in-process objects
(`EmulatorServer.config`, `.issued_tokens`), which a test that started the emulator has.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

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


#: An HTML error page, as a proxy or load balancer in front of the API sends it.
PROXY_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
#: A login or maintenance page answered with 200 by a proxy that never forwarded the request.
PROXY_OK_PAGE = (
    "<!DOCTYPE html><html><head><title>Adobe - Service maintenance</title></head>"
    "<body><p>We'll be back soon.</p></body></html>"
)
HTML = "text/html; charset=utf-8"


@dataclass
class Fault:
    """Answer the next `times` requests matching method and path prefix differently.

    At most one of these decides what happens to the request:

    - `status`: that status (with `body` as JSON, or `raw_body` as text of `content_type`,
      and `headers`, `retry_after`) is the answer and the request is not handled;
    - `drop_before_commit`: the request is not handled and the connection is cut after the
      status line (the client sees it closed mid-answer, as with `drop_after_commit`);
    - `drop_after_commit`: the request is handled and committed, then the connection is cut
      mid-answer;
    - `body_after_commit`: the request is handled and committed and its answer's body is
      replaced by this text (`""`: an empty body), status kept.

    `delay_seconds` waits before any of them; `delay_after_commit_seconds` handles the request
    and holds its answer that long (a client with a shorter timeout gives up on a committed
    write). `revoke_tokens` revokes every token first (the request gets 401 401013). `kind`
    names the fault in `EmulatorServer.fault_counts`.
    """

    method: str
    path_prefix: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    times: int = 1
    retry_after: float | int | str | None = None
    drop_after_commit: bool = False
    delay_seconds: float = 0.0
    raw_body: str | None = None
    content_type: str | None = None
    drop_before_commit: bool = False
    body_after_commit: str | None = None
    delay_after_commit_seconds: float = 0.0
    revoke_tokens: bool = False
    kind: str | None = None

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("times: must be >= 1")
        outcomes = {
            "status": self.status is not None,
            "drop_before_commit": self.drop_before_commit,
            "drop_after_commit": self.drop_after_commit,
            "body_after_commit": self.body_after_commit is not None,
        }
        chosen = [name for name, given in outcomes.items() if given]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)}: choose one")
        if self.body is not None and self.raw_body is not None:
            raise ValueError("body and raw_body: choose one")
        if self.delay_seconds < 0 or self.delay_after_commit_seconds < 0:
            raise ValueError("delays: zero or more seconds")

    @property
    def handled(self) -> bool:
        """Whether the request reaches the API (and commits) under this fault."""
        return self.status is None and not self.drop_before_commit

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and path.startswith(self.path_prefix)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers or {})
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


IMS_TOKEN_PATH = "/ims/token/v3"

#: Named faults, each one way the network, a proxy, the gateway or IMS misbehaves. Random
#: faults (`EmulatorConfig.fault_rates`) are drawn from these; `faults_of_kind` builds them.
FAULT_KINDS: tuple[str, ...] = (
    "rate_limited",  # 429 with Retry-After: 1 (gateway body)
    "unavailable",  # 503 problem body, not handled
    "bad_gateway_html",  # 502 with a proxy's HTML page, not handled
    "html_200",  # 200 with a proxy's HTML page, not handled
    "empty_body",  # handled and committed, answered with its status and an empty body
    "dropped_before_commit",  # connection cut, not handled
    "dropped_after_commit",  # handled and committed, connection cut mid-answer
    "slow_before_commit",  # held `slow_seconds`, then cut without being handled
    "slow_after_commit",  # handled and committed, answer held `slow_seconds`
    "tokens_revoked",  # every token revoked before the request is checked
    "ims_unavailable",  # tokens revoked, and the next token request gets 503
    "ims_invalid_client",  # tokens revoked, and the next token request gets invalid_client
)


def faults_of_kind(
    kind: str, method: str = "*", path_prefix: str = "/", *, slow_seconds: float = 2.0
) -> list[Fault]:
    """The faults one named kind stands for: the first for the matching request, the rest
    (IMS kinds) for the token request it provokes."""
    where: dict[str, Any] = {"method": method, "path_prefix": path_prefix, "kind": kind}
    ims: dict[str, Any] = {"method": "POST", "path_prefix": IMS_TOKEN_PATH}  # counted once
    one: dict[str, dict[str, Any]] = {
        "rate_limited": {"status": 429, "retry_after": 1},
        "unavailable": {"status": 503},
        "bad_gateway_html": {"status": 502, "raw_body": PROXY_ERROR_PAGE, "content_type": HTML},
        "html_200": {"status": 200, "raw_body": PROXY_OK_PAGE, "content_type": HTML},
        "empty_body": {"body_after_commit": ""},
        "dropped_before_commit": {"drop_before_commit": True},
        "dropped_after_commit": {"drop_after_commit": True},
        "slow_before_commit": {"delay_seconds": slow_seconds, "drop_before_commit": True},
        "slow_after_commit": {"delay_after_commit_seconds": slow_seconds},
        "tokens_revoked": {"revoke_tokens": True},
    }
    if kind in one:
        return [Fault(**where, **one[kind])]
    if kind == "ims_unavailable":
        return [Fault(**where, revoke_tokens=True), Fault(**ims, status=503)]
    if kind == "ims_invalid_client":
        refusal = {
            "error": "invalid_client",
            "error_description": "invalid client_secret parameter",
        }
        return [Fault(**where, revoke_tokens=True), Fault(**ims, status=400, body=refusal)]
    raise ValueError(f"kind: one of {', '.join(FAULT_KINDS)}")
