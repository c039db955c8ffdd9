"""Fixtures for the emulator's tests (helpers live in emulator_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from emulator_helpers import Api, examples, fetch_token


@pytest.fixture
def emulator(offer_library_emulator):
    return offer_library_emulator


@pytest.fixture
def http(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        yield client


@pytest.fixture
def headers(emulator, http) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {fetch_token(http, emulator)}",
        "x-api-key": emulator.client_id,
        "x-gw-ims-org-id": emulator.org_id,
        "x-sandbox-name": "prod",
    }


@pytest.fixture
def api(http, headers) -> Api:
    return Api(http, headers)


@pytest.fixture
def adobe_examples() -> SimpleNamespace:
    return examples
