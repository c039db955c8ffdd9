"""Fixtures for the reliability tests (helpers live in reliability_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_offers.api.auth import ImsTokenSource


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    """The emulator forgets its tokens between tests: no task starts with a stale one (its
    first request would be refused and replayed, and miss the fault meant for it)."""
    ImsTokenSource.reset_cache()
    yield
    ImsTokenSource.reset_cache()
