"""What tests steer and read besides the API itself: the request log and injected faults."""

from __future__ import annotations

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
        the client secret hidden; tests in-process read the attributes as received."""
        printed = asdict(self)
        if "authorization" in self.headers:
            scheme = self.headers["authorization"].partition(" ")[0]
            printed["headers"]["authorization"] = f"{scheme} {HIDDEN}"
        if self.form and "client_secret" in self.form:
            printed["form"]["client_secret"] = HIDDEN
        printed["text"] = _FORM_SECRET.sub(rf"\g<1>{HIDDEN}", self.text) if self.form else self.text
        return printed

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.to_dict().items())
        return f"RecordedRequest({fields})"


@dataclass
class Fault:
    """Answer the next `times` requests matching method and path prefix differently.

    With `status`, that status (and `body`, `headers`, `retry_after`) is the answer and the
    request is not handled; with `drop_after_commit` the request is handled and committed,
    then the connection is cut mid-answer; `delay_seconds` waits before either.
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

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("times: must be >= 1")
        if self.status is not None and self.drop_after_commit:
            raise ValueError("status and drop_after_commit: choose one")

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and path.startswith(self.path_prefix)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers or {})
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers
