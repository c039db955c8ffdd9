"""Airflow names only the tests use, from where the installed release keeps them (3.1, 3.2,
3.3). The package's own names come from `airflow_provider_offers._compat`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from airflow.utils.state import TaskInstanceState

from airflow_provider_offers._compat import AIRFLOW_VERSION

if TYPE_CHECKING or not AIRFLOW_VERSION.startswith("3.1."):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import ParamValidationError, TaskDeferred
    from airflow.sdk.serde import deserialize, serialize
else:
    from airflow.exceptions import ParamValidationError, TaskDeferred
    from airflow.models.dagbag import DagBag
    from airflow.serialization.serde import deserialize, serialize

#: Airflow 3.3 gives tasks a task state store and watchers an asset state store, and shares
#: one poll between watchers (shared streams); before it, the package takes its fallbacks.
HAS_STATE_STORES = not AIRFLOW_VERSION.startswith(("3.1.", "3.2."))

#: A test of what only Airflow 3.3 offers (the fallback before it has tests of its own); the
#: 3.3 run of `scripts/dev.sh test` runs it.
needs_airflow_3_3 = pytest.mark.skipif(
    not HAS_STATE_STORES,
    reason=f"Airflow {AIRFLOW_VERSION} has no task/asset state store or shared streams (3.3+)",
)

#: Airflow 3.2 builds the connection form from the provider's declarative `conn-fields` and
#: `ui-field-behaviour`; 3.1 shows its generic form (extras typed as JSON).
IS_AIRFLOW_3_1 = AIRFLOW_VERSION.startswith("3.1.")
needs_airflow_3_2 = pytest.mark.skipif(
    IS_AIRFLOW_3_1, reason=f"Airflow {AIRFLOW_VERSION} has no declarative connection form (3.2+)"
)

#: The test reviewer (tests/example_dags/hitl_reviewer.py) answers a human-in-the-loop task
#: waiting in the `awaiting_input` state, which Airflow 3.3 introduced.
HAS_AWAITING_INPUT = hasattr(TaskInstanceState, "AWAITING_INPUT")
needs_awaiting_input = pytest.mark.skipif(
    not HAS_AWAITING_INPUT,
    reason=f"Airflow {AIRFLOW_VERSION}: HITL tasks do not wait in awaiting_input (3.3+)",
)

__all__ = [
    "HAS_AWAITING_INPUT",
    "HAS_STATE_STORES",
    "DagBag",
    "ParamValidationError",
    "TaskDeferred",
    "deserialize",
    "forget_masked_secrets",
    "needs_airflow_3_2",
    "needs_airflow_3_3",
    "needs_awaiting_input",
    "serialize",
]


def forget_masked_secrets() -> None:
    """A new process-global secrets masker: what an earlier test masked is forgotten."""
    import airflow.sdk._shared.secrets_masker as masker_module

    if hasattr(masker_module._secrets_masker, "cache_clear"):  # Airflow 3.2+: an lru_cache
        masker_module._secrets_masker.cache_clear()
    else:  # Airflow 3.1: a module global
        masker_module._global_secrets_masker = None  # type: ignore[attr-defined]
