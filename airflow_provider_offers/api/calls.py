"""Each Offer Library operation as a `Call`: method, URL, query, body, how to decode the answer.

No I/O here: `Calls` checks the caller's input (raising `InvalidInputError` before anything is
sent) and describes the request; the sync and async clients in `client.py` send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from airflow_provider_offers.api.answers import JsonPage, ListPage, Receipt
from airflow_provider_offers.api.config import DPS_PATH, ClientConfig
from airflow_provider_offers.api.decisioning import DecisionRequest, DecisionResponse
from airflow_provider_offers.api.errors import ConflictError, InvalidInputError
from airflow_provider_offers.api.inputs import parse_context_data, parse_id, parse_item_count
from airflow_provider_offers.api.json_patch import PatchOperation, parse_operations
from airflow_provider_offers.api.models import FRESH_ANSWER, parse_input
from airflow_provider_offers.api.resources import EntityT, Resource, resolve_resource

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = [
    "DECISIONS_PATH",
    "Call",
    "Calls",
    "DecisionOptions",
    "Filters",
    "ListQuery",
    "Operations",
    "OrderBy",
]


DECISIONS_PATH = "/data/core/ods/decisions"
DECISION_REQUEST_TYPE = (
    'application/vnd.adobe.xdm+json; schema="https://ns.adobe.com/experience/'
    'offer-management/decision-request;version=1.0"'
)
DECISION_RESPONSE_TYPE = (
    'application/vnd.adobe.xdm+json; schema="https://ns.adobe.com/experience/'
    'offer-management/decision-response;version=1.0"'
)

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)
#: JSON Patch operations: dicts or `PatchOperation`s.
Operations = Sequence[PatchOperation | Mapping[str, Any]]
#: `property` filters, AND-ed: ["name==x", "status!=draft"], or {"name": "x"} meaning equality.
Filters = Iterable[str] | Mapping[str, Any] | str | None
#: "-modified", or several fields ["name", "-created"] ("-" = descending).
OrderBy = str | Sequence[str] | None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One logical API call; each attempt becomes a fresh `httpx.Request`."""

    method: str
    url: str
    decode: Callable[[Any], T]
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    content_type: str = "application/json"
    accept: str = "application/json"
    resend_safe: bool = True
    gone_is_done: bool = False  # DELETE: 404 on a retry means an earlier attempt deleted it
    reads_body: bool = True  # False: any 2xx is success, whatever the body (DELETE)
    request_id: str | None = None  # the caller's x-request-id (kept across attempts); else new


def _id(value: Any, name: str) -> str:
    """An id (the rule: `inputs.parse_id`), quoted for a URL path."""
    return quote(parse_id(value, name), safe=":@")


def _filters(filters: Filters) -> list[tuple[str, str]]:
    """`property` filters: ["name==x", "status!=draft"], or {"name": "x"} meaning equality."""
    if filters is None:
        return []
    if isinstance(filters, str):
        filters = [filters]
    elif isinstance(filters, Mapping):
        filters = [f"{key}=={value}" for key, value in filters.items()]
    params = []
    for index, expression in enumerate(filters):
        if not isinstance(expression, str) or not expression.strip():
            raise InvalidInputError(f"filters[{index}]", "expected a non-empty string")
        params.append(("property", expression))
    return params


def _orderby(orderby: OrderBy) -> list[tuple[str, str]]:
    if orderby is None:
        return []
    fields = [orderby] if isinstance(orderby, str) else list(orderby)
    if not fields or not all(isinstance(f, str) and f.strip() for f in fields):
        raise InvalidInputError("orderby", "expected a field name like '-modified' or a list")
    return [("orderby", ",".join(f.strip() for f in fields))]


def _limit(limit: int | None) -> list[tuple[str, str]]:
    if limit is None:
        return []
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError("limit", "expected a positive integer")
    return [("limit", str(limit))]


def _identity_map(
    profile_id: str | None, namespace: str, identity_map: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """XDM identity map; plain ids become `{"xdm:id": ...}` entries."""
    if (profile_id is None) == (identity_map is None):
        raise InvalidInputError("profile_id", "give exactly one of profile_id or identity_map")
    if profile_id is not None:
        if not isinstance(profile_id, str) or not profile_id:
            raise InvalidInputError("profile_id", "expected a non-empty string")
        if not namespace:
            raise InvalidInputError("identity_namespace", "expected a namespace such as 'ECID'")
        return {namespace: [{"xdm:id": profile_id, "primary": True}]}
    if not isinstance(identity_map, Mapping) or not identity_map:
        raise InvalidInputError("identity_map", "expected {namespace: [id, ...]}")
    result: dict[str, list[dict[str, Any]]] = {}
    for ns, ids in identity_map.items():
        entries = [ids] if isinstance(ids, str | Mapping) else list(ids or ())
        if not entries:
            raise InvalidInputError(f"identity_map.{ns}", "expected at least one id")
        result[ns] = []
        for entry in entries:
            if isinstance(entry, str) and entry:
                entry = {"xdm:id": entry}
            elif isinstance(entry, Mapping) and ("xdm:id" in entry or "id" in entry):
                entry = {("xdm:id" if k == "id" else k): v for k, v in entry.items()}
            else:
                raise InvalidInputError(f"identity_map.{ns}", "each id is a string or {'id': ...}")
            result[ns].append(entry)
    return result


class ListQuery(TypedDict, total=False):
    """What `list` and `list_page` accept besides the resource.

    filters: `property` expressions, AND-ed: ["name==Spring sale", "status!=draft"], or a
        dict {"name": "Spring sale"} meaning equality (operators == != <= >= < > ~).
    orderby: "-modified", or several fields ["name", "-created"] ("-" = descending).
    limit: page size.
    """

    filters: Filters
    orderby: OrderBy
    limit: int | None


class DecisionOptions(TypedDict, total=False):
    """What `request_decision` accepts besides the decision scope (decision id, placement id).

    profile_id: the profile's id in `identity_namespace` (give this or `identity_map`).
    identity_namespace: namespace of `profile_id`, default "ECID".
    identity_map: an XDM identity map instead: {"Email": ["a@b.c"]}, or entries
        {"id": "a@b.c", "primary": True}.
    item_count: how many options to return for the placement, 1-30 (default 1).
    include_content: return the offers' content and delivery URLs (default True).
    include_metadata: also return the names of decision, placement and options (default False).
    decision_request_id: echoed back by Adobe (default: a new uuid4).
    context_data: XDM context data items for rules and ranking formulas.
    """

    profile_id: str | None
    identity_namespace: str
    identity_map: Mapping[str, Any] | None
    item_count: int
    include_content: bool
    include_metadata: bool
    decision_request_id: str | None
    context_data: Sequence[Mapping[str, Any]] | None


class Calls:
    """The calls for one config: each public method checks its input and returns a `Call`."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.dps = config.base_url + DPS_PATH

    def create(
        self, resource: Resource[EntityT] | str, entity: EntityT | Mapping[str, Any]
    ) -> Call[Receipt]:
        resource = resolve_resource(resource)
        body = parse_input(resource.model, entity, resource.noun).to_body()
        return Call(
            "POST",
            self.dps + resource.path,
            _model(Receipt),
            params=resource.params,
            body=body,
            resend_safe=False,
        )

    def get(self, resource: Resource[EntityT] | str, entity_id: str) -> Call[EntityT]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        return Call("GET", url, _model(resource.model), params=resource.params)

    def get_json(self, resource: Resource | str, entity_id: str) -> Call[dict[str, Any]]:
        """`get`, the answer as the server's JSON object, without a model: for readers that
        must see every object, including one the models cannot type (made elsewhere)."""
        typed = self.get(resource, entity_id)
        return Call("GET", typed.url, _json_object, params=typed.params)

    def patch(
        self, resource: Resource | str, entity_id: str, operations: Operations
    ) -> Call[Receipt]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        body = [op.model_dump(mode="json") for op in parse_operations(operations)]
        return Call(
            "PATCH", url, _model(Receipt), params=resource.params, body=body, resend_safe=False
        )

    def replace(
        self, resource: Resource[EntityT] | str, entity_id: str, entity: EntityT | Mapping[str, Any]
    ) -> Call[Receipt]:
        """`PUT` of the whole object: how Adobe updates ranking formulas (no JSON Patch)."""
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        body = parse_input(resource.model, entity, resource.noun).to_body()
        return Call("PUT", url, _model(Receipt), params=resource.params, body=body)

    def delete(self, resource: Resource | str, entity_id: str) -> Call[None]:
        resource = resolve_resource(resource)
        url = f"{self.dps}{resource.path}/{_id(entity_id, 'id')}"
        return Call(
            "DELETE", url, _nothing, params=resource.params, gone_is_done=True, reads_body=False
        )

    def list_first(
        self,
        resource: Resource[EntityT] | str,
        *,
        filters: Filters = None,
        orderby: OrderBy = None,
        limit: int | None = None,
    ) -> Call[ListPage[EntityT]]:
        resource = resolve_resource(resource)
        params = resource.params + _filters(filters) + _orderby(orderby) + _limit(limit)
        page_model = ListPage[resource.model]  # type: ignore[name-defined]  # parametrised at run time
        return Call("GET", self.dps + resource.path, _model(page_model), params)

    def list_json_first(
        self, resource: Resource | str, **query: Unpack[ListQuery]
    ) -> Call[JsonPage]:
        """`list_first`, its pages read as plain JSON objects (`JsonPage`)."""
        first = self.list_first(resource, **query)
        return Call("GET", first.url, _model(JsonPage), first.params)

    def decision(
        self,
        decision_id: str,
        placement_id: str,
        *,
        profile_id: str | None = None,
        identity_namespace: str = "ECID",
        identity_map: Mapping[str, Any] | None = None,
        item_count: int = 1,
        include_content: bool = True,
        include_metadata: bool = False,
        decision_request_id: str | None = None,
        context_data: Sequence[Mapping[str, Any]] | None = None,
    ) -> Call[DecisionResponse]:
        item_count = parse_item_count(item_count)
        profile: dict[str, Any] = {
            "xdm:identityMap": _identity_map(profile_id, identity_namespace, identity_map),
            "xdm:decisionRequestId": decision_request_id or str(uuid.uuid4()),
        }
        if context_data:
            profile["xdm:contextData"] = parse_context_data(context_data)
        response_format: dict[str, Any] = {"xdm:includeContent": bool(include_content)}
        if include_metadata:
            response_format["xdm:includeMetadata"] = {
                "xdm:activity": ["name"],
                "xdm:option": ["name", "characteristics", "priority"],
                "xdm:placement": ["name", "channel", "componentType"],
            }
        body = {
            "xdm:propositionRequests": [
                {
                    "xdm:activityId": _id(decision_id, "decision_id"),
                    "xdm:placementId": _id(placement_id, "placement_id"),
                    "xdm:itemCount": item_count,
                }
            ],
            "xdm:profiles": [profile],
            "xdm:responseFormat": response_format,
        }
        body = _checked_decision_request(body)
        # Asking for a decision changes nothing we could duplicate, so it may be re-sent.
        return Call(
            "POST",
            self.config.base_url + DECISIONS_PATH,
            _model(DecisionResponse),
            body=body,
            content_type=DECISION_REQUEST_TYPE,
            accept=DECISION_RESPONSE_TYPE,
        )

    @staticmethod
    def pick_by_name(
        resource: Resource, name: str, candidates: Iterable[EntityT]
    ) -> EntityT | None:
        matches = [
            entity
            for entity in candidates
            if entity.name == name and not is_experience_decisioning(entity)
        ]
        if len(matches) > 1:
            ids = [entity.id or "?" for entity in matches]
            raise ConflictError(
                f"{len(matches)} {resource.kind} are named {name!r}: {', '.join(ids)}; "
                "names must identify one object",
                conflicting_ids=ids,
                error_code="duplicate-name",
            )
        return matches[0] if matches else None

    @staticmethod
    def name_filter(name: Any) -> list[str] | None:
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name", "expected a non-empty string")
        # A comma would split the expression (comma means AND); scan unfiltered instead.
        return None if "," in name else [f"name=={name}"]


def is_experience_decisioning(entity: Any) -> bool:
    """Experience Decisioning's rules (`exdRule`) and ranking formulas (`exdFunction`) share
    our endpoints; a look-up by name must never match one (nor count it as a duplicate)."""
    if isinstance(entity, Mapping):  # the server's JSON
        return any(entity.get(flag) is True for flag in ("exdRule", "exdFunction"))
    return any(getattr(entity, flag, None) is True for flag in ("exdRule", "exdFunction"))


def _checked_decision_request(body: dict[str, Any]) -> dict[str, Any]:
    """`body` as Adobe's `decision-request-v1.0` schema admits it, else InvalidInputError."""
    try:
        DecisionRequest.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "decision request"
        raise InvalidInputError(where, error["msg"]) from None
    return body


def _model(model: type[ModelT]) -> Callable[[Any], ModelT]:
    def decode(data: Any) -> ModelT:
        if data is None:
            raise ValueError("empty body")
        return model.model_validate(data, context=FRESH_ANSWER)

    return decode


def _json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _nothing(_: Any) -> None:
    return None
