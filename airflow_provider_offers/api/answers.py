"""What the API answers besides its objects: the receipt of a write, and list pages.

Read leniently (unknown members kept, values outside our write rules accepted); one object a
page holds that our models cannot read never breaks the page.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from airflow_provider_offers.api.models import AdobeDateTime, AdobeModel, Etag, _Entity

__all__ = ["JsonPage", "Link", "Links", "ListPage", "Receipt"]

log = logging.getLogger("airflow_provider_offers.api")


class Receipt(AdobeModel):
    """What create and update answer: the id and new etag, not the entity."""

    etag: Etag
    id: str
    sandboxId: str | None = None
    createdDate: AdobeDateTime | None = None
    lastModifiedDate: AdobeDateTime | None = None
    createdBy: str | None = None
    lastModifiedBy: str | None = None
    createdByClientId: str | None = None
    lastModifiedByClientId: str | None = None
    datasetId: str | None = None


class Link(AdobeModel):
    href: str
    type: str | None = None


class Links(AdobeModel):
    self_: Link | None = Field(default=None, alias="self")
    next: Link | None = None
    prev: Link | None = None


EntityT = TypeVar("EntityT", bound=_Entity)


class ListPage(AdobeModel, Generic[EntityT]):
    """One page of a list; `links.next.href` (relative to the DPS base) leads to the next."""

    results: list[EntityT] = Field(default_factory=list)
    count: int | None = None
    total: int | None = None
    links: Links | None = Field(default=None, alias="_links")

    @field_validator("results", mode="wrap")
    @classmethod
    def _one_odd_object_never_breaks_the_page(cls, value: Any, handler: Any) -> Any:
        """An object our models cannot read (made elsewhere, or a newer shape) is kept
        unvalidated, with its JSON and a warning, so listing and look-up by name still work."""
        if not isinstance(value, list):
            return handler(value)
        (model,) = get_args(cls.model_fields["results"].annotation) or (_Entity,)
        results = []
        for item in value:
            try:
                results.extend(handler([item]))
            except ValidationError as error:
                if not isinstance(item, Mapping):
                    raise
                log.warning(
                    "Reading %s %r (%s) leniently: %s",
                    model.__name__,
                    item.get("name"),
                    item.get("id"),
                    error.errors()[0]["msg"],
                )
                entity = model.model_construct(**item)
                entity._raw = copy.deepcopy(dict(item))
                results.append(entity)
        return results

    @property
    def next_href(self) -> str | None:
        return self.links.next.href if self.links and self.links.next else None


class JsonPage(BaseModel):
    """One page of a list as the server's JSON objects, without entity models: for callers
    that need only the JSON (a catalog sync reads thousands of offers). Lenient on read: any
    object is kept as it was sent; only the page itself must be readable."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    results: list[dict[str, Any]] = Field(default_factory=list)
    links: Links | None = Field(default=None, alias="_links")

    next_href = ListPage.next_href
