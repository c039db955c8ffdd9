"""The machine token cache across real processes: separate Python processes (as Airflow runs
tasks) call the emulator over loopback HTTP and share one IMS token through the cache file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from client_helpers import api_requests, ims_requests

# Each process waits for a "go" file after its imports, so they all ask at the same moment.
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from airflow_provider_offers.api.client import OfferLibraryClient
    from airflow_provider_offers.api.config import ClientConfig
    from airflow_provider_offers.api.resources import TAGS

    settings, ready, go = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    config = ClientConfig(**settings)
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    with OfferLibraryClient(config) as client:
        client.list_page(TAGS, limit=1)
    """
)


def run_processes(emulator, tmp_path: Path, count: int, **settings) -> None:
    """`count` processes, each with a fresh client, released together; all must succeed."""
    config = {
        "client_id": emulator.client_id,
        "client_secrets": [emulator.client_secret],
        "org_id": emulator.org_id,
        "base_url": emulator.url,
        "ims_url": emulator.url,
        "timeout": 30.0,
        **settings,
    }
    run = tmp_path / f"run-{time.monotonic_ns()}"
    run.mkdir()
    go = run / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(config), str(run / f"ready-{i}"), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        for i in range(count)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(run.glob("ready-*"))) < count:
            assert all(p.poll() is None for p in processes), "a worker exited before starting"
            assert time.monotonic() < deadline, "workers did not get ready"
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    failed = [out for p, out in zip(processes, outputs, strict=True) if p.returncode != 0]
    assert failed == [], failed[0][-3000:]


def bearers(emulator) -> set[str]:
    return {r.headers["authorization"].removeprefix("Bearer ") for r in api_requests(emulator)}


def test_processes_starting_together_mint_one_token(emulator, tmp_path):
    emulator.inject_fault("POST", "/ims/token/v3", delay_seconds=0.3)  # let them pile up

    run_processes(emulator, tmp_path, 6)

    assert len(ims_requests(emulator)) == 1
    assert len(bearers(emulator)) == 1


def test_with_the_process_cache_every_process_mints_its_own(emulator, tmp_path):
    run_processes(emulator, tmp_path, 3, token_cache="process")

    assert len(ims_requests(emulator)) == 3


def test_a_revoked_token_is_renewed_once_for_all_processes(emulator, tmp_path):
    run_processes(emulator, tmp_path, 1)
    (first,) = bearers(emulator)
    emulator.revoke_tokens()

    run_processes(emulator, tmp_path, 5)

    assert len(ims_requests(emulator)) == 2  # the first token, then one renewal for all five
    refused = [r for r in emulator.requests if r.status == 401]
    assert {r.headers["authorization"] for r in refused} == {f"Bearer {first}"}
    assert len(bearers(emulator)) == 2


def test_a_corrupt_cache_file_is_ignored_and_replaced(emulator, tmp_path, machine_token_cache):
    run_processes(emulator, tmp_path, 1)
    (token_file,) = machine_token_cache.glob("*.token")
    token_file.write_bytes(b"\x00not a token file")

    run_processes(emulator, tmp_path, 2)
    run_processes(emulator, tmp_path, 2)

    assert len(ims_requests(emulator)) == 2  # the corrupt file cost one renewal, then shared
    assert token_file.read_bytes() != b"\x00not a token file"


def test_no_token_or_secret_in_clear_in_any_file_written(emulator, tmp_path, machine_token_cache):
    run_processes(emulator, tmp_path, 2)
    emulator.revoke_tokens()
    run_processes(emulator, tmp_path, 2)

    tokens = bearers(emulator)
    assert len(tokens) == 2
    files = [path for path in machine_token_cache.parent.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} == {".token", ".lock"}
    written = b"".join(path.read_bytes() for path in files)
    for clear in (*tokens, emulator.client_secret):
        assert clear.encode() not in written


def test_a_directory_others_can_write_falls_back_to_the_process_cache(emulator, tmp_path):
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    shared.chmod(0o775)  # group-writable (the unit tests try the other modes)

    run_processes(emulator, tmp_path, 2, token_cache_dir=str(shared))

    assert len(ims_requests(emulator)) == 2  # each process on its own, and both worked
    assert list(shared.iterdir()) == []
