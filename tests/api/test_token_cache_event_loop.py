"""The machine token cache inside an event loop (the triggerer): while another process holds
the cache's lock, an async caller waiting for it lets every other coroutine run. Real event
loop, a real process holding the lock, the emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

from client_helpers import ims_requests

from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.client import AsyncOfferLibraryClient, OfferLibraryClient
from airflow_provider_offers.api.resources import TAGS
from airflow_provider_offers.api.token_cache import MachineTokenCache

# Holds the lock file's flock until its stdin closes (as a process renewing would).
HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.read()
    """
)


async def test_waiting_for_another_process_lock_keeps_the_loop_running(
    emulator, config, retry, monkeypatch, caplog
):
    # The unfixed wait slept in the loop until the patience ran out; keep that failure short.
    monkeypatch.setattr(MachineTokenCache, "lock_patience", 5.0)
    with OfferLibraryClient(config, retry=retry) as client:
        client.list_page(TAGS)  # a token for the machine, in the cache file
    ImsTokenSource.reset_cache()  # a new task process: only the file has the token
    cache = MachineTokenCache.open(config)
    assert cache is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(cache.lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        async with AsyncOfferLibraryClient(config, retry=retry) as async_client:
            waiting = asyncio.create_task(async_client.list_page(TAGS))
            ticks = 0
            while ticks < 20:  # another trigger of the triggerer, running meanwhile
                await asyncio.sleep(0.001)
                ticks += 1
            assert not waiting.done(), "the call did not wait for the lock, or blocked the loop"
            assert holder.stdin is not None
            holder.stdin.close()  # the other process is done: the lock is released
            await waiting
    finally:
        holder.kill()
        holder.wait()

    assert ticks == 20
    assert len(ims_requests(emulator)) == 1  # the waiting call used the machine's token
    assert "stayed locked" not in caplog.text
