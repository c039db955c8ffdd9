"""Running the operators the way workers do, outside `dag.test()`: several at once in threads,
or in a process of their own (which a test may kill)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any


class TaskStateStore(dict):
    """Airflow 3.3's `context["task_state_store"]` (get/set), kept across a task's retries."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def task_context(store: TaskStateStore | None = None, try_number: int = 1) -> dict[str, Any]:
    """What the task runner hands `execute`: a task instance (its try) and the state store."""

    class TaskInstance:
        def __init__(self) -> None:
            self.xcoms: dict[str, Any] = {}  # what the task pushed besides its return value

        def xcom_push(self, key: str, value: Any) -> None:
            self.xcoms[key] = value

    ti = TaskInstance()
    ti.try_number = try_number  # type: ignore[attr-defined]
    ti.start_date = datetime.now(timezone.utc)  # type: ignore[attr-defined]  # sensors time out
    return {"ti": ti, "task_state_store": TaskStateStore() if store is None else store}


def run_together(*tasks: Callable[[], Any]) -> list[Any]:
    """Start every task at the same moment, each in its own thread; their results or the
    exceptions they raised, in order."""
    start = threading.Barrier(len(tasks))
    outcomes: list[Any] = [None] * len(tasks)

    def run(index: int, task: Callable[[], Any]) -> None:
        start.wait()
        try:
            outcomes[index] = task()
        except BaseException as exc:  # reported to the test as the outcome
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def stored_offers(emulator, kind: str = "fallback-offer") -> list[dict[str, Any]]:
    """Every offer the emulator holds, read from its state (not over HTTP: no fault, no page)."""
    with emulator.backend.lock:
        records = [
            record
            for store in emulator.backend.stores.values()
            for record in store.records[kind].values()
        ]
        return [{"id": r.id, "etag": r.etag, **r.entity} for r in records]
