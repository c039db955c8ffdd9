"""One IMS token per worker machine on a real CeleryExecutor deployment.

Redis (Debian's `redis-server`, on a free port), two `airflow celery worker`s of concurrency 4
on this one machine, the scheduler, DAG processor, triggerer and API server; the emulator in a
subprocess. A DAG maps 100 fallback-offer creates: every offer is created exactly once, and the
100 task processes of both workers share one IMS token through the machine token cache. The
same DAG on the LocalExecutor (the deployment runs both executors) reports its figure too.

The figures go to the terminal; `benchmarks/bench_tokens_per_mapped_tasks.py` adds the
process-cache ("before") runs.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_stack import AirflowStack, EmulatorView, stack_on_emulator

from airflow_provider_offers.emulator.config import DEFAULT_CLIENT_SECRET

pytestmark = pytest.mark.timeout(1500)

TASKS = 100
EXECUTORS = ("CeleryExecutor", "LocalExecutor")
TOKEN_PATH = "/ims/token/v3"
OFFERS_PATH = "/data/core/dps/offers"
WEB = "https://ns.adobe.com/xdm/channel-types/web"

DAG_SOURCE = f"""
from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_offers.operators.offers import CreateFallbackOfferOperator

WEB = {WEB!r}

for executor in {EXECUTORS!r}:
    for cache in ("machine", "process"):
        with DAG(
            dag_id=f"mapped_creates_{{executor.lower()}}_{{cache}}",
            schedule=None,
            start_date=datetime(2026, 1, 1),
            catchup=False,
            default_args={{"executor": executor}},
        ):

            @task
            def offers(dag_run=None):
                placement, prefix = dag_run.conf["placement"], dag_run.conf["prefix"]
                return [
                    {{
                        "name": f"{{prefix}}-offer-{{n:03d}}",
                        "status": "approved",
                        "representations": [
                            {{
                                "channel": WEB,
                                "placement": placement,
                                "components": [
                                    {{
                                        "type": "imagelink",
                                        "format": "image/png",
                                        "deliveryURL": "https://cdn.example.com/banner.png",
                                    }}
                                ],
                            }}
                        ],
                    }}
                    for n in range({TASKS})
                ]

            CreateFallbackOfferOperator.partial(
                task_id="create_offer", adobe_conn_id=f"offers_{{executor.lower()}}_{{cache}}"
            ).expand(offer=offers())
"""


def dag_id(executor: str, cache: str) -> str:
    return f"mapped_creates_{executor.lower()}_{cache}"


@dataclass
class Deployment:
    stack: AirflowStack
    emulator: EmulatorView
    cache_dirs: dict[str, Path]
    placement: str  # the id of the placement every offer's representation names


@dataclass
class Figures:
    ims_token_requests: int
    offer_creates: int
    offers: int


@contextlib.contextmanager
def deployment_of(home: Path) -> Iterator[Deployment]:
    """The stack with a connection per (executor, cache mode); each executor's machine cache
    in a directory of its own, so each run starts without a token."""
    dags = home / "dags"
    dags.mkdir()
    (dags / "mapped_creates.py").write_text(DAG_SOURCE)
    cache_dirs = {executor: home / f"tokens-{executor.lower()}" for executor in EXECUTORS}
    connections = {}
    for executor in EXECUTORS:
        connections[f"offers_{executor.lower()}_machine"] = {
            "token_cache_dir": str(cache_dirs[executor])
        }
        connections[f"offers_{executor.lower()}_process"] = {"token_cache": "process"}
    with stack_on_emulator(
        home, dags, connections=connections, celery_workers=2, concurrency=4
    ) as (stack, url):
        for executor in EXECUTORS:
            for cache in ("machine", "process"):
                stack.wait_for_dag(dag_id(executor, cache))
                stack.unpause(dag_id(executor, cache))
        view = EmulatorView(url)
        banner = {"name": "Banner", "componentType": "imagelink", "channel": WEB}
        placement = view.dps.post("/placements", json=banner).raise_for_status().json()["id"]
        yield Deployment(stack, view, cache_dirs, placement)
        view.dps.close()


def run_mapped_creates(deployment: Deployment, executor: str, cache: str) -> Figures:
    """Trigger the DAG, wait for success; what the emulator received during the run."""
    stack, emulator = deployment.stack, deployment.emulator
    seen = len(emulator.requests())
    prefix = f"{executor}-{cache}-{time.monotonic_ns()}".lower()  # letters, digits, dashes
    conf = {"placement": deployment.placement, "prefix": prefix}
    run_id = stack.trigger(dag_id(executor, cache), conf)
    stack.wait_for_run(dag_id(executor, cache), run_id, timeout=1200)
    received = emulator.requests()[seen:]
    creates = [
        r["json"]["name"]
        for r in received
        if r["method"] == "POST" and r["path"] == OFFERS_PATH and r["status"] == 201
    ]
    stored = [o["name"] for o in emulator.fallback_offers(property=f"name~{prefix}-offer-.*")]
    assert sorted(creates) == sorted(stored), "a create the emulator answered is not stored"
    return Figures(
        ims_token_requests=sum(1 for r in received if r["path"] == TOKEN_PATH),
        offer_creates=len(creates),
        offers=len(set(stored)),
    )


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """A figure on the terminal, past pytest's capture."""
    with capsys.disabled():
        print(f"\n{line}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    with deployment_of(tmp_path_factory.mktemp("airflow-celery")) as deployment:
        yield deployment


@pytest.mark.parametrize("executor", EXECUTORS)
def test_mapped_creates_share_one_token_per_machine(deployment, executor, capsys):
    figures = run_mapped_creates(deployment, executor, "machine")

    report(
        capsys,
        f"{executor}: {figures.ims_token_requests} IMS token request(s) for {TASKS} mapped "
        "create tasks (machine token cache)",
    )
    assert figures.offer_creates == figures.offers == TASKS  # each offer created exactly once
    assert figures.ims_token_requests == 1  # one machine: one token for every task process


def test_both_celery_workers_ran_tasks(deployment):
    logs = [deployment.stack.log_dir / f"celery-worker-{n}.log" for n in (1, 2)]
    received = [len(re.findall(r"Task \S+\[\S+\] received", path.read_text())) for path in logs]

    assert all(count > 0 for count in received), received


def test_no_token_or_secret_in_clear_in_the_cache_files(deployment):
    tokens = {
        r["headers"]["authorization"].removeprefix("Bearer ")
        for r in deployment.emulator.requests()
        if r["path"].startswith(OFFERS_PATH) and "authorization" in r["headers"]
    }
    files = [p for d in deployment.cache_dirs.values() for p in d.rglob("*") if p.is_file()]

    assert tokens and files
    written = b"".join(path.read_bytes() for path in files)
    for clear in (*tokens, DEFAULT_CLIENT_SECRET):
        assert clear.encode() not in written
