"""The README's demo: run example_fallback_offer_setup end to end against the emulator.

`bash scripts/dev.sh demo` runs this with the project's virtual environment. It

1. prepares a temporary AIRFLOW_HOME (SQLite, `airflow db migrate`) with the example DAG in
   its dags folder,
2. starts the Offer Library emulator (the `offers-emulator` console script) in its
   own process session and points the `adobe_offers_default` connection at it,
3. runs the DAG with `airflow dags test` (Airflow's `dag.test()`: every task in this process
   tree, the deferred sensor's trigger inline),
4. prints what happened: the offer, its etag before and after the patch, what the decision
   served,

and stops the emulator (its whole process group) however it ends. `--verbose` shows Airflow's
own output instead of keeping it in a log file; `--keep` keeps the temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_offers.emulator.__main__ import LISTENING
from airflow_provider_offers.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORG_ID,
)

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "example_fallback_offer_setup"
DAG_FILE = ROOT / "example_dags" / f"{DAG_ID}.py"
# The last line of a Python traceback: "package.module.SomeError: what went wrong".
ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception|Timeout)\b.*: .+")


class DemoFailed(Exception):
    """A step failed; the message says which and where its log is."""


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def errors_in(log: Path) -> str:
    """The distinct exception lines of a log: what went wrong, without the tracebacks."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = dict.fromkeys(line.strip() for line in lines if ERROR_LINE.match(line.strip()))
    return "\n".join(f"    {line}" for line in found) or tail(log, 20)


def prepare_home(home: Path) -> dict[str, str]:
    """Environment for an Airflow of our own: SQLite in `home`, the example DAG, no examples."""
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        }
    )
    return env


def run(argv: list[str], env: dict[str, str], log: Path | None, what: str) -> None:
    """Run a command to completion; its output goes to `log` (or the terminal when None)."""
    with open(log, "ab") if log else contextlib.nullcontext() as out:
        result = subprocess.run(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT if out else None, check=False
        )
    if result.returncode != 0:
        detail = f"; last lines of {log}:\n{tail(log)}" if log else ""
        raise DemoFailed(f"{what} failed (exit code {result.returncode}){detail}")


def start_emulator(log: Path) -> tuple[subprocess.Popen, str]:
    """The emulator on a port it picks itself, in its own session; (process, URL)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "offers-emulator"), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    stop(process)
    raise DemoFailed(f"the emulator did not start; its output:\n{tail(log)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after a few seconds."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def read_run() -> tuple[str, dict[str, str], dict[str, Any]]:
    """The latest run's state, task states and return values, from Airflow's metadata DB."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_run = (
            session.query(DagRun).filter(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc()).first()
        )
        if dag_run is None:
            raise DemoFailed(f"no run of {DAG_ID} was recorded")
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == dag_run.run_id
        )
        states = {ti.task_id: str(ti.state) for ti in tis}
        rows = session.query(XComModel).filter(
            XComModel.dag_id == DAG_ID,
            XComModel.run_id == dag_run.run_id,
            XComModel.key == "return_value",
        )
        values = {
            row.task_id: json.loads(row.value) if isinstance(row.value, (str, bytes)) else row.value
            for row in rows
        }
        return str(dag_run.state), states, values


def account(values: dict[str, Any], emulator_url: str) -> str:
    """What the run did, in a few lines."""
    offer = values["create_fallback_offer"]
    patched = values["patch_fallback_offer"]
    change = values["wait_for_offer_change"]
    (proposition,) = values["request_decision"]["xdm:propositions"]
    served = proposition.get("xdm:fallback") or proposition["xdm:options"][0]
    kind = "its fallback offer" if "xdm:fallback" in proposition else "a personalized offer"
    return "\n".join(
        [
            f"Offer Library: the emulator at {emulator_url} (sandbox {offer['sandbox']!r})",
            f"Placement      {values['create_placement']['id']}",
            f"Personalized   {values['create_personalized_offer']['id']}  "
            f"{values['create_personalized_offer']['name']!r} (gold loyalty members only)",
            f"Fallback offer {offer['id']}  {offer['name']!r} ({offer['action']})",
            f"Decision       {values['create_decision']['id']}  "
            f"{values['create_decision']['name']!r}",
            f"Etag           {offer['etag']} after the create step, {patched['etag']} after the "
            "patch",
            f"Sensor         saw etag {change['previous_etag']} -> {change['etag']} and let the "
            "decision request through",
            f"Decision req.  a visitor with no loyalty tier was served {kind}",
            f"               {served['xdm:id']} (etag {served.get('repo:etag')}), "
            f"image {served.get('xdm:deliveryURL')}",
            f"Check          check_fallback_served confirmed the patched offer "
            f"{values['check_fallback_served']['id']} was served",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own output")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="offers-demo-"))
    logs = home / "demo-logs"
    logs.mkdir()
    emulator: subprocess.Popen | None = None
    ok = False
    try:
        step(f"Temporary Airflow home {home} (SQLite): airflow db migrate")
        env = prepare_home(home)
        quiet = None if args.verbose else logs / "airflow.log"
        run([sys.executable, "-m", "airflow", "db", "migrate"], env, quiet, "airflow db migrate")

        step("Starting the Offer Library emulator (offers-emulator)")
        emulator, url = start_emulator(logs / "emulator.log")
        print(f"    listening on {url}")
        env["AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT"] = json.dumps(
            {
                "conn_type": "adobe_offers",
                "host": url,
                "login": DEFAULT_CLIENT_ID,
                "password": DEFAULT_CLIENT_SECRET,
                "extra": {"org_id": DEFAULT_ORG_ID, "sandbox_name": "prod", "ims_url": url},
            }
        )

        step(f"Running {DAG_ID} end to end (airflow dags test)")
        started = time.monotonic()
        with contextlib.suppress(DemoFailed):  # the run's own record says what failed
            run([sys.executable, "-m", "airflow", "dags", "test", DAG_ID], env, quiet, DAG_ID)
        os.environ.update(env)  # read the run back from the same metadata DB
        state, states, values = read_run()
        if state != "success":
            failed = sorted(task for task, s in states.items() if s == "failed")
            others = sorted(task for task, s in states.items() if s not in ("success", "failed"))
            why = f"\n  errors (full output in {quiet}):\n{errors_in(quiet)}" if quiet else ""
            raise DemoFailed(
                f"{DAG_ID} ended {state}; failed: {', '.join(failed) or '-'}; "
                f"not run: {', '.join(others) or '-'}{why}"
            )
        step(f"Done in {time.monotonic() - started:.0f} s, every task succeeded:")
        print(account(values, url))
        ok = True
        return 0
    except DemoFailed as exc:
        sys.stdout.flush()
        print(f"\nDemo failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if emulator is not None:
            stop(emulator)
            step("Emulator stopped")
        if ok and not args.keep:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"Logs and Airflow home kept in {home}")


if __name__ == "__main__":
    sys.exit(main())
