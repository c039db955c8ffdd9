"""pytest fixtures: one emulator per test session, fresh state for every test.

Load with `pytest_plugins = ["airflow_provider_offers.emulator.pytest_plugin"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import EmulatorServer


@pytest.fixture(scope="session")
def offer_library_emulator_server() -> Iterator[EmulatorServer]:
    """The emulator, started once per session on a free 127.0.0.1 port."""
    server = EmulatorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def offer_library_emulator(offer_library_emulator_server: EmulatorServer) -> EmulatorServer:
    """The running emulator with no objects, faults, logged requests or tokens."""
    offer_library_emulator_server.reset()
    return offer_library_emulator_server
