"""The fast layer: one task at a time, its hook mocked (pytest-mock); no database, no emulator.

What crosses HTTP is proven elsewhere, over loopback to the emulator and through `dag.test()`;
here each test checks a task's own logic in milliseconds: what it returns for XCom, what it
would send, and that bad input fails before anything is sent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_offers.hooks.offers import OfferLibraryHook


class TaskStateStore:
    """Airflow 3.3's `context["task_state_store"]`, in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


@pytest.fixture
def hook(mocker):
    """An `OfferLibraryHook` with every method mocked; the sandbox is "dev"."""
    hook = mocker.create_autospec(OfferLibraryHook, instance=True)
    hook.sandbox_name = "dev"
    return hook


@pytest.fixture
def with_hook(hook):
    """`with_hook(task)`: the task uses the mocked hook instead of building one."""

    def attach(task):
        task.__dict__["hook"] = hook
        return task

    return attach


@pytest.fixture
def context(mocker) -> dict[str, Any]:
    """What the task runner hands `execute`: the task instance and the task state store."""
    return {
        # A try that has just started (a sensor's deadline is counted from it).
        "ti": mocker.Mock(try_number=1, start_date=datetime.now(timezone.utc)),
        "task_state_store": TaskStateStore(),
    }
