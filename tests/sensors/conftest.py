"""The offer a sensor test watches, created by someone else (see `Dps` in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def offer(dps) -> dict:
    """A fallback offer at etag 1, as the emulator returned it on creation."""
    placement = dps.create_placement("Sensor test placement")
    return dps.create_offer(dps.offer_body("Sensor test fallback offer", placement))
