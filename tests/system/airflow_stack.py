"""Start and stop the real Airflow stack (and the emulator) as separate processes.

LocalExecutor by default; with `celery_workers` the stack runs the CeleryExecutor too (Redis,
Debian's `redis-server`, on a free port; that many `airflow celery worker`s).

Each component runs in its own process session, so a stop kills its whole process group (the
scheduler's LocalExecutor workers, the API server's uvicorn workers) and nothing a component
does can signal the test process. Every wait is bounded; a timeout raises an AssertionError
that carries the tail of every component's log, which is what one needs to see why.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from airflow_provider_offers.emulator.__main__ import LISTENING
from airflow_provider_offers.emulator.server import dps_client

T = TypeVar("T")

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    """A loopback port that is free right now (the usual bind-to-0 trick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def readable_task_log(path: Path, lines: int = 25) -> str:
    """A task log's JSON events as `level event`, exceptions as `type: value`, last ones only."""
    out = []
    for line in tail(path, lines).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(f"{event.get('level', '?')}: {event.get('event', '')}")
        out += [
            f"    {error.get('exc_type')}: {error.get('exc_value')}"
            for error in event.get("error_detail") or ()
        ]
    return "\n".join(out)


@dataclass
class Process:
    """A child process in its own session, with stdout and stderr in one log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str]
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal_group(self, sig: int) -> None:
        """Signal the whole process group: the leader and the workers it started."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)  # a session leader's pid is its group id

    def wait(self, timeout: float) -> bool:
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float = 10.0) -> None:
        stop_all([self], grace)


def stop_all(processes: list[Process], grace: float = 10.0) -> None:
    """SIGTERM every group at once, give them `grace` seconds in all, then SIGKILL every group
    (which also takes any worker that outlived its leader)."""
    for process in processes:
        process.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        process.signal_group(signal.SIGKILL)
        process.wait(5.0)


def start_emulator(log_dir: Path, timeout: float = 60.0) -> tuple[Process, str]:
    """`python -m airflow_provider_offers.emulator` on a port it picks; (process, its URL)."""
    process = Process(
        "emulator",
        [sys.executable, "-m", "airflow_provider_offers.emulator", "--port", "0"],
        log_dir / "emulator.log",
        dict(os.environ),
    )
    process.start()

    def listening() -> str | None:
        if process.exit_code() is not None:
            raise AssertionError(f"the emulator exited:\n{tail(process.log_path)}")
        found = LISTENING.search(process.log_path.read_text(errors="replace"))
        return found.group(1) if found else None

    try:
        url = wait_until(
            listening,
            timeout=timeout,
            what="the emulator to listen",
            diagnostics=lambda: tail(process.log_path),
        )
    except BaseException:
        process.stop()
        raise
    return process, url


def start_redis(log_dir: Path, timeout: float = 30.0) -> tuple[Process, str]:
    """Debian's `redis-server` on a free loopback port, nothing persisted; (process, URL)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise AssertionError("redis-server is missing: run `bash scripts/debian_packages.sh`")
    port = free_port()
    process = Process(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        log_dir / "redis.log",
        dict(os.environ),
    )
    process.start()

    def ready() -> bool:
        if process.exit_code() is not None:
            raise AssertionError(f"redis-server exited:\n{tail(process.log_path)}")
        return "Ready to accept connections" in process.log_path.read_text(errors="replace")

    try:
        wait_until(ready, timeout=timeout, what="redis-server", interval=0.1)
    except BaseException:
        process.stop()
        raise
    return process, f"redis://127.0.0.1:{port}"


def celery_settings(redis_url: str, concurrency: int) -> dict[str, str]:
    """CeleryExecutor (LocalExecutor stays available to tasks that name it) over Redis."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor,LocalExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"{redis_url}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"{redis_url}/1",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__CORE__PARALLELISM": str(2 * concurrency),
    }


def celery_workers_of(count: int, concurrency: int) -> list[tuple[str, list[str]]]:
    """`airflow celery worker` components; several on one host need their own names and no
    log server each (it would take the same port)."""
    return [
        (
            f"celery-worker-{n}",
            [
                "celery",
                "worker",
                "--concurrency",
                str(concurrency),
                "--skip-serve-logs",
                "--celery-hostname",
                f"worker{n}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        for n in range(1, count + 1)
    ]


class EmulatorView:
    """The emulator seen from outside over plain HTTP (not through our client)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dps = dps_client(url)

    def fallback_offers(self, **filters: str) -> list[dict]:
        """The first 100 fallback offers (`filters`: more query parameters, `property=...`)."""
        params = {"offer-type": "fallback", "limit": 100, **filters}
        return self.dps.get("/offers", params=params).raise_for_status().json()["results"]

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.url}/_emulator/requests", timeout=10).raise_for_status().json()

    def inject_fault(self, **fault: object) -> None:
        httpx.post(f"{self.url}/_emulator/faults", json=fault, timeout=10).raise_for_status()

    def issued_token_digests(self) -> list[str]:
        """The SHA-256 of every access token the emulator issued since its last reset (its
        controls hand out no token; `SecretsScan(token_digests=...)` recognises them)."""
        answer = httpx.get(f"{self.url}/_emulator/tokens", timeout=10).raise_for_status()
        return answer.json()["access_token_sha256"]


def wait_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 0.5,
) -> T:
    """Poll `check` until it returns something truthy; on timeout fail with `diagnostics()`."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = check()
        except (httpx.HTTPError, OSError) as exc:  # a component still starting up
            result, last_error = None, exc
        if result:
            return result
        if time.monotonic() > deadline:
            note = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}{note}\n{diagnostics()}"
            )
        time.sleep(interval)


class AirflowStack:
    """scheduler + dag-processor + triggerer + api-server on SQLite, in `home`, and any
    `extra_components` (name, `airflow` arguments): Celery workers, say."""

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        extra_env: Mapping[str, str] = (),
        extra_components: Sequence[tuple[str, list[str]]] = (),
    ) -> None:
        self.home = home
        self.components = [(name, [name]) for name in AIRFLOW_COMPONENTS]
        self.components += extra_components
        self.dags_folder = dags_folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = home / "component-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            # Five processes share one SQLite file: wait up to 60 s for a lock (default 5 s).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}?timeout=60",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            # One shared signing key: workers' tokens come from the scheduler, the API checks them.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            # Notice new DAG files and re-parse quickly: the test adds none after start-up.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # The machine token cache (and any other user cache) in the stack's home, not ~.
            "XDG_CACHE_HOME": str(home / "cache"),
            **dict(extra_env),
        }
        self.processes: list[Process] = []
        self._token: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        # Write-ahead logging: the scheduler's reads no longer block another process's write,
        # which the rollback journal did often enough to fail a backfill ("database is locked").
        conn = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        if conn.startswith("sqlite:///"):
            with contextlib.closing(
                sqlite3.connect(conn.removeprefix("sqlite:///").split("?")[0])
            ) as db:
                db.execute("PRAGMA journal_mode=WAL")

    def start(self) -> None:
        self.migrate()
        for name, args in self.components:
            process = Process(
                name,
                [sys.executable, "-m", "airflow", *args],
                self.log_dir / f"{name}.log",
                self.env,
            )
            self.processes.append(process)
            process.start()
        self.wait_healthy()

    def stop(self) -> None:
        stop_all(self.processes)

    def add_process(self, process: Process) -> None:
        """Another child (the emulator) to show in diagnostics and stop with the stack."""
        self.processes.append(process)

    # -- diagnostics and waiting -------------------------------------------------------------

    def diagnostics(self) -> str:
        parts = []
        for process in self.processes:
            parts.append(
                f"--- {process.name} (exit code {process.exit_code()}), "
                f"tail of {process.log_path}:\n{tail(process.log_path)}"
            )
        return "\n".join(parts)

    def check_alive(self) -> None:
        dead = [p.name for p in self.processes if p.exit_code() is not None]
        if dead:
            raise AssertionError(f"component(s) exited early: {dead}\n{self.diagnostics()}")

    def wait(self, check: Callable[[], T | None], *, timeout: float, what: str) -> T:
        def checked() -> T | None:
            self.check_alive()
            return check()

        return wait_until(checked, timeout=timeout, what=what, diagnostics=self.diagnostics)

    def wait_healthy(self, timeout: float = 90.0) -> None:
        def healthy() -> bool:
            body = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            return all(
                body.get(part, {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            )

        self.wait(healthy, timeout=timeout, what="scheduler, dag-processor, triggerer healthy")

    # -- REST API --------------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            response = httpx.get(f"{self.url}/auth/token", timeout=10)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
            **kwargs,
        )

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> dict:
        def parsed() -> dict | None:
            errors = self.api("GET", "/importErrors").json().get("import_errors", [])
            if errors:
                raise AssertionError(f"DAG import errors: {errors}")
            response = self.api("GET", f"/dags/{dag_id}")
            return response.json() if response.status_code == 200 else None

        return self.wait(parsed, timeout=timeout, what=f"DAG {dag_id} to be parsed")

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert response.status_code == 200, response.text

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        response = self.api(
            "POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        assert response.status_code == 200, (
            f"trigger {dag_id}: {response.status_code} {response.text}"
        )
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 120.0) -> dict:
        def finished() -> dict | None:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()
            return run if run.get("state") in ("success", "failed") else None

        run = self.wait(finished, timeout=timeout, what=f"run {run_id} of {dag_id} to finish")
        if run["state"] != "success":
            raise AssertionError(
                f"run {run_id} of {dag_id} ended {run['state']}; task states: "
                f"{self.task_states(dag_id, run_id)}\n{self.task_log_tails(dag_id, run_id)}"
                f"\n{self.diagnostics()}"
            )
        return run

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return response.json().get("task_instances", [])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def task_log_tails(self, dag_id: str, run_id: str) -> str:
        """The last events of each task's log, one line each, for failure messages."""
        root = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        logs = sorted(root.rglob("*.log")) if root.exists() else []
        return "\n".join(
            f"--- task log {path.relative_to(root)}:\n{readable_task_log(path)}" for path in logs
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        response = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": True},
        )
        assert response.status_code == 200, f"xcom {task_id}: {response.text}"
        return response.json()["value"]

    def airflow_cli(self, *args: str, timeout: float = 120.0) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout


@contextlib.contextmanager
def stack_on_emulator(
    home: Path,
    dags_folder: Path,
    extra_env: Mapping[str, str] = (),
    *,
    connections: Mapping[str, Mapping[str, Any]] = (),
    celery_workers: int = 0,
    concurrency: int = 4,
) -> Iterator[tuple[AirflowStack, str]]:
    """The emulator and a started stack whose `adobe_offers_default` points at it: (stack, the
    emulator's URL). `connections`: more connection ids, each the default one with these
    extras added. `celery_workers`: run the CeleryExecutor too, with Redis and that many
    workers of `concurrency`. Everything is stopped on the way out, also when the start fails."""
    from airflow_provider_offers.emulator.config import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_ORG_ID,
    )

    log_dir = home / "component-logs"
    log_dir.mkdir(exist_ok=True)
    started: list[Process] = []
    stack = None
    try:
        emulator, url = start_emulator(log_dir)
        started.append(emulator)
        connection = {
            "conn_type": "adobe_offers",
            "host": url,
            "login": DEFAULT_CLIENT_ID,
            "password": DEFAULT_CLIENT_SECRET,
            "extra": {"org_id": DEFAULT_ORG_ID, "sandbox_name": "prod", "ims_url": url},
        }
        env = {"AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT": json.dumps(connection)}
        for conn_id, extras in dict(connections).items():
            more = {**connection, "extra": {**connection["extra"], **extras}}
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(more)
        components: list[tuple[str, list[str]]] = []
        if celery_workers:
            redis, redis_url = start_redis(log_dir)
            started.append(redis)
            env.update(celery_settings(redis_url, concurrency))
            components = celery_workers_of(celery_workers, concurrency)
        stack = AirflowStack(home, dags_folder, {**env, **dict(extra_env)}, components)
        for process in started:
            stack.add_process(process)
        stack.start()
        yield stack, url
    finally:
        if stack is None:  # the stack could not even be built: the helpers are ours to stop
            stop_all(started)
        else:
            stack.stop()
