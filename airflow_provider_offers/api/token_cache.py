"""The machine-wide IMS token cache: one token per (IMS URL, client id, scopes) per machine.

Airflow 3 runs every task in a fresh process, so the process cache of `auth.ImsTokenSource`
alone mints one token per task. With `token_cache="machine"` the token is also kept in a
file that every task process of the machine (a Celery worker host, a Kubernetes pod) reads:

- Never in clear: AES-GCM with a key derived (HKDF-SHA256, a random salt per file) from the
  client secret, the cache key bound in as associated data. A reader tries one key per
  configured secret, so secret rotation keeps working, and only holders of the secret can read
  the token.
- In a directory of the owner only, on a path no other local user can change: created `0700`,
  files `0600`. Every component from `/` down is opened without following symbolic links
  (a link on the path is followed only if this user or root owns it) and checked on the
  opened descriptor: owned by this user or root, and writable by no one else unless sticky
  (like `/tmp`); the directory itself must be this user's and no one else's (`private_dir`).
  Each use walks the path again, so a directory swapped after the check is noticed; files
  are opened `O_NOFOLLOW` (a `.lock` symbolic link creates nothing) and `O_NONBLOCK` (a FIFO
  never blocks), and must be regular files of this user. When any of it fails, or there is
  no home directory for the default path, the process cache is used instead, with a
  warning; the task never fails for it.
- Renewal is single-flight across processes: the renewer holds an exclusive `flock` on the
  entry's lock file while it reads the file, asks IMS and writes the answer; the other
  processes wait for the lock (polling it: an async caller awaits between tries, so the
  event loop keeps running), then find the new token. A token the API refused (401) is only
  replaced if the file still holds it (compare-and-swap), so a token another process has just
  renewed is not thrown away.
- A corrupt, foreign or undecryptable file is ignored, and replaced by the next renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import pwd
import secrets as _random
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from airflow_provider_offers.api.private_dir import (
    Unsafe,
    create_file,
    open_directory,
    open_file,
)

if TYPE_CHECKING:
    from airflow_provider_offers.api.config import ClientConfig

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows, where Airflow workers do not run
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockWait", "MachineTokenCache", "SharedToken", "default_cache_dir"]

log = logging.getLogger("airflow_provider_offers.api")

_MAGIC = b"offers-ims-token-v1\n"
_SALT_BYTES = 16
_NONCE_BYTES = 12
_KDF_INFO = b"airflow-provider-offers IMS token cache"
_MAX_FILE_BYTES = 64 * 1024  # a token file is a few KiB; anything bigger is not one


def _home() -> Path | None:
    """`$HOME` if absolute, else the passwd entry's home; None when there is neither."""
    home = os.environ.get("HOME", "")
    if not home:
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:  # a uid without a passwd entry (containers run as arbitrary uids)
            return None
    return Path(home) if os.path.isabs(home) else None


def default_cache_dir() -> Path | None:
    """`$XDG_CACHE_HOME` (or `~/.cache`) `/airflow-provider-offers/ims-tokens`; None when
    there is no home directory (no absolute `$HOME` nor passwd entry)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    home = _home()
    if os.path.isabs(base):
        root = Path(base)
    elif home is not None:
        root = home / ".cache"
    else:
        return None
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


class LockWait:
    """A pause between two tries of the file lock, taken by whoever drives the renewal:
    `wait()` sleeps (a sync call), `wait_async()` awaits (an event loop keeps running)."""

    __slots__ = ("_async_sleep", "_sleep", "seconds")

    def __init__(
        self,
        seconds: float,
        sleep: Callable[[float], object],
        async_sleep: Callable[[float], Awaitable[object]],
    ) -> None:
        self.seconds = seconds
        self._sleep, self._async_sleep = sleep, async_sleep

    def wait(self) -> None:
        self._sleep(self.seconds)

    async def wait_async(self) -> None:
        await self._async_sleep(self.seconds)


class FileLock:
    """An entry's open lock file (or none, when it could not be used); see `acquire`."""

    def __init__(self, cache: MachineTokenCache, fd: int | None) -> None:
        self._cache, self._fd = cache, fd

    def acquire(self) -> Generator[LockWait, None, bool]:
        """Take the exclusive lock (returns True), yielding a `LockWait` between tries; go
        on without it (False) after `lock_patience` seconds or a file error: a hung or
        broken cache must not stop the task, it only costs one more token."""
        cache, fd = self._cache, self._fd
        if fd is None:
            return False
        deadline = cache.clock() + cache.lock_patience
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if cache.clock() >= deadline:
                    log.warning("IMS token cache: %s stayed locked; renewing alone", cache.path)
                    return False
                yield LockWait(cache.poll_interval, cache.sleep, cache.async_sleep)
            except OSError as exc:
                log.warning("IMS token cache: cannot lock %s (%s)", cache.lock_path, exc.strerror)
                return False


class MachineTokenCache:
    """One credential's token file and lock file in a directory only its owner can use."""

    #: Seconds to wait for another process's renewal before renewing without the lock.
    lock_patience = 90.0
    #: Seconds between two tries of a lock another process holds.
    poll_interval = 0.02
    #: How the lock wait is measured and taken (tests replace them).
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], object] = staticmethod(time.sleep)
    async_sleep: Callable[[float], Awaitable[object]] = staticmethod(asyncio.sleep)

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
        try:
            if fcntl is None:
                raise Unsafe("file locks are not available here")
            if directory is None:
                raise Unsafe("there is no home directory (no absolute $HOME, no passwd entry)")
            os.close(open_directory(str(directory)))
        except Unsafe as problem:
            log.warning(
                "Not sharing IMS tokens between processes through %s: %s; each process "
                "caches its own token (set token_cache_dir to a directory only you can write)",
                directory or "the default cache directory",
                problem,
            )
            return None
        return cls(directory, config.ims_url, config.client_id, config.scopes)

    @contextlib.contextmanager
    def _directory(self, doing: str) -> Iterator[int | None]:
        """The checked directory's descriptor, or None (logged) when it is unsafe now."""
        try:
            fd = open_directory(str(self.directory))
        except Unsafe as problem:
            log.warning("IMS token cache: not %s %s: %s", doing, self.directory, problem)
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def _open_file(self, directory: int, path: Path, flags: int, doing: str) -> int | None:
        """`path` opened in `directory` as a regular file of ours, or None (logged)."""
        try:
            return open_file(directory, path.name, flags)
        except Unsafe as problem:
            log.warning("IMS token cache: not %s %s (%s)", doing, path, problem)
            return None

    # -- the lock -------------------------------------------------------------------------

    @contextlib.contextmanager
    def hold(self) -> Iterator[FileLock]:
        """The entry's lock file, open for `FileLock.acquire()`; leaving drops the lock."""
        if not self._held_here.acquire(blocking=False):
            yield FileLock(self, None)
            return
        try:
            with self._directory("locking in") as directory:
                flags = os.O_RDWR | os.O_CREAT
                fd = None
                if directory is not None:
                    fd = self._open_file(directory, self.lock_path, flags, "locking")
            try:
                yield FileLock(self, fd)
            finally:
                if fd is not None:
                    os.close(fd)  # closing drops the lock
        finally:
            self._held_here.release()

    @contextlib.contextmanager
    def locked(self) -> Iterator[bool]:
        """Hold the entry's lock (yields True), or go on without it (False), waiting with
        `sleep`: for sync callers; an async one drives `hold()` and awaits each `LockWait`."""
        with self.hold() as lock:
            steps = lock.acquire()
            while True:
                try:
                    next(steps).wait()
                except StopIteration as done:
                    held: bool = done.value
                    break
            yield held

    # -- the token file -------------------------------------------------------------------

    def _read_bytes(self) -> bytes | None:
        with self._directory("reading from") as directory:
            fd = None if directory is None else self._open_file(directory, self.path, 0, "reading")
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as file:
            return file.read(_MAX_FILE_BYTES + 1)

    def read(self, secrets: Sequence[str]) -> SharedToken | None:
        """The token in the file, decrypted with one of `secrets`; None when there is none or
        it is corrupt, truncated, foreign, unsafe or sealed with a secret not given."""
        try:
            blob = self._read_bytes()
        except OSError:
            return None
        if blob is None:
            return None
        header = len(_MAGIC) + _SALT_BYTES + _NONCE_BYTES
        if len(blob) <= header or len(blob) > _MAX_FILE_BYTES or not blob.startswith(_MAGIC):
            log.info("IMS token cache: ignoring %s (not a token file)", self.path)
            return None
        salt = blob[len(_MAGIC) : len(_MAGIC) + _SALT_BYTES]
        nonce, sealed = blob[header - _NONCE_BYTES : header], blob[header:]
        for secret in secrets:
            try:
                plain = AESGCM(_key(secret, salt)).decrypt(nonce, sealed, self._associated)
            except (InvalidTag, ValueError):
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
        """Remove the entry (call it holding the lock, after reading the token it holds)."""
        with self._directory("discarding in") as directory:
            if directory is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.path.name, dir_fd=directory)

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
        with self._directory("writing to") as directory:
            if directory is not None:
                self._replace(directory, _MAGIC + salt + nonce + sealed)

    def _replace(self, directory: int, blob: bytes) -> None:
        temporary = f".tmp-{_random.token_hex(8)}"
        try:
            fd = create_file(directory, temporary)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(blob)
                os.replace(temporary, self.path.name, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=directory)
                raise
        except OSError as exc:
            log.warning("IMS token cache: cannot write %s (%s)", self.path, exc.strerror)
