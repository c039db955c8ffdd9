"""The client follows whatever next link the server gives: the emulator's own cursor (strict)
and Adobe's `start=<sort value>` form (adobe-examples), ties across pages included."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from client_helpers import api_requests

from airflow_provider_offers.api.resources import TAGS


@pytest.fixture
def emulator(offer_library_emulator_styles):
    return offer_library_emulator_styles


@pytest.mark.parametrize("orderby", ["-modified", "id"])  # `id`: the catalog's LIST_ORDER
def test_every_object_exactly_once_over_several_pages(emulator, client, orderby):
    stamps = iter(
        datetime(2024, 10, 18, 22, 22, 35 + i // 4, tzinfo=timezone.utc) for i in range(11)
    )
    emulator.configure(clock=lambda: next(stamps), strictly_increasing_timestamps=False)
    ids = [client.create(TAGS, {"name": f"tag-{i:02d}"}).id for i in range(11)]
    before = len(api_requests(emulator))

    listed = [tag.id for tag in client.list(TAGS, limit=3, orderby=orderby)]

    assert sorted(listed) == sorted(ids) and len(listed) == 11
    pages = [r for r in api_requests(emulator)[before:] if r.method == "GET"]
    assert len(pages) == 4
    starts = [page.query for page in pages]
    assert all("start" in query for query in starts[1:])
    if emulator.config.start_as_sort_value and orderby == "id":
        assert [q["start"][0] for q in starts[1:]] == sorted(ids)[3::3]
