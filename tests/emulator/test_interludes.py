"""`EmulatorServer.before_request`: another client's doing, at an exact point of a test's
requests (an edit between two pages of Adobe's default `-modified` listing)."""

from __future__ import annotations

import httpx


def test_an_edit_between_two_pages_of_the_default_order_hides_the_edited_object(
    emulator, api, http, headers
):
    ids = [api.create("tags", {"name": f"Tag {i}"})["id"] for i in range(4)]
    oldest = ids[0]  # least recently modified: the last of the default order, on page 2

    def someone_else_edits() -> None:
        with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as other:
            ops = [{"op": "replace", "path": "/name", "value": "Edited"}]
            other.patch(f"/data/core/dps/tags/{oldest}", json=ops).raise_for_status()

    interlude = emulator.before_request(
        "GET", "/data/core/dps/tags", someone_else_edits, query_has="start="
    )
    seen = [t["id"] for t in api.list_all("tags", limit=2)]  # orderby=-modified by default

    assert interlude.error is None and interlude.nth == 0
    assert oldest not in seen and len(seen) == 3  # moved to page 1, already read
    by_id = [t["id"] for t in api.list_all("tags", limit=2, orderby="id")]
    assert sorted(by_id) == sorted(ids)  # an order edits cannot reshuffle sees each once
