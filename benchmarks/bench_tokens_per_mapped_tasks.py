"""IMS token requests per 100 mapped tasks: process token cache (before) vs machine cache (after).

Runs the system test's deployment (tests/system/test_token_cache_on_celery.py: the emulator,
Redis, two Celery workers of concurrency 4, scheduler, DAG processor, triggerer, API server, all
on this machine) and its DAG of 100 mapped fallback-offer creates, on the CeleryExecutor and the
LocalExecutor, once with `token_cache=process` and once with `token_cache=machine`. Prints what
the emulator received in each run; asserts nothing. Takes several minutes.

    .venv/bin/python benchmarks/bench_tokens_per_mapped_tasks.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "system"))

from test_token_cache_on_celery import (
    EXECUTORS,
    TASKS,
    deployment_of,
    run_mapped_creates,
)


def main() -> None:
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-mapped-") as home,
        deployment_of(Path(home)) as deployment,
    ):
        for executor in EXECUTORS:
            for cache in ("process", "machine"):
                started = time.perf_counter()
                figures = run_mapped_creates(deployment, executor, cache)
                rows.append((executor, cache, figures, time.perf_counter() - started))
    print(f"IMS token requests per {TASKS} mapped create tasks (one machine)")
    print(f"{'executor':<16} {'token cache':<12} {'IMS tokens':>10} {'offers':>7} {'run s':>7}")
    for executor, cache, figures, seconds in rows:
        print(
            f"{executor:<16} {cache:<12} {figures.ims_token_requests:>10} "
            f"{figures.offers:>7} {seconds:>7.0f}"
        )


if __name__ == "__main__":
    main()
