"""The machine token cache against other local users and odd homes: symbolic links, FIFOs,
swapped directories, writable parents, a second OS user planting them (a forked child that
drops to an unused uid when the tests run as root, the same attack as this user otherwise),
no home directory; and the two survivors of issue 21's mutants (truncated files, a second
caller of the same process waiting). IMS and the API are an `httpx.MockTransport`."""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_offers.api.auth import ImsAuth, ImsTokenSource
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.token_cache import MachineTokenCache, SharedToken

TOKEN = SharedToken("eyJ-the-access-token-value", expires_at=2_000_000_000.0, lifetime=86399.0)
SECRET = "p8e-first-client-secret"
ROOT = os.geteuid() == 0


def config(**changes: Any) -> ClientConfig:
    settings = {
        "client_id": "client-id",
        "client_secrets": (SECRET,),
        "org_id": "ORG@AdobeOrg",
        "ims_url": "https://ims.example",
        **changes,
    }
    return ClientConfig(**settings)


def entry(directory: Path) -> MachineTokenCache:
    """The cache object for `directory`, unchecked (to learn the file names an attacker uses)."""
    return MachineTokenCache(directory, "https://ims.example", "client-id", config().scopes)


class Ims:
    """IMS mints `token-N`; the API accepts any bearer token and echoes it."""

    def __init__(self) -> None:
        self.minted = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ims/token/v3":
            self.minted += 1
            return httpx.Response(
                200, json={"access_token": f"token-{self.minted}", "expires_in": 86399}
            )
        return httpx.Response(200, text=request.headers["authorization"].removeprefix("Bearer "))


def call(ims: Ims, source: ImsTokenSource) -> str:
    """One API call through `source`; the bearer token the API received."""
    with httpx.Client(transport=httpx.MockTransport(ims), auth=ImsAuth(source)) as client:
        response = client.get("https://api.example/data/core/dps/offers")
    assert response.status_code == 200
    return response.text


def without_hanging(action: Callable[[], Any], *fifos: Path) -> Any:
    """`action()`'s result; fails (after unblocking it by opening `fifos` for writing) if
    it is still blocked after 30 s, as a read of a FIFO with no writer is."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = action()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        for fifo in fifos:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(30)
        pytest.fail(f"blocked on a FIFO ({', '.join(map(str, fifos))})")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def plant(path: Path, blob: bytes, mode: int = 0o600) -> None:
    """Write `path` as this user's file with `mode` (what `write` would leave, if 0600)."""
    path.write_bytes(blob)
    path.chmod(mode)


@pytest.fixture
def cache(tmp_path: Path) -> MachineTokenCache:
    opened = MachineTokenCache.open(config(token_cache_dir=str(tmp_path / "tokens")))
    assert opened is not None
    return opened


# -- what an attacker plants in or around the directory -------------------------------------


def test_a_symlinked_token_file_is_not_followed(cache, tmp_path, caplog):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    decoy = entry(elsewhere)
    decoy.write(TOKEN, SECRET)  # a genuine token file, but not in the cache directory
    cache.path.symlink_to(decoy.path)

    assert cache.read([SECRET]) is None
    assert "a symbolic link" in caplog.text


def test_a_dangling_lock_symlink_creates_nothing(cache, tmp_path, caplog):
    target = tmp_path / "victim" / "created-through-the-link"
    target.parent.mkdir()
    cache.lock_path.symlink_to(target)

    with cache.locked() as held:
        assert held is False  # renews without the lock rather than through the link
    assert not target.exists()
    assert "not locking" in caplog.text


def test_a_fifo_in_place_of_the_files_never_blocks(cache, caplog):
    os.mkfifo(cache.path, 0o600)
    os.mkfifo(cache.lock_path, 0o600)
    ims = Ims()
    source = ImsTokenSource(config(token_cache_dir=str(cache.directory)))

    assert without_hanging(lambda: call(ims, source), cache.path, cache.lock_path) == "token-1"
    assert "not a regular file" in caplog.text
    assert stat.S_ISREG(cache.path.lstat().st_mode)  # the renewal replaced the FIFO
    assert cache.read([SECRET]) is not None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_token_file_others_may_use_is_ignored(cache, caplog, mode):
    cache.write(TOKEN, SECRET)
    cache.path.chmod(mode)

    assert cache.read([SECRET]) is None
    assert "others may use it" in caplog.text


@pytest.mark.parametrize("mode", [0o770, 0o757, 0o777])
def test_a_parent_others_can_write_is_refused(tmp_path, caplog, mode):
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(mode)

    assert MachineTokenCache.open(config(token_cache_dir=str(parent / "tokens"))) is None
    assert f"group or others can write {parent}, on its path" in caplog.text
    assert list(parent.iterdir()) == []  # not even created


def test_a_sticky_parent_like_tmp_is_accepted(tmp_path):
    parent = tmp_path / "sticky"
    parent.mkdir()
    parent.chmod(0o1777)

    opened = MachineTokenCache.open(config(token_cache_dir=str(parent / "tokens")))
    assert opened is not None
    assert stat.S_IMODE((parent / "tokens").stat().st_mode) == 0o700


def test_a_directory_swapped_after_the_check_is_not_used(tmp_path, caplog):
    """Each use walks the path again: a parent that became writable by others after the
    check (and the directory swapped for another one through it) is refused then."""
    parent = tmp_path / "parent"
    parent.mkdir(mode=0o755)
    directory = parent / "tokens"
    source = ImsTokenSource(config(token_cache_dir=str(directory)))  # checks and creates it
    evil = tmp_path / "evil"
    evil.mkdir(mode=0o700)
    fifo = evil / entry(evil).path.name
    os.mkfifo(fifo, 0o600)
    target = tmp_path / "created-through-the-link"
    (evil / entry(evil).lock_path.name).symlink_to(target)
    parent.chmod(0o777)
    directory.rmdir()
    directory.symlink_to(evil)  # swapped between the check and the renewal

    assert without_hanging(lambda: call(Ims(), source), fifo) == "token-1"
    assert not target.exists()
    assert f"group or others can write {parent}, on its path" in caplog.text
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # nothing written there


def test_a_symbolic_link_on_the_path_is_followed_when_ours(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)

    opened = MachineTokenCache.open(config(token_cache_dir=str(tmp_path / "link" / "tokens")))
    assert opened is not None
    opened.write(TOKEN, SECRET)
    assert opened.read([SECRET]) == TOKEN
    assert (real / "tokens" / opened.path.name).is_file()


# -- a second OS user -------------------------------------------------------------------------


def unused_uid() -> int:
    uid = 54_321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def as_user(uid: int | None, action: Callable[[], Any]) -> Any:
    """`action()` run in a forked child as `uid` (None: this user), its JSON result back."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, act, report, never return into pytest
        code = 1
        try:
            os.close(reader)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            try:
                result: Any = {"result": action()}
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(writer, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child process failed"
    return json.loads(answer)


#: The other user: an unused uid when the tests run as root (as here and in CI); without
#: root the same attack is made by this user, so the test never skips.
ATTACKER = unused_uid() if ROOT else None


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory under /tmp both users can reach (pytest's tmp_path is owner-only)."""
    path = Path(tempfile.mkdtemp(prefix="offers-token-cache-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_another_user_swapping_the_directory_under_a_writable_parent(shared_tmp, caplog):
    """Issue 22's attack: under a parent the other user can write, they swap the checked
    directory for theirs, with a FIFO as the token file and the lock file a symbolic link
    to a file only we may create. The task neither hangs nor creates it: the writable parent
    is refused and the process cache used."""
    parent = shared_tmp / "open"
    parent.mkdir()
    parent.chmod(0o777)
    victim = shared_tmp / "victim"
    victim.mkdir(mode=0o755)
    directory = parent / "tokens"
    source = ImsTokenSource(config(token_cache_dir=str(directory)))
    names = entry(directory)
    directory.mkdir(mode=0o700, exist_ok=True)  # as the unfixed check left it

    def swap() -> str:
        directory.rename(parent / "checked")
        directory.mkdir()
        directory.chmod(0o777)
        os.mkfifo(names.path, 0o666)
        names.lock_path.symlink_to(victim / "created-by-the-task")
        return "swapped"

    assert as_user(ATTACKER, swap) == {"result": "swapped"}
    assert stat.S_ISFIFO(names.path.lstat().st_mode)

    assert without_hanging(lambda: call(Ims(), source), names.path) == "token-1"
    assert not (victim / "created-by-the-task").exists()
    assert "group or others can write" in caplog.text


def test_another_user_planting_the_directory_in_a_sticky_shared_dir(shared_tmp, caplog):
    """In a `/tmp`-like directory, the other user creates our cache directory first (a
    symbolic link to theirs, holding a FIFO and a dangling lock link): refused."""
    shared = shared_tmp / "sticky"
    shared.mkdir()
    shared.chmod(0o1777)
    theirs = shared / "theirs"
    directory = shared / "tokens"
    victim = shared_tmp / "created-by-the-task"

    def plant_link() -> str:
        theirs.mkdir(mode=0o700)
        os.mkfifo(theirs / entry(theirs).path.name, 0o600)
        (theirs / entry(theirs).lock_path.name).symlink_to(victim)
        directory.symlink_to(theirs)
        return "planted"

    assert as_user(ATTACKER, plant_link) == {"result": "planted"}
    source = ImsTokenSource(config(token_cache_dir=str(directory)))

    fifo = theirs / entry(theirs).path.name
    assert without_hanging(lambda: call(Ims(), source), fifo) == "token-1"
    assert not victim.exists()
    if ATTACKER is not None:
        assert stat.S_ISFIFO(fifo.lstat().st_mode)  # their directory is left alone
    expected = "a symbolic link another user owns" if ATTACKER else "not a regular file"
    assert expected in caplog.text


# -- no home directory (issue 21 point 12) ----------------------------------------------------


def call_without_machine_cache() -> dict[str, Any]:
    """In this process: open the default cache, make a call; what the task would see."""
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("airflow_provider_offers.api")
    logger.addHandler(handler)
    try:
        ims = Ims()
        source = ImsTokenSource(config())
        return {"bearer": call(ims, source), "shared": source._machine is not None, "log": messages}
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def no_xdg(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


def test_no_home_and_no_passwd_entry_falls_back(no_xdg, monkeypatch, mocker):
    monkeypatch.delenv("HOME", raising=False)
    mocker.patch("pwd.getpwuid", side_effect=KeyError("uid not found"))

    seen = call_without_machine_cache()

    assert seen["bearer"] == "token-1" and seen["shared"] is False
    assert any("there is no home directory" in message for message in seen["log"])


def test_a_relative_home_is_not_a_home(no_xdg, monkeypatch, tmp_path, mocker):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", "relative-home")
    mocker.patch("pwd.getpwuid", side_effect=KeyError("uid not found"))

    seen = call_without_machine_cache()

    assert seen["shared"] is False and list(tmp_path.iterdir()) == []


def test_no_home_variable_uses_the_passwd_home(no_xdg, monkeypatch, tmp_path, mocker):
    monkeypatch.delenv("HOME", raising=False)
    mocker.patch("pwd.getpwuid").return_value.pw_dir = str(tmp_path)

    assert call_without_machine_cache()["shared"] is True
    assert (tmp_path / ".cache" / "airflow-provider-offers" / "ims-tokens").is_dir()


def test_a_uid_without_passwd_entry_and_no_home_falls_back(no_xdg, monkeypatch, mocker):
    """As root, a real uid without an entry (containers run as arbitrary uids); otherwise
    the lookup fails as it would for one."""
    monkeypatch.delenv("HOME", raising=False)
    if not ROOT:
        mocker.patch("pwd.getpwuid", side_effect=KeyError("uid not found"))

    seen = as_user(unused_uid() if ROOT else None, call_without_machine_cache)

    assert "error" not in seen, seen
    assert seen["result"]["bearer"] == "token-1" and seen["result"]["shared"] is False
    assert any("there is no home directory" in line for line in seen["result"]["log"])


def test_a_read_only_home_falls_back(no_xdg, monkeypatch, shared_tmp):
    """A home the user cannot write (root's permission checks do not apply to root, so as
    root the call is made by another uid, in a home root owns)."""
    home = shared_tmp / "home"
    home.mkdir(mode=0o555)
    monkeypatch.setenv("HOME", str(home))

    seen = as_user(unused_uid() if ROOT else None, call_without_machine_cache)

    assert "error" not in seen, seen
    assert seen["result"]["bearer"] == "token-1" and seen["result"]["shared"] is False
    assert any("cannot create or open" in line for line in seen["result"]["log"])
    assert list(home.iterdir()) == []


# -- issue 21 point 13's survivors ------------------------------------------------------------


def test_a_token_file_truncated_anywhere_is_ignored_by_every_renewal(cache):
    cache.write(TOKEN, SECRET)
    whole = cache.path.read_bytes()
    ims = Ims()

    for length in range(len(whole)):
        plant(cache.path, whole[:length])
        assert cache.read([SECRET]) is None, length
        source = ImsTokenSource(config(token_cache_dir=str(cache.directory)))
        assert call(ims, source) == f"token-{length + 1}"  # renewed, and the file replaced
        assert cache.read([SECRET]) is not None

    assert ims.minted == len(whole)


class FakeClock:
    """The lock wait's clock and sleeps: each sleep moves the clock; the sleeps are kept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(cache) -> FakeClock:
    fake = FakeClock()
    cache.clock, cache.sleep, cache.async_sleep = fake, fake.sleep, fake.async_sleep
    return fake


def test_a_second_caller_in_the_same_process_does_not_wait_at_all(cache, clock):
    cache.lock_patience = 90.0
    with cache.locked() as first, cache.locked() as second:
        assert (first, second) == (True, False)

    assert clock.sleeps == []


def test_a_lock_held_elsewhere_is_waited_for_its_patience_then_given_up(cache, clock, caplog):
    cache.lock_patience, cache.poll_interval = 3.0, 0.5
    holder = os.open(cache.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl

        fcntl.flock(holder, fcntl.LOCK_EX)
        with cache.locked() as held:
            assert held is False
    finally:
        os.close(holder)

    assert clock.sleeps == [0.5] * 6  # 3 s of patience, in polls; then alone
    assert "stayed locked; renewing alone" in caplog.text


def test_a_lock_held_elsewhere_is_waited_for_90_s_in_polls_of_20_ms(cache, clock):
    """The defaults: long enough for another process's IMS call, short polls while waiting."""
    holder = os.open(cache.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl

        fcntl.flock(holder, fcntl.LOCK_EX)
        with cache.locked() as held:
            assert held is False
    finally:
        os.close(holder)

    assert set(clock.sleeps) == {0.02}
    assert clock.now == pytest.approx(90.0, abs=0.02)


def test_a_lock_file_that_cannot_be_locked_is_logged_and_gone_on_without(cache, mocker, caplog):
    """flock can fail outright (ENOLCK on some network file systems): no wait, no lock."""
    mocker.patch("fcntl.flock", side_effect=OSError(37, "No locks available"))

    with cache.locked() as held:
        assert held is False
    assert "cannot lock" in caplog.text and "No locks available" in caplog.text


def test_without_file_locks_the_process_cache_is_used(tmp_path, monkeypatch, caplog):
    """Where fcntl is missing (Windows), the machine cache is refused with a warning."""
    from airflow_provider_offers.api import token_cache

    monkeypatch.setattr(token_cache, "fcntl", None)

    assert MachineTokenCache.open(config(token_cache_dir=str(tmp_path / "tokens"))) is None
    assert "file locks are not available here" in caplog.text
    assert not (tmp_path / "tokens").exists()
