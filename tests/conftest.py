"""Shared test setup.

Airflow reads AIRFLOW_HOME when it is first imported, so the temporary home is prepared here,
at import time, before any test module imports Airflow. Each pytest process gets its own home
(SQLite metadata DB, dags folder, no example DAGs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="offers-airflow-home-"))
(_AIRFLOW_HOME / "dags").mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_AIRFLOW_HOME / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)

pytest_plugins = ["airflow_provider_offers.emulator.pytest_plugin"]


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated SQLite metadata DB (once per pytest process, ~5-8 s)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    return airflow_home


@pytest.fixture
def adobe_connection(offer_library_emulator, monkeypatch) -> dict:
    """Point the default connection (`adobe_offers_default`) at the emulator, via env var."""
    emulator = offer_library_emulator
    conn = {
        "conn_type": "adobe_offers",
        "host": emulator.url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {
            "org_id": emulator.org_id,
            "sandbox_name": "prod",
            "ims_url": emulator.url,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", json.dumps(conn))
    return conn


class DagTestRun:
    """What a test reads back after `dag.test()`: task states, XComs."""

    def __init__(self, dag, dag_run):
        self.dag = dag
        self.dag_run = dag_run

    @property
    def state(self) -> str:
        return str(self.dag_run.state)

    def task_states(self) -> dict[str, str]:
        from airflow.models import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            tis = session.query(TaskInstance).filter(
                TaskInstance.dag_id == self.dag.dag_id,
                TaskInstance.run_id == self.dag_run.run_id,
            )
            return {
                (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
                for ti in tis
            }

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1):
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter(
                    XComModel.dag_id == self.dag.dag_id,
                    XComModel.run_id == self.dag_run.run_id,
                    XComModel.task_id == task_id,
                    XComModel.key == key,
                    XComModel.map_index == map_index,
                )
                .one_or_none()
            )
            if row is None:
                return None
            value = row.value
            return json.loads(value) if isinstance(value, (str, bytes)) else value


@pytest.fixture
def run_dag(airflow_db: Path):
    """Write DAG source into the dags folder, import it, run `dag.test()`, clean up.

    `run_dag(source, dag_id, **test_kwargs)` returns a DagTestRun. The file must live in the
    configured dags folder: `dag.test()` refuses DAGs it cannot serialize from there.
    """
    written: list[Path] = []

    def _run(source: str, dag_id: str, **test_kwargs) -> DagTestRun:
        path = airflow_db / "dags" / f"{dag_id}.py"
        path.write_text(textwrap.dedent(source))
        written.append(path)
        module_name = f"_test_dag_{dag_id}_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = next(
            value
            for value in vars(module).values()
            if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test")
        )
        dag_run = dag.test(**test_kwargs)
        return DagTestRun(dag, dag_run)

    yield _run
    for path in written:
        path.unlink(missing_ok=True)


@pytest.fixture
def tmp_dags(airflow_db: Path) -> Iterator[Path]:
    """The dags folder itself, for tests that manage their own files."""
    yield airflow_db / "dags"
