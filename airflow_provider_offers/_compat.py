"""The one home for what differs between the Airflow releases we support (3.1, 3.2, 3.3).

Everything else imports these names from here instead of guessing where a release keeps them:

- the task exceptions and `conf` moved into `airflow.sdk` in 3.2 (3.1 has them in `airflow.*`);
- `amask_secret` (3.3): before it, `mask_secret` is safe to call from a coroutine;
- the task state store (3.3, `context["task_state_store"]`, absent before) and the asset state
  store a watcher's trigger gets (3.3, `asset_state_store(trigger)` is None before): callers
  take their path without one and say so in the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION

if TYPE_CHECKING:
    from airflow.sdk import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.sdk.log import amask_secret
else:
    try:  # Airflow 3.2+
        from airflow.sdk import conf
        from airflow.sdk.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
        )
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
        from airflow.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
        )

    try:  # Airflow 3.3+
        from airflow.sdk.log import amask_secret
    except ImportError:  # Airflow 3.1, 3.2: mask_secret "works safely in sync and async contexts"

        async def amask_secret(secret: Any, name: str | None = None) -> None:
            from airflow.sdk.log import mask_secret

            mask_secret(secret, name)


def asset_state_store(trigger: Any) -> Any | None:
    """The state store Airflow 3.3's triggerer gives a watcher's trigger; None before 3.3."""
    return getattr(trigger, "asset_state_store", None)


__all__ = [
    "AIRFLOW_VERSION",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "amask_secret",
    "asset_state_store",
    "conf",
]
