"""pytest fixtures for a user's own DAG tests: an Airflow home, a connection, `dag.test()`.

Part of `airflow_provider_offers.emulator.pytest_plugin` (see there). Everything is opt-in:
nothing changes for a test that takes none of these fixtures. `dag.test()` needs a migrated
metadata database and the DAG in a file inside the configured DAGs folder (a DAG defined in
the test module "is not serialized"); these fixtures give both, one migration per session and
a copy of that database per test.

Airflow reads its settings when it is first imported, and a test module has usually imported
it by the time a fixture runs: `offers_airflow_home` therefore sets the environment and points
Airflow's settings and database engine at the new home, and back afterwards.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .server import EmulatorServer

#: The connection `offers_connection` defines (the operators' default `adobe_conn_id`).
DEFAULT_CONN_ID = "adobe_offers_default"


def airflow_environment(home: Path) -> dict[str, str]:
    """The variables that give Airflow its own home: metadata DB, DAGs folder, no examples."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }


def _repoint_airflow() -> None:
    """Make an already imported Airflow read the environment's settings and database again."""
    settings = sys.modules.get("airflow.settings")
    if settings is None:
        return  # Airflow reads the environment when it is imported
    settings.configure_vars()
    settings.reconfigure_orm()


def share_one_execution_api() -> None:
    """Let every task `dag.test()` runs reuse one in-process execution API, as Airflow 3.3 does.

    Airflow 3.1 and 3.2 build a new FastAPI app (and an event-loop thread that never ends) for
    each task: about 2.5 CPU-seconds a task, most of a DAG test's time. Idempotent."""
    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(
            supervisor.in_process_api_server
        )


@pytest.fixture
def offers_token_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Iterator[Path]:
    """This test's own machine token cache (`$XDG_CACHE_HOME`), returned as its directory.

    The emulator forgets its tokens between tests; a token cached under `~/.cache` or in this
    process by an earlier test (or run) would be refused with a 401 first. Both are emptied;
    taken by `offer_library_emulator`.
    """
    cache_home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    _forget_client_tokens()
    yield cache_home / "airflow-provider-offers" / "ims-tokens"
    _forget_client_tokens()


def _forget_client_tokens() -> None:
    """Empty the client's in-process token cache, if the client is loaded at all (the
    emulator never imports the client: a token cache exists only where it was imported)."""
    tokens = sys.modules.get("airflow_provider_offers.api.token_source")
    if tokens is not None:
        tokens.ImsTokenSource.reset_cache()


@pytest.fixture(scope="session")
def offers_airflow_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite metadata database (`airflow db migrate`, once per session)."""
    home = tmp_path_factory.mktemp("offers-airflow-template")
    (home / "dags").mkdir()
    env = {**os.environ, **airflow_environment(home)}
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout}\n{done.stderr}")
    return home / "airflow.db"


@pytest.fixture
def offers_airflow_home(offers_airflow_database: Path, tmp_path: Path) -> Iterator[Path]:
    """An Airflow home of this test's own: a copy of the migrated database, an empty `dags`
    folder (`home / "dags"`), no example DAGs; Airflow points back at the previous one after."""
    home = tmp_path / "airflow-home"
    (home / "dags").mkdir(parents=True)
    shutil.copyfile(offers_airflow_database, home / "airflow.db")
    settings = airflow_environment(home)
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    _repoint_airflow()
    share_one_execution_api()
    try:
        yield home
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _repoint_airflow()


@pytest.fixture
def offers_connection(offer_library_emulator: EmulatorServer, monkeypatch) -> dict[str, Any]:
    """The connection `adobe_offers_default`, pointing at the emulator (API and IMS), sandbox
    `prod`, as an `AIRFLOW_CONN_...` variable; returned as its fields."""
    emulator = offer_library_emulator
    conn = {
        "conn_type": "adobe_offers",
        "host": emulator.url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {"org_id": emulator.org_id, "sandbox_name": "prod", "ims_url": emulator.url},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{DEFAULT_CONN_ID.upper()}", json.dumps(conn))
    return conn


@dataclass
class OffersDagRun:
    """What `run_offers_dag` returns: the run's state, each task's state and XComs, and the
    requests the emulator received during the run."""

    dag: Any
    dag_run: Any
    requests: list[Any] = field(default_factory=list)

    @property
    def state(self) -> str:
        return str(self.dag_run.state)

    @property
    def task_states(self) -> dict[str, str]:
        """`{task_id: state}`; a mapped task's instances as `task_id[map_index]`."""
        from airflow.models import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(TaskInstance).filter(
                TaskInstance.dag_id == self.dag.dag_id,
                TaskInstance.run_id == self.dag_run.run_id,
            )
            return {
                (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
                for ti in rows
            }

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """A task's XCom (its return value by default); None if there is none."""
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
            return None if row is None else XComModel.deserialize_value(row)


def _load_dag(path: Path, dag_id: str | None) -> Any:
    """The DAG the file defines (`dag_id` among several), parsed the way Airflow parses it."""
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(path), safe_mode=False)
    if bag.import_errors:
        raise ValueError(f"{path} did not import: {bag.import_errors}")
    if dag_id is not None:
        if dag_id not in bag.dags:
            raise ValueError(f"{path} defines no DAG {dag_id!r} (it defines {sorted(bag.dags)})")
        return bag.dags[dag_id]
    if len(bag.dags) != 1:
        raise ValueError(f"{path} defines {len(bag.dags)} DAGs {sorted(bag.dags)}: pass dag_id=")
    return next(iter(bag.dags.values()))


@pytest.fixture
def run_offers_dag(
    offers_airflow_home: Path,
    offers_connection: dict[str, Any],
    offer_library_emulator: EmulatorServer,
) -> Callable[..., OffersDagRun]:
    """`run_offers_dag(path, dag_id=None, files=(), **test_kwargs)`: run a DAG file through
    `dag.test()` against the emulator and return an `OffersDagRun`.

    The file is copied into this test's DAGs folder and imported from there, with `files`
    (names of files or folders beside it that the DAG reads: a catalog, say); `test_kwargs` go
    to `dag.test()` (`run_conf=...`, `logical_date=...`). `dag_id` is needed only when the file
    holds several DAGs.
    """

    def run(
        path: str | os.PathLike[str],
        dag_id: str | None = None,
        files: tuple[str, ...] = (),
        **test_kwargs: Any,
    ) -> OffersDagRun:
        source = Path(path).resolve()
        dags = offers_airflow_home / "dags"
        shutil.copyfile(source, dags / source.name)
        for name in files:
            beside = source.parent / name
            if beside.is_dir():
                shutil.copytree(beside, dags / name, dirs_exist_ok=True)
            else:
                shutil.copyfile(beside, dags / name)
        dag = _load_dag(dags / source.name, dag_id)
        seen = len(offer_library_emulator.requests)
        dag_run = dag.test(**test_kwargs)
        return OffersDagRun(dag, dag_run, list(offer_library_emulator.requests[seen:]))

    return run
