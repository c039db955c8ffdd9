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
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_offers.emulator.pytest_airflow import OffersDagRun, share_one_execution_api

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

#: Suites that run once under the emulator's strict answer style and once with its answers
#: looking like Adobe's documented examples (dates, links, etags, ids, extra members): the
#: folders right under tests/ (tests/unit/operators is the unit layer, not the operators suite).
BOTH_ANSWER_STYLES = ("operators", "sensors", "hooks", "decisions", "example_dags")
_TESTS = Path(__file__).parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--answer-styles",
        default="all",
        help="comma-separated emulator answer styles the BOTH_ANSWER_STYLES suites run under "
        "(default: all; the older-Airflow runs of scripts/dev.sh test use strict)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from airflow_provider_offers.emulator.config import ANSWER_STYLES

    path = metafunc.definition.path
    suite = path.relative_to(_TESTS).parts[0] if path.is_relative_to(_TESTS) else None
    if suite in BOTH_ANSWER_STYLES and "offer_library_emulator" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("answer_styles")
        styles = tuple(ANSWER_STYLES) if chosen == "all" else tuple(chosen.split(","))
        unknown = set(styles) - set(ANSWER_STYLES)
        if unknown:
            raise pytest.UsageError(f"--answer-styles: unknown style(s) {sorted(unknown)}")
        metafunc.parametrize("offer_library_emulator", styles, indirect=True)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def machine_token_cache(offers_token_cache: Path) -> Path:
    """The plugin's `offers_token_cache` for every test, emulator or not: the emulator forgets
    its tokens between tests, so must the cache."""
    return offers_token_cache


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
    share_one_execution_api()
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


class DagTestRun(OffersDagRun):
    """What a test reads back after `dag.test()`: the plugin's run (states, XComs), with
    `task_states()` called as a method, as the project's tests were written before it."""

    def task_states(self) -> dict[str, str]:  # type: ignore[override]
        return OffersDagRun.task_states.fget(self)  # type: ignore[attr-defined]


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
        # Bytecode is kept (scripts/dev.sh): a same-sized file rewritten within the second
        # would otherwise run the previous test's DAG from its stale .pyc.
        Path(importlib.util.cache_from_source(str(path))).unlink(missing_ok=True)
        written.append(path)
        module_name = f"_test_dag_{dag_id}_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = next(
            (
                value
                for value in vars(module).values()
                if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test")
            ),
            None,
        )
        if dag is None:  # `with DAG(...):` without a name: parsed as Airflow parses it
            from airflow_provider_offers.emulator.pytest_airflow import _load_dag

            dag = _load_dag(path, dag_id)
        dag_run = dag.test(**test_kwargs)
        return DagTestRun(dag, dag_run)

    yield _run
    for path in written:
        path.unlink(missing_ok=True)


@pytest.fixture
def tmp_dags(airflow_db: Path) -> Iterator[Path]:
    """The dags folder itself, for tests that manage their own files."""
    yield airflow_db / "dags"


# --------------------------------------------------------------------------------------------
# Someone else using the same Offer Library, over plain HTTP
# --------------------------------------------------------------------------------------------
DPS = "/data/core/dps"
WEB = "https://ns.adobe.com/xdm/channel-types/web"
SOMEONE_ELSES_CHANGE = [{"op": "add", "path": "/description", "value": "changed by someone else"}]


class Dps:
    """Another client of the emulator's Offer Library (a colleague in the Journey Optimizer UI,
    another pipeline, or a test arranging objects), over plain httpx in one sandbox.

    Deliberately not our client: a bug in it cannot hide in the set-up of its own tests. The
    request-log helpers read what the emulator received from anyone (the code under test too).
    """

    def __init__(self, emulator, sandbox: str = "prod") -> None:
        self.emulator = emulator
        self.sandbox = sandbox
        self.http = emulator.dps_client(sandbox)
        self._other_sandboxes: dict[str, Dps] = {}

    # -- bodies (plain dicts, as anyone would write them) ------------------------------------
    @staticmethod
    def placement_body(name: str = "Homepage banner") -> dict[str, Any]:
        """An image-link web placement (what `offer_body` representations refer to)."""
        return {"name": name, "componentType": "imagelink", "channel": WEB}

    @staticmethod
    def offer_body(
        name: str, placement: str, url: str = "https://cdn.example.com/a.png", **fields: Any
    ) -> dict[str, Any]:
        """An approved offer with one web image-link representation for `placement`."""
        return {
            "name": name,
            "status": "approved",
            "representations": [
                {
                    "channel": WEB,
                    "placement": placement,
                    "components": [
                        {"type": "imagelink", "format": "image/png", "deliveryURL": url}
                    ],
                }
            ],
            **fields,
        }

    def in_sandbox(self, sandbox: str) -> Dps:
        """The same emulator, seen from another sandbox (closed with this one)."""
        if sandbox == self.sandbox:
            return self
        if sandbox not in self._other_sandboxes:
            self._other_sandboxes[sandbox] = Dps(self.emulator, sandbox)
        return self._other_sandboxes[sandbox]

    def close(self) -> None:
        for other in self._other_sandboxes.values():
            other.close()
        self.http.close()

    # -- any object, by path (relative to /data/core/dps) ------------------------------------
    def create(self, path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        return self.http.post(path, json=body, params=params).raise_for_status().json()

    def get(self, path: str, **params: str) -> dict[str, Any]:
        return self.http.get(path, params=params).raise_for_status().json()

    def create_placement(self, name: str = "Homepage banner") -> str:
        return self.create("/placements", self.placement_body(name))["id"]

    # -- offers of one type ------------------------------------------------------------------
    def create_offer(self, offer: dict[str, Any], offer_type: str = "fallback") -> dict[str, Any]:
        return self.create("/offers", offer, **{"offer-type": offer_type})

    def get_offer(self, offer_id: str, offer_type: str = "fallback") -> dict[str, Any]:
        return self.get(f"/offers/{offer_id}", **{"offer-type": offer_type})

    def patch_offer(
        self,
        offer_id: str,
        operations: list[dict[str, Any]] | None = None,
        offer_type: str = "fallback",
    ) -> dict[str, Any]:
        """Apply a JSON Patch; by default someone else's one-line change to the description."""
        params = {"offer-type": offer_type}
        operations = SOMEONE_ELSES_CHANGE if operations is None else operations
        response = self.http.patch(f"/offers/{offer_id}", json=operations, params=params)
        return response.raise_for_status().json()

    def delete_offer(self, offer_id: str, offer_type: str = "fallback") -> None:
        params = {"offer-type": offer_type}
        self.http.delete(f"/offers/{offer_id}", params=params).raise_for_status()

    def offers(self, offer_type: str = "fallback") -> list[dict[str, Any]]:
        params = {"offer-type": offer_type, "limit": "100"}
        return self.get("/offers", **params)["results"]

    # -- what the emulator received ----------------------------------------------------------
    @staticmethod
    def offer_path(offer_id: str) -> str:
        """An offer's path as the emulator logs it."""
        return f"{DPS}/offers/{offer_id}"

    def requests_for(self, offer_id: str) -> list[str]:
        """The methods of the answered requests for this offer, in order.

        A 401 is left out: the client's token cache is per process while the emulator forgets
        its tokens between tests, so a test's first call may be refused and replayed once.
        """
        path = self.offer_path(offer_id)
        return [
            r.method
            for r in self.emulator.requests
            if r.path == path and r.status is not None and r.status != 401
        ]

    def reads_of(self, offer_id: str) -> int:
        return self.requests_for(offer_id).count("GET")

    def requests_after_change(self, offer_id: str) -> list[str]:
        """What was asked after the (one) patch or delete: ["GET"] if the waiter stopped as soon
        as it saw the change."""
        requests = self.requests_for(offer_id)
        changed = max(i for i, method in enumerate(requests) if method in ("PATCH", "DELETE"))
        return requests[changed + 1 :]

    def fail_reads(self, offer_id: str, status: int, times: int, **fault: Any) -> None:
        """The next `times` reads of the offer get `status` (emulator fault injection)."""
        self.emulator.inject_fault(
            "GET", self.offer_path(offer_id), status=status, times=times, **fault
        )


@pytest.fixture
def dps(offer_library_emulator) -> Iterator[Dps]:
    """The emulator's `prod` sandbox seen by someone else: see `Dps`."""
    client = Dps(offer_library_emulator)
    yield client
    client.close()


@pytest.fixture
def etag(offer_library_emulator) -> Callable[[int], int | str]:
    """`etag(n)`: version n as this emulator's answer style spells it (int or digit string)."""
    as_string = offer_library_emulator.config.string_etags
    return lambda version: str(version) if as_string else version


@pytest.fixture
def when_received(offer_library_emulator) -> Iterator[Callable[..., None]]:
    """`when_received(method, path_prefix, action, nth=1, answered=False)`: run `action()` in a
    background thread as soon as the emulator has logged the nth such request since this call.

    By default a request counts when it arrives (so the action runs while an injected delay
    holds it); with `answered=True` only once it was answered, other than with a 401 (a stale
    token, replayed): "after the sensor's second read". Waiting on what the server saw, not on
    a clock, holds on a slow machine. An action that fails or never ran fails the test.
    """
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def _watch(
        method: str,
        path_prefix: str,
        action: Callable[[], Any],
        nth: int = 1,
        answered: bool = False,
    ) -> None:
        seen = len(offer_library_emulator.requests)

        def counts(r) -> bool:
            if r.method != method or not r.path.startswith(path_prefix):
                return False
            return not answered or (r.status is not None and r.status != 401)

        def run() -> None:
            while True:
                ending = stop.is_set()
                if sum(map(counts, offer_library_emulator.requests[seen:])) >= nth:
                    try:
                        action()
                    except BaseException as exc:  # reported by the fixture below
                        errors.append(exc)
                    return
                if ending:
                    errors.append(AssertionError(f"the test ended before {method} {path_prefix}"))
                    return
                stop.wait(0.005)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)

    yield _watch
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]


@pytest.fixture
def task_output(capfd, caplog) -> Callable[[], str]:
    """Everything the tasks printed or logged so far (each call returns all of it).

    Both sources are needed: once a module imported Airflow at collection time, Airflow's log
    output keeps going to the stream it first saw, which `capfd` does not see, while the log
    records still reach `caplog`.
    """
    printed: list[str] = []

    def output() -> str:
        printed.extend(capfd.readouterr())
        return "".join(printed) + caplog.text

    return output
