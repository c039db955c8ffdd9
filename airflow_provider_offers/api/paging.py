"""Following `_links.next` through a listing: the one paging rule of both clients.

Adobe's pages show the next link in three forms: relative to the DPS base (`/offers?start=..`),
a full path (`/data/core/dps/offers?start=..`) and an absolute URL on the API host. Each is
followed; a link to any other host is refused before anything is sent (the bearer token would
go with it). A next link already followed ends the listing with an error instead of looping,
an object seen on an earlier page is not yielded again, and the first call's `offer-type` is
kept when a next link leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import httpx

from airflow_provider_offers.api.calls import Call
from airflow_provider_offers.api.config import DPS_PATH
from airflow_provider_offers.api.errors import OfferLibraryError

_KEPT_PARAMS = ("offer-type",)

#: What a page holds: entity models, or the JSON objects themselves (`JsonPage`).
ItemT = TypeVar("ItemT")


class Pager(Generic[ItemT]):
    """The state of one listing: links followed and ids seen."""

    def __init__(self, base_url: str, first: Call[Any]) -> None:
        self.base_url = base_url
        self.first = first
        self.followed = {str(httpx.URL(first.url, params=first.params))}
        self.seen: set[str] = set()

    def new(self, results: Iterable[ItemT]) -> list[ItemT]:
        """The results not yielded before (an object without an id is always new)."""
        fresh = []
        for entity in results:
            if isinstance(entity, dict):
                entity_id = entity.get("id")
            else:
                entity_id = getattr(entity, "id", None)
            if entity_id is not None:
                if entity_id in self.seen:
                    continue
                self.seen.add(entity_id)
            fresh.append(entity)
        return fresh

    def next_call(self, href: str | None) -> Call[Any] | None:
        """The call for the page after this one, or None at the end."""
        if not href:
            return None
        url = httpx.URL(self._absolute(href.strip()))
        kept = [
            (name, value)
            for name, value in self.first.params
            if name in _KEPT_PARAMS and name not in url.params
        ]
        url = url.copy_merge_params(dict(kept))
        if str(url) in self.followed:
            raise OfferLibraryError(
                f"the listing's next link {href!r} leads to a page already read; stopping "
                "instead of looping",
                detail="next link already followed",
            )
        self.followed.add(str(url))
        return Call("GET", str(url), self.first.decode)

    def _absolute(self, href: str) -> str:
        if "://" not in href:
            if href.startswith(DPS_PATH + "/") or href.startswith(DPS_PATH + "?"):
                return self.base_url + href
            return self.base_url + DPS_PATH + ("" if href.startswith("/") else "/") + href
        ours, theirs = httpx.URL(self.base_url), httpx.URL(href)
        if (theirs.scheme, theirs.host, theirs.port) != (ours.scheme, ours.host, ours.port):
            raise OfferLibraryError(
                f"refusing to follow a next-page link to another host ({theirs.host}); "
                "the access token would go with it",
                detail="next link to another host",
            )
        return href
