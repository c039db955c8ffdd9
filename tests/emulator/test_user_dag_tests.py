"""A user's own DAG test, as the docs show it, run by pytest in a project of its own.

The user's project is a temporary folder with a DAG file and a test file; pytest runs in a
subprocess with none of this repository's test setup (no conftest, no AIRFLOW_* variables,
a home folder of its own), twice, as a user runs it twice: the second run must not meet the
first one's token (a 401) nor need anything set up by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator

WEB = "https://ns.adobe.com/xdm/channel-types/web"

with DAG("homepage_offers", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    placement = CreatePlacementOperator(
        task_id="placement",
        placement={"name": "Homepage banner", "componentType": "imagelink", "channel": WEB},
    )
    CreateFallbackOfferOperator(
        task_id="fallback",
        offer={
            "name": "Homepage fallback",
            "status": "approved",
            "representations": [{
                "channel": WEB,
                "placement": placement.output["id"],
                "components": [{"type": "imagelink", "format": "image/png",
                                "deliveryURL": "https://cdn.example.com/banner.png"}],
            }],
        },
    )
"""

# What docs/testing.rst shows, plus a module-level Airflow import (Airflow is then configured
# before any fixture runs) and a second test in the same session.
USER_TEST = """
from pathlib import Path

from airflow.sdk import DAG  # noqa: F401

DAG_FILE = Path(__file__).parent.parent / "dags" / "homepage_offers.py"


def test_homepage_offers(run_offers_dag):
    run = run_offers_dag(DAG_FILE)
    assert run.task_states == {"placement": "success", "fallback": "success"}
    assert run.xcom("fallback", key="id").startswith("dps:fallback-offer:")
    assert [r.status for r in run.requests if r.status == 401] == []


def test_homepage_offers_again(run_offers_dag):
    run = run_offers_dag(DAG_FILE)
    assert run.state == "success"
    assert [r.status for r in run.requests if r.status == 401] == []
"""


def test_a_users_dag_test_passes_first_time_and_again(tmp_path: Path):
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "dags" / "homepage_offers.py").write_text(textwrap.dedent(USER_DAG))
    (project / "tests" / "test_homepage_offers.py").write_text(textwrap.dedent(USER_TEST))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "XDG_", "PYTEST_"))
    }
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT)})
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        # The entry point does this once the package is installed (pyproject.toml `pytest11`).
        "-p",
        "airflow_provider_offers.emulator.pytest_plugin",
        "tests",
    ]

    for attempt in ("first", "second"):
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{attempt} run:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        assert "2 passed" in done.stdout, done.stdout[-3000:]

    # Nothing was cached in the user's own token cache (~/.cache), for a later run to meet.
    assert not (home / ".cache" / "airflow-provider-offers").exists()
