"""assets.py: the URI normaliser Airflow applies to every `adobe-platform://` asset."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from airflow_provider_offers.assets import sanitize_uri

from .api.batch_decisioning_helpers import DATASET


def test_the_asset_uri_normaliser():
    uri = urlsplit(f"adobe-platform://ABC123@AdobeOrg/prod/datasets/{DATASET.upper()}")
    assert sanitize_uri(uri).path == f"/prod/datasets/{DATASET}"
    for bad in (
        "adobe-platform://someone/prod/datasets/" + DATASET,
        "adobe-platform://A@AdobeOrg/x",
    ):
        with pytest.raises(ValueError, match="adobe-platform://"):
            sanitize_uri(urlsplit(bad))
