"""The machine-wide IMS token cache: one token per (IMS URL, client id, scopes) per machine.

Airflow 3 runs every task in a fresh process, so the process cache of `auth.ImsTokenSource`
alone mints one token per task. With `token_cache="machine"` the token is also kept in a
file that every task process of the machine (a Celery worker host, a Kubernetes pod) reads:

- Never in clear: AES-GCM with a key derived (HKDF-SHA256, a random salt per file) from the
  client secret, the cache key bound in as associated data. A reader tries one key per
  configured secret, so secret rotation keeps working, and only holders of the secret can read
  the token.
- In a directory of the owner only: created `0700`, files `0600`; a directory that another
  user owns or that group or others can write is refused (the process cache is used instead,
  with a warning; the task never fails for it).
- Renewal is single-flight across processes: the renewer holds an exclusive `flock` on the
  entry's lock file while it reads the file, asks IMS and writes the answer; the other
  processes wait for the lock, then find the new token. A token the API refused (401) is only
  replaced if the file still holds it (compare-and-swap), so a token another process has just
  renewed is not thrown away.
- A corrupt, foreign or undecryptable file is ignored, and replaced by the next renewal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from airflow_provider_offers.api.config import ClientConfig

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows, where Airflow workers do not run
    fcntl = None  # type: ignore[assignment]

__all__ = ["MachineTokenCache", "SharedToken", "default_cache_dir"]

log = logging.getLogger("airflow_provider_offers.api")

_MAGIC = b"offers-ims-token-v1\n"
_SALT_BYTES = 16
_NONCE_BYTES = 12
_KDF_INFO = b"airflow-provider-offers IMS token cache"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME` (or `~/.cache`) `/airflow-provider-offers/ims-tokens`."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "airflow-provider-offers" / "ims-tokens"


@dataclass(frozen=True)
class SharedToken:
    """A token as the file holds it: wall-clock expiry (`time.time()`), lifetime in seconds."""

    value: str
    expires_at: float
    lifetime: float


def _key(secret: str, salt: bytes) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_KDF_INFO)
    return kdf.derive(secret.encode())


def _unsafe_directory(path: Path) -> str | None:
    """Why `path` (created `0700` if missing) must not hold tokens, or None if it may."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        return f"cannot create or read it ({exc.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if info.st_uid != os.geteuid():
        return "another user owns it"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"group or others can write it (mode {stat.S_IMODE(info.st_mode):o})"
    return None


class MachineTokenCache:
    """One credential's token file and lock file in a directory only its owner can use."""

    #: Seconds to wait for another process's renewal before renewing without the lock.
    lock_patience = 90.0

    def __init__(self, directory: Path, ims_url: str, client_id: str, scopes: str) -> None:
        self.directory = directory
        self._associated = json.dumps([ims_url, client_id, scopes]).encode()
        name = hashlib.sha256(self._associated).hexdigest()[:32]
        self.path = directory / f"{name}.token"
        self.lock_path = directory / f"{name}.lock"
        # Held while a caller of this process holds the file lock: a second one (a sync call
        # that gave up waiting for a coroutine of its own thread) must not wait for itself.
        self._held_here = threading.Lock()

    def __repr__(self) -> str:
        return f"MachineTokenCache({str(self.path)!r})"

    @classmethod
    def open(cls, config: ClientConfig) -> MachineTokenCache | None:
        """The machine cache `config` asks for; None (logging why) if it is off or unsafe."""
        if config.token_cache != "machine":
            return None
        directory = Path(config.token_cache_dir) if config.token_cache_dir else default_cache_dir()
        problem = "file locks are not available here" if fcntl is None else None
        problem = problem or _unsafe_directory(directory)
        if problem:
            log.warning(
                "Not sharing IMS tokens between processes through %s: %s; each process "
                "caches its own token (set token_cache_dir to a directory only you can write)",
                directory,
                problem,
            )
            return None
        return cls(directory, config.ims_url, config.client_id, config.scopes)

    # -- the lock -------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the entry's exclusive lock (yields True), or go on without it after
        `lock_patience` seconds or a file error (yields False): a hung or broken cache must
        not stop the task, it only costs one more token."""
        if not self._held_here.acquire(blocking=False):
            yield False
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._held_here.release()
            log.warning("IMS token cache: cannot open %s (%s)", self.lock_path, exc.strerror)
            yield False
            return
        try:
            yield self._acquire(fd)
        finally:
            os.close(fd)  # closing drops the lock
            self._held_here.release()

    def _acquire(self, fd: int) -> bool:
        deadline = time.monotonic() + self.lock_patience
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("IMS token cache: %s stayed locked; renewing alone", self.path)
                    return False
                time.sleep(0.02)
            except OSError as exc:
                log.warning("IMS token cache: cannot lock %s (%s)", self.lock_path, exc.strerror)
                return False

    # -- the token file -------------------------------------------------------------------

    def read(self, secrets: Sequence[str]) -> SharedToken | None:
        """The token in the file, decrypted with one of `secrets`; None when there is none or
        it is corrupt, foreign or sealed with a secret not given."""
        try:
            blob = self.path.read_bytes()
        except OSError:
            return None
        header = len(_MAGIC) + _SALT_BYTES + _NONCE_BYTES
        if len(blob) <= header or not blob.startswith(_MAGIC):
            log.info("IMS token cache: ignoring %s (not a token file)", self.path)
            return None
        salt = blob[len(_MAGIC) : len(_MAGIC) + _SALT_BYTES]
        nonce, sealed = blob[header - _NONCE_BYTES : header], blob[header:]
        for secret in secrets:
            try:
                plain = AESGCM(_key(secret, salt)).decrypt(nonce, sealed, self._associated)
            except InvalidTag:
                continue
            try:
                fields = json.loads(plain)
                return SharedToken(
                    str(fields["access_token"]),
                    float(fields["expires_at"]),
                    float(fields["lifetime"]),
                )
            except (ValueError, KeyError, TypeError):
                break
        log.info("IMS token cache: ignoring %s (no configured secret opens it)", self.path)
        return None

    def discard(self) -> None:
        """Remove the entry (call it holding `locked()`, after reading the token it holds)."""
        with contextlib.suppress(OSError):
            self.path.unlink()

    def write(self, token: SharedToken, secret: str) -> None:
        """Seal `token` with `secret` and replace the file atomically (a failure is logged)."""
        salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
        plain = json.dumps(
            {
                "access_token": token.value,
                "expires_at": token.expires_at,
                "lifetime": token.lifetime,
            }
        ).encode()
        sealed = AESGCM(_key(secret, salt)).encrypt(nonce, plain, self._associated)
        try:
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")  # mode 0600
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(_MAGIC + salt + nonce + sealed)
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            log.warning("IMS token cache: cannot write %s (%s)", self.path, exc.strerror)
