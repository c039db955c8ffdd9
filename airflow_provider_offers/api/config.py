"""`ClientConfig`: where and as whom the client calls, and the one reading of connection fields.

Every rule about the settings lives here once: which are required, the defaults (API host,
IMS host, scopes, sandbox), and the URL forms people paste (a bare host gets `https://`, a
pasted endpoint path is cut off). `ClientConfig.from_fields` turns an Airflow-style connection
(host, port, login, password, extras) into a config; the hook only calls it.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from airflow_provider_offers import (
    DEFAULT_API_URL,
    DEFAULT_IMS_URL,
    DEFAULT_SANDBOX,
    DEFAULT_SCOPES,
    __version__,
)
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import (
    parse_bool,
    parse_max_attempts,
    parse_max_retry_after,
    parse_org_id,
    parse_sandbox_name,
    parse_timeout,
)

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "DEFAULT_TIMEOUT",
    "DPS_PATH",
    "TOKEN_CACHE_MODES",
    "TOKEN_PATH",
    "ClientConfig",
    "normalize_scopes",
    "request_timeout",
]

DPS_PATH = "/data/core/dps"
TOKEN_PATH = "/ims/token/v3"
#: `/ims/token/v2`, `/ims/token/v1` and the JWT `/ims/exchange/jwt` are the older forms.
OLDER_IMS_ENDPOINT = (
    "{url!r} names an IMS endpoint; give the IMS base URL (e.g. 'https://ims-na1.adobelogin.com'): "
    "tokens come from /ims/token/v3 (OAuth server-to-server, as Adobe's Postman collection "
    "asks), the older /ims/token/v2, /ims/token/v1 and JWT forms are not supported"
)
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # adobe.io's gateway gives up after 60 s
DEFAULT_REFRESH_MARGIN = 300.0  # seconds; Adobe's own libraries use 5-10 minutes
#: Where IMS tokens are shared: by the processes of the machine (an encrypted file), within
#: one process, or not beyond one client.
TOKEN_CACHE_MODES = ("machine", "process", "off")

_LEGACY_PREFIX = "extra__adobe_offers__"
# Required settings: what a connection calls them and where it sets them.
_CONNECTION_FIELDS = {
    "client_id": ("Client ID", "its login"),
    "client_secret": ("client secret", "its password"),
    "org_id": ("IMS Org ID", "the extra field org_id"),
}
# Settings a connection names otherwise.
_CONNECTION_NAMES = {"base_url": "host"}
#: The extras a connection may hold (each also under `_LEGACY_PREFIX`): those `from_fields`
#: reads, and `ui_tenant`, which the extra links read (`links.py`).
KNOWN_EXTRAS = (
    "org_id",
    "sandbox_name",
    "scopes",
    "ims_url",
    "client_secrets",
    "token_cache",
    "token_cache_dir",
    "timeout",
    "max_attempts",
    "allow_insecure_http",
    "ui_tenant",
)

log = logging.getLogger("airflow_provider_offers.api")


def _warn_unknown_extras(extras: Mapping[str, Any], source: str) -> None:
    """An extra nothing reads is a typo more often than not (`sandbox` for `sandbox_name`
    sends every call to `prod`): say so, the closest known extras first."""
    for key in extras:
        name = str(key).removeprefix(_LEGACY_PREFIX)
        if name in KNOWN_EXTRAS:
            continue
        ranked = difflib.get_close_matches(name, KNOWN_EXTRAS, n=len(KNOWN_EXTRAS), cutoff=0)
        close = difflib.get_close_matches(name, KNOWN_EXTRAS, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        log.warning(
            "%s has an extra %r that nothing reads, ignored%s; the known extras: %s",
            source,
            key,
            guess,
            ", ".join(ranked),
        )


def _check_ims_url(base_url: str | None, ims_url: Any) -> None:
    """An API on this machine (the emulator) with Adobe's IMS is a forgotten `ims_url`: the
    token request would fail on a host name offline, far from the cause."""
    if ims_url is not None or not base_url or not _is_loopback(urlsplit(base_url).hostname or ""):
        return
    raise InvalidInputError(
        "ims_url",
        f"is unset while the host {base_url} is this machine (the emulator?): tokens "
        f"would be asked of Adobe's IMS ({DEFAULT_IMS_URL}); set the extra ims_url (for the "
        f"emulator, the same URL as the host), or to {DEFAULT_IMS_URL} if that is meant",
    )


def normalize_scopes(scopes: str | Sequence[str] | None) -> str:
    """Accept "a, b" or ["a", "b"] and emit IMS's comma-joined form "a,b"."""
    if scopes is None or scopes == "":
        return DEFAULT_SCOPES
    items = scopes.replace(" ", ",").split(",") if isinstance(scopes, str) else scopes
    cleaned = [item.strip() for item in items if item and item.strip()]
    if not cleaned:
        raise InvalidInputError("scopes", "no scope given")
    return ",".join(cleaned)


def _base_url(url: str, pasted_suffix: str) -> str:
    """`url` with a scheme (`https://` for a bare host), without a trailing `/` or a pasted
    endpoint path (`pasted_suffix`)."""
    url = url.strip().rstrip("/").removesuffix(pasted_suffix)
    return url if "://" in url else f"https://{url}"


def _checked_url(url: str, field: str) -> str:
    """`url` if it is an http(s) URL with a host name, a valid port and no blanks."""
    problem = f"{url!r} is not an http(s) URL with a host name, e.g. 'https://platform.adobe.io'"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidInputError(field, problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or url.split() != [url]:
        raise InvalidInputError(field, problem)
    return url


def _is_loopback(hostname: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: this machine (the emulator), where http is no risk."""
    if hostname.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _refuse_plain_http(url: str, field: str, allowed: bool) -> None:
    """Plain http carries the client secret (to IMS) and the tokens (to the API) in clear:
    only to this machine, unless the settings say so explicitly."""
    parts = urlsplit(url)
    if parts.scheme == "http" and not allowed and not _is_loopback(parts.hostname or ""):
        raise InvalidInputError(
            field,
            f"{url!r} uses plain http to a host that is not this machine, which would send the "
            "client secret and access tokens in clear: use https://, or set allow_insecure_http "
            "to true (a connection extra) if the network to that host is trusted",
        )


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _with_port(url: str, port: int | None) -> str:
    """The connection's separate port field, unless the host already names one or it is the
    scheme's own (the form asks for a port: Airflow 3.3.2's Test button needs one)."""
    parts = urlsplit(_checked_url(url, "base_url"))
    if not port or parts.port is not None or _DEFAULT_PORTS.get(parts.scheme) == port:
        return url
    return f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"


def _extra(extras: Mapping[str, Any], name: str) -> Any:
    """An extra by its plain or legacy key; "" and None mean unset."""
    for key in (name, _LEGACY_PREFIX + name):
        value = extras.get(key)
        if value is not None and value != "":
            return value
    return None


def _secrets(password: str | None, extra_secrets: Any) -> tuple[str, ...]:
    """The password first, then any `client_secrets` extra (list or comma string), deduplicated."""
    if isinstance(extra_secrets, str):
        extra_secrets = extra_secrets.split(",")
    secrets = [password] if password else []
    for secret in extra_secrets or ():
        if isinstance(secret, str) and secret.strip() and secret.strip() not in secrets:
            secrets.append(secret.strip())
    return tuple(secrets)


def _token_cache_mode(mode: Any) -> str:
    cleaned = mode.strip().lower() if isinstance(mode, str) else mode
    if cleaned not in TOKEN_CACHE_MODES:
        raise InvalidInputError(
            "token_cache", f"must be one of {', '.join(TOKEN_CACHE_MODES)}; got {mode!r}"
        )
    return cleaned


def _token_cache_dir(directory: Any) -> str | None:
    """None (the default directory) or an absolute path: a worker's working directory varies."""
    if directory is None or (isinstance(directory, str) and not directory.strip()):
        return None
    path = os.path.expanduser(str(directory).strip())
    if not os.path.isabs(path):
        raise InvalidInputError(
            "token_cache_dir", f"must be an absolute path (or start with ~); got {directory!r}"
        )
    return path


def request_timeout(seconds: float | None) -> httpx.Timeout:
    """The httpx timeout for `seconds` per request: connecting never waits longer than
    `DEFAULT_TIMEOUT` does (10 s), the rest takes the whole of it; None is the default."""
    if seconds is None:
        return DEFAULT_TIMEOUT
    connect = DEFAULT_TIMEOUT.connect or seconds
    return httpx.Timeout(seconds, connect=min(connect, seconds))


@dataclass(frozen=True)
class ClientConfig:
    """Where and as whom to call; the secrets never appear in `repr`."""

    client_id: str
    client_secrets: tuple[str, ...] = field(repr=False)
    org_id: str
    sandbox_name: str = DEFAULT_SANDBOX
    base_url: str = DEFAULT_API_URL
    ims_url: str = DEFAULT_IMS_URL
    scopes: str = DEFAULT_SCOPES
    timeout: httpx.Timeout | float = field(default_factory=lambda: DEFAULT_TIMEOUT)
    refresh_margin: float = DEFAULT_REFRESH_MARGIN
    user_agent_suffix: str | None = None
    token_cache: str = "machine"
    token_cache_dir: str | None = None
    #: Tries of a retryable request in all (the `RetryPolicy` default when None).
    max_attempts: int | None = None
    #: The longest `Retry-After` (seconds) waited in-process (the `RetryPolicy` default if None).
    max_retry_after: float | None = None
    #: Plain http to hosts other than this machine (the emulator's loopback never needs it).
    allow_insecure_http: bool = False
    #: Where the settings come from ("connection 'x'"), for errors that point at the fix.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        secrets = self.client_secrets
        secrets = (secrets,) if isinstance(secrets, str) else tuple(s for s in secrets or () if s)
        for name, value in (("client_id", self.client_id), ("org_id", self.org_id)):
            if not value or not str(value).strip():
                raise InvalidInputError(name, "required")
        if not secrets:
            raise InvalidInputError("client_secret", "required (at least one client secret)")
        sandbox = (self.sandbox_name or "").strip()
        if not sandbox:
            raise InvalidInputError("sandbox_name", "required (the sandbox technical name)")
        set_ = object.__setattr__
        set_(self, "client_secrets", secrets)
        set_(self, "client_id", self.client_id.strip())
        set_(self, "org_id", parse_org_id(self.org_id))
        set_(self, "sandbox_name", parse_sandbox_name(sandbox))
        base_url = _base_url(self.base_url or DEFAULT_API_URL, DPS_PATH)
        set_(self, "base_url", _checked_url(base_url, "base_url"))
        ims_url = _checked_url(_base_url(self.ims_url or DEFAULT_IMS_URL, TOKEN_PATH), "ims_url")
        if "/ims/" in urlsplit(ims_url).path + "/":
            raise InvalidInputError("ims_url", OLDER_IMS_ENDPOINT.format(url=ims_url))
        set_(self, "ims_url", ims_url)
        insecure = parse_bool(self.allow_insecure_http, "allow_insecure_http", default=False)
        set_(self, "allow_insecure_http", insecure)
        _refuse_plain_http(self.base_url, "base_url", insecure)
        _refuse_plain_http(self.ims_url, "ims_url", insecure)
        set_(self, "scopes", normalize_scopes(self.scopes))
        set_(self, "token_cache", _token_cache_mode(self.token_cache))
        set_(self, "token_cache_dir", _token_cache_dir(self.token_cache_dir))
        if not isinstance(self.timeout, httpx.Timeout):
            set_(self, "timeout", request_timeout(parse_timeout(self.timeout)))
        set_(self, "max_attempts", parse_max_attempts(self.max_attempts))
        set_(self, "max_retry_after", parse_max_retry_after(self.max_retry_after))

    @classmethod
    def from_fields(
        cls,
        *,
        host: str | None = None,
        port: int | None = None,
        login: str | None = None,
        password: str | None = None,
        extras: Mapping[str, Any] | None = None,
        sandbox_name: str | None = None,
        source: str = "the connection",
        **options: Any,
    ) -> ClientConfig:
        """The config an `adobe_offers` connection describes.

        host is the API base URL (a bare host gets `https://`; `port` is added unless the host
        names one), login the client id, password the client secret. `extras`: `org_id`,
        `sandbox_name`, `scopes`, `ims_url`, `client_secrets` (list or comma string, tried
        after the password), `token_cache` (machine, process, off), `token_cache_dir`,
        `timeout` (seconds per HTTP request), `max_attempts` (tries of a retryable request in
        all) and `allow_insecure_http` (plain http beyond this machine), each also under its
        legacy key `extra__adobe_offers__<name>`; "" counts as unset.
        `sandbox_name` overrides the extra. `options` are the other fields (`timeout`,
        `max_attempts`, `user_agent_suffix`, ...) and win over the extras when not None. A
        missing or bad field raises `InvalidInputError` naming it and where `source`
        (e.g. "connection 'x'") sets it.
        """
        extras, host = extras or {}, (host or "").strip()
        _warn_unknown_extras(extras, source)
        try:
            settings = {
                "sandbox_name": sandbox_name or _extra(extras, "sandbox_name"),
                "base_url": _with_port(_base_url(host, DPS_PATH), port) if host else None,
                "ims_url": _extra(extras, "ims_url"),
                "scopes": _extra(extras, "scopes"),
                "token_cache": _extra(extras, "token_cache"),
                "token_cache_dir": _extra(extras, "token_cache_dir"),
                "timeout": parse_timeout(_extra(extras, "timeout")),
                "max_attempts": parse_max_attempts(_extra(extras, "max_attempts")),
                "allow_insecure_http": _extra(extras, "allow_insecure_http"),
            }
            settings.update({name: value for name, value in options.items() if value is not None})
            config = cls(
                source=source,
                client_id=login or "",
                client_secrets=_secrets(password, _extra(extras, "client_secrets")),
                org_id=_extra(extras, "org_id") or "",
                **{name: value for name, value in settings.items() if value is not None},
            )
            _check_ims_url(settings["base_url"], settings["ims_url"])
            return config
        except InvalidInputError as exc:
            if exc.field in _CONNECTION_FIELDS and (exc.detail or "").startswith("required"):
                what, where = _CONNECTION_FIELDS[exc.field]
                raise InvalidInputError(exc.field, f"{source} has no {what}: set {where}") from None
            if exc.field == "sandbox_name" and sandbox_name:
                source = f"the sandbox_name override of {source}"
            field = _CONNECTION_NAMES.get(exc.field, exc.field)
            raise InvalidInputError(field, f"{exc.detail} (in {source})") from None

    @property
    def user_agent(self) -> str:
        agent = (
            f"airflow-provider-offers/{__version__} httpx/{httpx.__version__} "
            f"python/{platform.python_version()}"
        )
        return f"{agent} {self.user_agent_suffix}" if self.user_agent_suffix else agent
