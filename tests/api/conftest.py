"""Fixtures for the client tests: a client pointed at the emulator, fast retries.

Retry sleeps are recorded, not slept: the policy's `sleep` remembers each delay, so a test can
assert what the client would have waited (e.g. the server's Retry-After) and still run fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_helpers import RecordingSleep, make_config

from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.client import OfferLibraryClient
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.retry import RetryPolicy


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    """The token cache is process-wide; the emulator forgets its tokens between tests."""
    ImsTokenSource.reset_cache()
    yield
    ImsTokenSource.reset_cache()


@pytest.fixture
def emulator(offer_library_emulator):
    return offer_library_emulator


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry(sleeps: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=4,
        initial_backoff=0.01,
        max_backoff=0.05,
        max_retry_after=5.0,
        sleep=sleeps,
        async_sleep=sleeps.asleep,
    )


@pytest.fixture
def config(emulator) -> ClientConfig:
    return make_config(emulator)


@pytest.fixture
def client(config: ClientConfig, retry: RetryPolicy) -> Iterator[OfferLibraryClient]:
    with OfferLibraryClient(config, retry=retry) as client:
        yield client
