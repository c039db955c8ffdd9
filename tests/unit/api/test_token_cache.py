"""The machine token cache: the file on its own (sealing, what it refuses, locking), the
extras, and token sources sharing it as separate processes would (IMS and API mocked)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from airflow_provider_offers.api.auth import ImsAuth, ImsTokenSource
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.token_cache import (
    MachineTokenCache,
    SharedToken,
    default_cache_dir,
)

TOKEN = SharedToken("eyJ-the-access-token-value", expires_at=2_000_000_000.0, lifetime=86399.0)
SECRET, OTHER_SECRET = "p8e-first-client-secret", "p8e-second-client-secret"


def config(**changes) -> ClientConfig:
    settings = {
        "client_id": "client-id",
        "client_secrets": (SECRET,),
        "org_id": "ORG@AdobeOrg",
        "ims_url": "https://ims.example",
        **changes,
    }
    return ClientConfig(**settings)


@pytest.fixture
def cache(tmp_path: Path) -> MachineTokenCache:
    opened = MachineTokenCache.open(config(token_cache_dir=str(tmp_path / "tokens")))
    assert opened is not None
    return opened


def all_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.rglob("*") if path.is_file())


def test_a_written_token_is_read_back_with_its_secret(cache):
    cache.write(TOKEN, SECRET)

    assert cache.read([SECRET]) == TOKEN
    assert cache.read([OTHER_SECRET, SECRET]) == TOKEN  # rotation: every configured secret


def test_without_the_secret_that_sealed_it_the_file_is_ignored(cache, caplog):
    cache.write(TOKEN, SECRET)
    caplog.set_level(logging.INFO, "airflow_provider_offers.api")

    assert cache.read([OTHER_SECRET]) is None
    assert "no configured secret opens it" in caplog.text


def test_nothing_secret_in_clear_in_the_directory(cache):
    cache.write(TOKEN, SECRET)
    with cache.locked():
        pass

    written = all_bytes(cache.directory)
    assert written  # the token file and the lock file
    for clear in (TOKEN.value, SECRET, "client-id", "ims.example"):
        assert clear.encode() not in written


def test_owner_only_permissions(cache):
    cache.write(TOKEN, SECRET)
    with cache.locked():
        pass

    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in cache.directory.iterdir()}
    assert set(modes.values()) == {0o600}
    assert {name.rsplit(".", 1)[1] for name in modes} == {"token", "lock"}


@pytest.mark.parametrize("blob", [b"", b"garbage", b"offers-ims-token-v1\n" + b"x" * 64])
def test_a_corrupt_file_is_ignored_and_replaced(cache, blob):
    cache.path.write_bytes(blob)
    cache.path.chmod(0o600)  # as the cache writes them: ignored for its content, not its mode

    assert cache.read([SECRET]) is None
    cache.write(TOKEN, SECRET)
    assert cache.read([SECRET]) == TOKEN


def test_a_file_of_another_credential_is_ignored(tmp_path, cache):
    other = MachineTokenCache.open(
        config(token_cache_dir=str(tmp_path / "tokens"), client_id="another-client")
    )
    assert other is not None and other.path != cache.path
    other.write(TOKEN, SECRET)
    cache.path.write_bytes(other.path.read_bytes())  # same secret, foreign key
    cache.path.chmod(0o600)

    assert cache.read([SECRET]) is None


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_a_directory_others_can_write_is_refused(tmp_path, caplog, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)

    assert MachineTokenCache.open(config(token_cache_dir=str(shared))) is None
    assert "group or others can write it" in caplog.text
    assert list(shared.iterdir()) == []


def test_a_directory_of_another_user_is_refused(tmp_path, caplog, mocker):
    mocker.patch("os.geteuid", return_value=os.geteuid() + 1)

    assert MachineTokenCache.open(config(token_cache_dir=str(tmp_path))) is None
    assert "another user owns it" in caplog.text


def test_a_file_in_place_of_the_directory_is_refused(tmp_path, caplog):
    (tmp_path / "not-a-dir").write_text("")

    assert MachineTokenCache.open(config(token_cache_dir=str(tmp_path / "not-a-dir"))) is None
    assert "Not sharing IMS tokens" in caplog.text


def test_process_and_off_modes_use_no_file(tmp_path):
    for mode in ("process", "off"):
        assert (
            MachineTokenCache.open(config(token_cache=mode, token_cache_dir=str(tmp_path))) is None
        )
    assert list(tmp_path.iterdir()) == []


def test_default_directory_is_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "airflow-provider-offers" / "ims-tokens"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_cache_dir() == Path.home() / ".cache" / "airflow-provider-offers" / "ims-tokens"


def test_the_lock_is_exclusive_across_open_files(cache, caplog):
    cache.lock_patience = 0.2
    with cache.locked() as held:
        assert held
        other = os.open(cache.lock_path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)

    holder = os.open(cache.lock_path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with cache.locked() as held:  # another process holds it too long: go on alone
            assert held is False
        assert "stayed locked; renewing alone" in caplog.text
    finally:
        os.close(holder)
    with cache.locked() as held:
        assert held


def test_a_second_caller_in_the_same_process_does_not_wait_for_itself(cache):
    cache.lock_patience = 30.0
    with cache.locked() as first, cache.locked() as second:
        assert (first, second) == (True, False)


# -- the extras -------------------------------------------------------------------------------


def test_extras_choose_the_mode_and_directory(tmp_path):
    read = ClientConfig.from_fields(
        login="id",
        password="secret",
        extras={"org_id": "O@AdobeOrg", "token_cache": " Process ", "token_cache_dir": "~/t"},
    )
    assert read.token_cache == "process"
    assert read.token_cache_dir == os.path.expanduser("~/t")

    default = ClientConfig.from_fields(login="id", password="s", extras={"org_id": "O@AdobeOrg"})
    assert (default.token_cache, default.token_cache_dir) == ("machine", None)


@pytest.mark.parametrize(
    ("extras", "field", "problem"),
    [
        ({"token_cache": "disk"}, "token_cache", "must be one of machine, process, off"),
        ({"token_cache": 1}, "token_cache", "must be one of machine, process, off"),
        ({"token_cache_dir": "cache/here"}, "token_cache_dir", "must be an absolute path"),
    ],
)
def test_bad_extras_are_refused_naming_the_field(extras, field, problem):
    with pytest.raises(InvalidInputError) as raised:
        ClientConfig.from_fields(
            login="id", password="secret", extras={"org_id": "O@AdobeOrg", **extras}
        )
    assert raised.value.field == field
    assert problem in str(raised.value)


# -- two token sources (as two processes would hold) over one cache directory -----------------


class Ims:
    """IMS mints `token-N`; the API refuses the bearer tokens in `revoked` with a 401."""

    def __init__(self) -> None:
        self.minted = 0
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ims/token/v3":
            self.minted += 1
            return httpx.Response(
                200, json={"access_token": f"token-{self.minted}", "expires_in": 86399}
            )
        bearer = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401 if bearer in self.revoked else 200, text=bearer)


def call(ims: Ims, source: ImsTokenSource) -> str:
    """One API call through `source`; the bearer token the API accepted."""
    with httpx.Client(transport=httpx.MockTransport(ims), auth=ImsAuth(source)) as client:
        response = client.get("https://api.example/data/core/dps/offers")
    assert response.status_code == 200
    return response.text


def test_a_second_process_uses_the_first_ones_token(tmp_path):
    ims, shared = Ims(), config(token_cache_dir=str(tmp_path))

    assert call(ims, ImsTokenSource(shared)) == call(ims, ImsTokenSource(shared)) == "token-1"
    assert ims.minted == 1


def test_a_refused_token_is_replaced_once_for_every_process(tmp_path):
    ims, shared = Ims(), config(token_cache_dir=str(tmp_path))
    first, second = ImsTokenSource(shared), ImsTokenSource(shared)
    assert call(ims, first) == call(ims, second) == "token-1"
    ims.revoked.add("token-1")

    assert call(ims, first) == "token-2"  # renews, and the file now holds token-2
    assert call(ims, second) == "token-2"  # its 401 finds token-2: no second renewal
    assert ims.minted == 2


def test_a_token_sealed_with_a_rotated_out_secret_is_replaced(tmp_path):
    ims = Ims()
    call(ims, ImsTokenSource(config(token_cache_dir=str(tmp_path))))

    rotated = config(token_cache_dir=str(tmp_path), client_secrets=(OTHER_SECRET,))
    assert call(ims, ImsTokenSource(rotated)) == "token-2"
    both = config(token_cache_dir=str(tmp_path), client_secrets=(SECRET, OTHER_SECRET))
    assert call(ims, ImsTokenSource(both)) == "token-2"  # opened with the second secret
    assert ims.minted == 2


def test_with_the_process_cache_each_process_mints(tmp_path):
    ims, alone = Ims(), config(token_cache="process", token_cache_dir=str(tmp_path))

    assert call(ims, ImsTokenSource(alone)) != call(ims, ImsTokenSource(alone))
    assert ims.minted == 2


# -- the file format (issue 21 point 13's survivors) --------------------------------------------

KDF_INFO = b"airflow-provider-offers IMS token cache"


def sealed_by_hand(salt: bytes, nonce: bytes, secret: str, plain: bytes, bound: bytes) -> bytes:
    """A token file as the format says: magic, salt, nonce, AES-GCM under HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=KDF_INFO)
    key = hkdf.derive(secret.encode())
    return b"offers-ims-token-v1\n" + salt + nonce + AESGCM(key).encrypt(nonce, plain, bound)


def test_the_file_format_is_the_same_for_every_process_and_release(cache):
    """The processes of a machine upgraded one worker at a time share the file: a file in the
    format (16-byte salt, 12-byte nonce, the credential bound in) is read, and written so."""
    settings = config()
    bound = json.dumps([settings.ims_url, settings.client_id, settings.scopes]).encode()
    fields = {"access_token": TOKEN.value, "expires_at": TOKEN.expires_at, "lifetime": 86399.0}
    plain = json.dumps(fields).encode()
    assert cache.path.name == hashlib.sha256(bound).hexdigest()[:32] + ".token"  # found by all
    cache.path.write_bytes(sealed_by_hand(b"s" * 16, b"n" * 12, SECRET, plain, bound))
    cache.path.chmod(0o600)

    assert cache.read([SECRET]) == TOKEN

    cache.write(TOKEN, SECRET)
    blob = cache.path.read_bytes()
    salt, nonce = blob[20:36], blob[36:48]
    assert blob == sealed_by_hand(salt, nonce, SECRET, plain, bound)


def test_a_token_file_over_64_kib_is_not_one(cache, caplog):
    """A token file is a few KiB: one of 64 KiB is still read, one byte more is ignored."""
    caplog.set_level(logging.INFO, "airflow_provider_offers.api")
    cache.write(SharedToken("", TOKEN.expires_at, TOKEN.lifetime), SECRET)
    overhead = cache.path.stat().st_size
    at_bound = SharedToken("x" * (64 * 1024 - overhead), TOKEN.expires_at, TOKEN.lifetime)
    cache.write(at_bound, SECRET)
    assert cache.path.stat().st_size == 64 * 1024
    assert cache.read([SECRET]) == at_bound

    over = SharedToken(at_bound.value + "x", TOKEN.expires_at, TOKEN.lifetime)
    cache.write(over, SECRET)
    assert cache.read([SECRET]) is None
    assert "(not a token file)" in caplog.text


def test_discard_removes_the_token_from_the_machine(cache):
    """A token the API refused is never handed out again, even if IMS then fails."""
    cache.write(TOKEN, SECRET)

    cache.discard()

    assert cache.read([SECRET]) is None
    assert not cache.path.exists()


def test_a_failed_write_is_logged_and_leaves_no_temporary_file(cache, caplog):
    cache.path.mkdir()  # a directory in the token file's place: the rename over it fails
    (cache.path / "keep").touch()

    cache.write(TOKEN, SECRET)  # the task goes on: only the sharing is lost

    assert "IMS token cache: cannot write" in caplog.text
    assert sorted(path.name for path in cache.directory.iterdir()) == [cache.path.name]
