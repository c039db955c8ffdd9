"""A worker process running one catalog sync (`SyncFallbackOffersOperator`), for a test to kill.

Forked from the test process (`workers()`); the connection comes from
`AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT`.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from reliability_helpers import task_context

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator


def run_sync(catalog_file: str, counts_file: str, dry_run: bool = False) -> None:
    """The sync of the catalog in `catalog_file` (`{"catalog", "offers"}`); its counts are
    written to `counts_file` as JSON once it has finished."""
    spec = json.loads(Path(catalog_file).read_text())
    task = SyncFallbackOffersOperator(
        task_id="sync", catalog=spec["catalog"], offers=spec["offers"], prune=True, dry_run=dry_run
    )
    counts = task.execute(task_context())["counts"]
    Path(counts_file).write_text(json.dumps(counts))


def workers() -> multiprocessing.context.BaseContext:
    """Processes forked from the test's own: Airflow is imported already, so a worker runs at
    once (a fresh interpreter needs seconds to import it). The child only runs the sync with
    clients of its own; the emulator's threads stay behind in the parent."""
    return multiprocessing.get_context("fork")
