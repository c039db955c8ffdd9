"""The operators for collections and the tags (collection qualifiers) they pick offers by.

`CreateTagOperator` and `CreateOfferCollectionOperator` make sure an object with a given name
exists in the sandbox and carries the given fields, exactly like `CreateFallbackOfferOperator`
does for offers (the same `api.reconcile` logic, the same `if_exists` modes, the same XCom), so
a retry, a cleared task or a backfill never creates a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_offers._task import TASK_TEMPLATE_FIELDS
from airflow_provider_offers.links import AdobeCollectionLink, AdobeCollectionQualifierLink
from airflow_provider_offers.operators._base import CreateByNameOperator


class CreateTagOperator(CreateByNameOperator):
    """Make sure a collection qualifier (tag) with this name exists.

    :param tag: Adobe's tag JSON (``{"name": ...}``; templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "tags"
    field = "tag"
    template_fields: Sequence[str] = ("tag", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"tag": "json"}
    operator_extra_links = (AdobeCollectionQualifierLink(),)

    def __init__(self, *, tag: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tag = tag


class CreateOfferCollectionOperator(CreateByNameOperator):
    """Make sure a collection (offers picked by tag, or listed by id) with this name exists.

    :param collection: Adobe's collection JSON (`name`, `filterType` with `ids` or `labels`;
        templated).
    :param if_exists: ``update`` (default), ``skip`` or ``fail`` when the name is taken
        (templated; see :class:`~airflow_provider_offers.operators._base.CreateByNameOperator`).

    Every task also takes ``adobe_conn_id``, ``sandbox_name``, ``request_timeout``,
    ``max_attempts``, ``max_retry_after`` and ``max_rate_limit_deferrals`` (see
    "Arguments every task takes" in the operators guide).
    """

    resource_kind = "offer-collections"
    field = "collection"
    template_fields: Sequence[str] = ("collection", "if_exists", *TASK_TEMPLATE_FIELDS)
    template_fields_renderers = {"collection": "json"}
    operator_extra_links = (AdobeCollectionLink(),)

    def __init__(self, *, collection: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.collection = collection
