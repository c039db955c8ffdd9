"""The `adobe-platform` asset URI scheme: an Adobe Experience Platform dataset as an Airflow asset.

`adobe-platform://<IMS org>/<sandbox>/datasets/<dataset id>`, e.g.
`adobe-platform://1234ABCD5678EF90@AdobeOrg/prod/datasets/6196b4a1a63bd118dafe093c`. Registered
in `get_provider_info()` ("asset-uris"), so Airflow normalises every such URI with
`sanitize_uri` (the dataset id in lower case, the sandbox as its technical name) and refuses a
malformed one, and a producer's outlet and a consumer's schedule name one asset.

Import-light: Airflow imports this module while it discovers providers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

from airflow_provider_offers import ORG_ID_PATTERN

if TYPE_CHECKING:
    from airflow.sdk import Asset

SCHEME = "adobe-platform"
_ORG_ID = re.compile(ORG_ID_PATTERN)
_PATH = re.compile(r"/([a-z0-9][a-z0-9_-]*)/datasets/([0-9a-fA-F]{24})")


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's normaliser for the scheme: refuse what cannot name a Platform dataset."""
    if not _ORG_ID.match(uri.netloc):
        raise ValueError(
            f"{SCHEME}:// URIs start with the IMS org id (…@AdobeOrg), not {uri.netloc!r}"
        )
    match = _PATH.fullmatch(uri.path)
    if match is None:
        raise ValueError(
            f"{SCHEME}:// URIs are {SCHEME}://<org>/<sandbox>/datasets/<24 hex digits>; "
            f"got the path {uri.path!r}"
        )
    sandbox, dataset_id = match.groups()
    return uri._replace(path=f"/{sandbox}/datasets/{dataset_id.lower()}", query="")


def dataset_uri(org_id: str, sandbox_name: str, dataset_id: str) -> str:
    return f"{SCHEME}://{org_id.strip()}/{sandbox_name.strip()}/datasets/{dataset_id.strip()}"


def create_asset(
    *, org_id: str, sandbox_name: str, dataset_id: str, extra: dict[str, Any] | None = None
) -> Asset:
    """The asset of a Platform dataset (Airflow's "factory" for the scheme)."""
    from airflow.sdk import Asset

    return Asset(uri=dataset_uri(org_id, sandbox_name, dataset_id), extra=extra or {})


def parse_dataset_uri(uri: str) -> tuple[str, str, str] | None:
    """(org, sandbox, dataset id) of an `adobe-platform` URI, None for any other URI."""
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    match = _PATH.fullmatch(parts.path) if parts.scheme == SCHEME else None
    if match is None:
        return None
    return parts.netloc, match.group(1), match.group(2).lower()
