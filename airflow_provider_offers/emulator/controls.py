"""What tests steer and read besides the API itself: the request log and the control endpoints.

The control endpoints (`/_emulator/`) answer anyone who can reach the port, so what they
print hides every credential: the secrets and tokens stay with the in-process objects
(`EmulatorServer.config`, `.issued_tokens`), which a test that started the emulator has.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

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
