"""Airflow names only the tests use, from where the installed release keeps them (3.1, 3.2,
3.3). The package's own names come from `airflow_provider_offers._compat`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

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
#: `ui-field-behaviour`, and its human-in-the-loop API is the one the reviewer process answers
#: through; 3.1 shows its generic connection form (extras typed as JSON).
IS_AIRFLOW_3_1 = AIRFLOW_VERSION.startswith("3.1.")
needs_airflow_3_2 = pytest.mark.skipif(
    IS_AIRFLOW_3_1,
    reason=f"Airflow {AIRFLOW_VERSION}: no declarative connection form, an older HITL API (3.2+)",
)

__all__ = [
    "HAS_STATE_STORES",
    "IS_AIRFLOW_3_1",
    "DagBag",
    "ParamValidationError",
    "TaskDeferred",
    "deserialize",
    "forget_masked_secrets",
    "needs_airflow_3_2",
    "needs_airflow_3_3",
    "serialize",
]


def forget_masked_secrets() -> None:
    """A new process-global secrets masker: what an earlier test masked is forgotten."""
    import airflow.sdk._shared.secrets_masker as masker_module

    if hasattr(masker_module._secrets_masker, "cache_clear"):  # Airflow 3.2+: an lru_cache
        masker_module._secrets_masker.cache_clear()
    else:  # Airflow 3.1: a module global
        masker_module._global_secrets_masker = None  # type: ignore[attr-defined]
