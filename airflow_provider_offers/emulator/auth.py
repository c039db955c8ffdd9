"""IMS and the Adobe I/O gateway: the tokens issued, and the checks every API request passes.

`Ims` issues client-credentials tokens (`POST /ims/token/v3`, parameters as sent) and the
gateway checks the headers of API calls against them, in the order Adobe's gateway makes its
checks. No HTTP here: `responses.py` reads the form and the headers.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from .config import EmulatorConfig
from .exceptions import gateway_error, oauth_error
from .models.store import Identity


@dataclass
class Token:
    client_id: str
    expires_at: float


class Ims:
    """The tokens issued since the last reset; thread-safe under the emulator's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.tokens: dict[str, Token] = {}
        self.tokens_issued = 0
        self.issued_tokens: list[str] = []  # every one, revoked or not (secrets scans)

    def issue(
        self,
        config: EmulatorConfig,
        *,
        grant_type: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None,
    ) -> dict[str, Any]:
        """`POST /ims/token/v3` with the client-credentials grant."""

        def required(name: str, value: str | None) -> str:
            if not value:
                raise oauth_error(400, "invalid_request", f"missing {name} parameter")
            return value

        grant = required("grant_type", grant_type)
        if grant != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
        if required("client_id", client_id) != config.client_id:
            raise oauth_error(400, "invalid_client", "invalid client_id parameter")
        secret = required("client_secret", client_secret)
        if not any(secrets.compare_digest(secret, s) for s in config.client_secrets):
            raise oauth_error(400, "invalid_client", "invalid client_secret parameter")
        scope = required("scope", scope)
        requested = [s.strip() for s in scope.split(",")]
        unknown = [s for s in requested if s not in config.allowed_scopes]
        if unknown or not all(requested):
            raise oauth_error(400, "invalid_scope", f"invalid scope: {','.join(unknown) or scope}")
        token = "emu-" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(
                config.client_id, time.time() + config.token_lifetime_seconds
            )
            self.tokens_issued += 1
            self.issued_tokens.append(token)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": config.token_lifetime_seconds,
        }

    def revoke(self) -> None:
        """Every token issued so far stops working (the next call gets 401 401013)."""
        with self.lock:
            self.tokens.clear()

    def authenticate(
        self,
        config: EmulatorConfig,
        *,
        authorization: str | None,
        api_key: str | None,
        org_id: str | None,
        sandbox: str | None,
    ) -> Identity:
        """The Adobe I/O gateway's header checks, in the order it makes them."""
        if not authorization:
            raise gateway_error(403, "403010", "Oauth token is missing.")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            known = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if known is None or known.expires_at <= time.time():
            raise gateway_error(401, "401013", "Oauth token is not valid")
        if not api_key:
            raise gateway_error(403, "403000", "Api Key is required")
        if api_key != known.client_id:
            raise gateway_error(403, "403003", "Api Key is invalid")
        if not org_id:
            raise gateway_error(400, "400003", "Missing header")
        if not org_id.endswith("@AdobeOrg"):
            raise gateway_error(403, "403027", "User region is missing")
        if org_id != config.org_id:
            raise gateway_error(403, "403025", "Profile is not valid")
        return Identity(known.client_id, org_id, sandbox or config.default_sandbox)
