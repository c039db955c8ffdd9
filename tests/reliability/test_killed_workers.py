"""Killed workers: a catalog sync of 200 offers whose process is killed (SIGKILL) at a random
point, ten times in a row, then run to completion, leaves exactly the catalog (no offer twice)
and a further run plans nothing.

Each run is a new process (as Airflow runs a task's next try on a new worker; forked from
the test's, which has Airflow imported already, so it starts at once); the point of
each kill is the n-th request the emulator receives from it, n drawn at random (printed seed;
`OFFERS_KILL_SEED` replays it): while it lists, between writes or in the middle of eight.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from reliability_helpers import stored_offers
from sync_worker import run_sync, workers

OFFERS = 200
KILLS = 10


def start_worker(catalog_file: Path, counts_file: Path, dry_run: bool = False):
    worker = workers().Process(target=run_sync, args=(str(catalog_file), str(counts_file), dry_run))
    worker.start()
    return worker


def run_worker(catalog_file: Path, counts_file: Path, dry_run: bool = False) -> dict:
    worker = start_worker(catalog_file, counts_file, dry_run)
    worker.join(timeout=120)
    assert worker.exitcode == 0
    return json.loads(counts_file.read_text())


def api_requests(emulator) -> int:
    return sum(1 for r in emulator.requests if r.path.startswith("/data/"))


def test_a_sync_killed_ten_times_then_run_to_completion_leaves_exactly_the_catalog(
    offer_library_emulator, adobe_connection, dps, tmp_path
):
    emulator = offer_library_emulator
    seed = int(os.environ.get("OFFERS_KILL_SEED") or random.SystemRandom().randrange(10**6))
    draw = random.Random(seed)
    placement = dps.create_placement()
    offers = [
        dps.offer_body(f"Catalog offer {n:03d}", placement, description=f"text {n}")
        for n in range(OFFERS)
    ]
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps({"catalog": "killed", "offers": offers}))
    kill_points, took = [], []
    setup = len(emulator.requests)
    started = time.monotonic()

    for _ in range(KILLS):
        before = api_requests(emulator)
        kill_at = draw.randint(1, 30)
        worker = start_worker(catalog_file, tmp_path / "killed.json")
        while api_requests(emulator) - before < kill_at and worker.is_alive():
            time.sleep(0.002)
        worker.kill()
        worker.join(timeout=30)
        assert worker.exitcode == -signal.SIGKILL, "the worker finished before its kill"
        kill_points.append(api_requests(emulator) - before)
        took.append(round(time.monotonic() - started, 1))

    killed_writes = [r for r in emulator.requests[setup:] if r.method in ("POST", "PATCH")]
    counts = run_worker(catalog_file, tmp_path / "last.json")
    plan = run_worker(catalog_file, tmp_path / "further.json", dry_run=True)
    elapsed = time.monotonic() - started

    stored = [o for o in stored_offers(emulator) if o["name"].startswith("Catalog offer")]
    names = Counter(o["name"] for o in stored)
    duplicates = sum(n - 1 for n in names.values())
    wrong = [o["name"] for o in stored if o["description"] != f"text {int(o['name'][-3:])}"]
    print(
        f"\nkill figures (seed {seed}, replay: OFFERS_KILL_SEED={seed}): {OFFERS} offers, "
        f"{KILLS} SIGKILLs after {kill_points} requests, {len(killed_writes)} writes sent "
        f"by killed runs ({took}); the last run: {counts}; offers {len(stored)}, duplicates "
        f"{duplicates}, wrong {len(wrong)}; a further run plans {plan}; {elapsed:.1f} s"
    )
    assert duplicates == 0
    assert sorted(names) == sorted(o["name"] for o in offers)
    assert wrong == []
    assert plan == {"created": 0, "updated": 0, "unchanged": OFFERS, "deleted": 0, "blocked": 0}
