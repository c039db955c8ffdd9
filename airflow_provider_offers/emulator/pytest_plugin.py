"""pytest fixtures: one emulator per answer style and test session, fresh state for every test;
and for a user's own DAG tests an Airflow home, a connection and `dag.test()`.

Installed with the package as a pytest plugin (entry point `pytest11`): nothing to load, and
nothing happens in a test that takes none of these fixtures. Testing a DAG file::

    def test_my_dag(run_offers_dag):
        run = run_offers_dag("dags/my_dag.py")
        assert run.task_states == {"create_placement": "success", ...}
        assert run.xcom("create_placement", key="id").startswith("dps:")

- `run_offers_dag`, `offers_airflow_home`, `offers_airflow_database`, `offers_connection`,
  `offers_token_cache`: see `airflow_provider_offers.emulator.pytest_airflow`.

- `offer_library_emulator`: the strict emulator; `@pytest.mark.parametrize(
  "offer_library_emulator", ["adobe-examples"], indirect=True)` picks another answer style,
  and the environment variable `OFFERS_EMULATOR_ANSWER_STYLE=adobe-examples` changes the
  default for a whole run (a suite unchanged, under the other style).
- `offer_library_emulator_styles`: the same, parametrised over every style in
  `ANSWER_STYLES` (test ids `strict`, `adobe-examples`): a test or fixture that takes it runs
  once per style.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .config import ANSWER_STYLES, EmulatorConfig
from .pytest_airflow import (
    OffersDagRun,
    offers_airflow_database,
    offers_airflow_home,
    offers_connection,
    offers_token_cache,
    run_offers_dag,
)
from .server import EmulatorServer

__all__ = [
    "OffersDagRun",
    "offer_library_emulator",
    "offer_library_emulator_server",
    "offer_library_emulator_servers",
    "offer_library_emulator_styles",
    "offers_airflow_database",
    "offers_airflow_home",
    "offers_connection",
    "offers_token_cache",
    "run_offers_dag",
]

#: Names the answer style of `offer_library_emulator` when a test does not choose one.
STYLE_VARIABLE = "OFFERS_EMULATOR_ANSWER_STYLE"


@pytest.fixture(scope="session")
def offer_library_emulator_servers() -> Iterator[Callable[[str], EmulatorServer]]:
    """`servers(style)`: that style's emulator, started on first use on a free 127.0.0.1 port."""
    started: dict[str, EmulatorServer] = {}

    def server(style: str) -> EmulatorServer:
        if style not in started:
            config = EmulatorConfig.from_options(answer_style=style)
            started[style] = EmulatorServer(config).start()
        return started[style]

    try:
        yield server
    finally:
        for running in started.values():
            running.stop()


@pytest.fixture(scope="session")
def offer_library_emulator_server(
    offer_library_emulator_servers: Callable[[str], EmulatorServer],
) -> EmulatorServer:
    """The emulator in the default style, started once per session on a free 127.0.0.1 port."""
    return offer_library_emulator_servers(os.environ.get(STYLE_VARIABLE, "strict"))


@pytest.fixture
def offer_library_emulator(
    request: pytest.FixtureRequest,
    offer_library_emulator_servers: Callable[[str], EmulatorServer],
    offers_token_cache: Path,
) -> EmulatorServer:
    """The running emulator with no objects, faults, logged requests or tokens (and a machine
    token cache of this test's own, which holds none of its earlier tokens either).

    Strict (or `$OFFERS_EMULATOR_ANSWER_STYLE`), unless parametrised indirectly with an answer
    style's name.
    """
    default = os.environ.get(STYLE_VARIABLE, "strict")
    server = offer_library_emulator_servers(getattr(request, "param", default))
    server.reset()
    return server


@pytest.fixture(params=tuple(ANSWER_STYLES))
def offer_library_emulator_styles(
    request: pytest.FixtureRequest,
    offer_library_emulator_servers: Callable[[str], EmulatorServer],
    offers_token_cache: Path,
) -> EmulatorServer:
    """`offer_library_emulator` once per answer style (`strict`, `adobe-examples`)."""
    server = offer_library_emulator_servers(request.param)
    server.reset()
    return server
