"""The hub Decisioning API (`POST /data/core/ods/decisions`, API doc 16.1).

For each proposition request: the decision must exist and be `live`, and the placement must be
one of its criteria's placements. Candidates are the approved personalized offers inside their
`selectionConstraint` dates, in the criterion's collection, with a representation for the
placement. Profile constraints (PQL rules, segments) cannot be evaluated here, so an offer or a
criterion with one is treated as not eligible. Ranking: `rank.priority` descending, then the
older offer (`created`), then the id. No candidate: the decision's fallback offer.

Answers name objects by their stored ids, or (`documented_decisioning_prefixes`) with the
prefixes the Decisioning API page's example shows; the hex part is the same either way. Their
shape follows Adobe's schema (`decision-response-v1.0` in AdobeDocs/journey-optimizer-apis,
static/decision-management.yaml): closed objects, `repo:etag` strings.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..config import EmulatorConfig
from ..exceptions import problem
from .entities import parse_datetime

COMPONENT_TYPE_URIS = {
    "html": "https://ns.adobe.com/experience/decisioning/content-component-html-template",
    "imagelink": "https://ns.adobe.com/experience/decisioning/content-component-imagelink",
    "text": "https://ns.adobe.com/experience/decisioning/content-component-text",
    "component-text": "https://ns.adobe.com/experience/decisioning/content-component-text",
    "json": "https://ns.adobe.com/experience/decisioning/content-component-json",
}
METADATA = {
    "xdm:activity": {"name": "xdm:name"},
    "xdm:option": {
        "name": "xdm:name",
        "characteristics": "xdm:characteristics",
        "priority": "xdm:priority",  # the offer's rank.priority
    },
    "xdm:placement": {
        "name": "xdm:name",
        "channel": "xdm:channel",
        "componentType": "xdm:componentType",
    },
}
MAX_ITEMS_PER_RESPONSE = 100
#: Stored id prefix -> the prefix the Decisioning API page's example response shows.
DOCUMENTED_PREFIXES = {
    "dps:offer-activity:": "dps:activity:",
    "dps:offer-placement:": "dps:placement:",
    "dps:personalized-offer:": "dps:personalized-option:",
    "dps:fallback-offer:": "dps:fallback:",
}


def answer_id(ident: str, config: EmulatorConfig) -> str:
    """An id as decisioning answers show it."""
    if config.documented_decisioning_prefixes:
        for stored, documented in DOCUMENTED_PREFIXES.items():
            if ident.startswith(stored):
                return documented + ident[len(stored) :]
    return ident


def _bad(detail: str) -> Exception:
    return problem(400, detail, service="ODE", code=400)


def _unprocessable(detail: str) -> Exception:
    return problem(422, detail, service="ODE", code=422)


class _Request:
    """The parsed, checked decision request."""

    def __init__(self, body: Any, config: EmulatorConfig) -> None:
        if not isinstance(body, dict):
            raise _bad("body: must be a JSON object")
        self.config = config
        requests = body.get("xdm:propositionRequests")
        if not isinstance(requests, list) or not requests:
            raise _bad("xdm:propositionRequests: at least one proposition request is required")
        self.items: list[tuple[str, str, int]] = []
        for i, item in enumerate(requests):
            where = f"xdm:propositionRequests[{i}]"
            if not isinstance(item, dict):
                raise _bad(f"{where}: must be a JSON object")
            ids = []
            for key in ("xdm:activityId", "xdm:placementId"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise _bad(f"{where}.{key}: is required")
                ids.append(item[key])
            count = item.get("xdm:itemCount", 1)
            if isinstance(count, bool) or not isinstance(count, int):
                raise _bad(f"{where}.xdm:itemCount: must be an integer")
            if not 1 <= count <= config.max_item_count:
                raise _bad(f"{where}.xdm:itemCount: must be between 1 and {config.max_item_count}")
            self.items.append((ids[0], ids[1], count))
        if sum(count for _, _, count in self.items) > MAX_ITEMS_PER_RESPONSE:
            raise _bad(f"xdm:propositionRequests: at most {MAX_ITEMS_PER_RESPONSE} items in total")
        profiles = body.get("xdm:profiles")
        if not isinstance(profiles, list) or len(profiles) != 1:
            raise _bad("xdm:profiles: exactly one profile per request")
        profile = profiles[0]
        if not isinstance(profile, dict):
            raise _bad("xdm:profiles[0]: must be a JSON object")
        identity_map = profile.get("xdm:identityMap")
        if not isinstance(identity_map, dict) or not identity_map:
            raise _bad("xdm:profiles[0].xdm:identityMap: at least one identity is required")
        request_id = profile.get("xdm:decisionRequestId")
        if request_id is not None and not isinstance(request_id, str):
            raise _bad("xdm:profiles[0].xdm:decisionRequestId: must be a string")
        duplicates = body.get("xdm:allowDuplicatePropositions", {})
        if not isinstance(duplicates, dict):
            raise _bad("xdm:allowDuplicatePropositions: must be a JSON object")
        # The schema's defaults (allow-duplication-propositions): no duplicates unless asked.
        self.across_activities = duplicates.get("xdm:acrossActivities", False) is True
        self.across_placements = duplicates.get("xdm:acrossPlacements", False) is True
        response_format = body.get("xdm:responseFormat", {})
        if not isinstance(response_format, dict):
            raise _bad("xdm:responseFormat: must be a JSON object")
        include = response_format.get("xdm:includeContent", config.include_content_by_default)
        if not isinstance(include, bool):
            raise _bad("xdm:responseFormat.xdm:includeContent: must be true or false")
        self.include_content = include
        metadata = response_format.get("xdm:includeMetadata", {})
        if not isinstance(metadata, dict):
            raise _bad("xdm:responseFormat.xdm:includeMetadata: must be a JSON object")
        self.metadata: dict[str, list[str]] = {}
        for key, names in metadata.items():
            where = f"xdm:responseFormat.xdm:includeMetadata.{key}"
            if key == "xdm:scope":  # a string in the schema, its meaning undocumented: ignored
                if not isinstance(names, str):
                    raise _bad(f"{where}: must be a string")
                continue
            if key not in METADATA:
                raise _bad(f"{where}: unknown; use {', '.join(METADATA)}")
            if not isinstance(names, list) or any(n not in METADATA[key] for n in names):
                raise _bad(f"{where}: must be a list of {', '.join(METADATA[key])}")
            self.metadata[key] = names


def _metadata(request: _Request, key: str, entity: dict) -> dict[str, Any]:
    values = {**entity, "priority": entity.get("rank", {}).get("priority")}
    return {
        METADATA[key][name]: values[name]
        for name in request.metadata.get(key, [])
        if values.get(name) is not None
    }


def _item(request: _Request, record: Any, placement: dict, prefix_key: str) -> dict[str, Any]:
    """An option or fallback: id, etag, and (with includeContent) the placement's component."""
    item: dict[str, Any] = {
        "xdm:id": answer_id(record.id, request.config),
        "repo:etag": str(record.etag),
    }
    if request.include_content:
        rep = next(r for r in record.entity["representations"] if r["placement"] == placement["id"])
        components = rep["components"]
        component = next(
            (c for c in components if c["type"] == placement.get("componentType")), components[0]
        )
        item["@type"] = COMPONENT_TYPE_URIS.get(component["type"], component["type"])
        for source, target in (
            ("format", "dc:format"),
            ("language", "dc:language"),
            ("deliveryURL", "xdm:deliveryURL"),
            ("content", "xdm:content"),  # option-detail is closed: no linkURL
        ):
            if source in component:
                item[target] = component[source]
    item.update(_metadata(request, prefix_key, record.entity))
    return item


def _eligible(offer: Any, placement_id: str, now) -> bool:
    entity = offer.entity
    if entity.get("status") != "approved":
        return False
    constraint = entity.get("selectionConstraint", {})
    if constraint.get("profileConstraintType", "none") != "none":
        return False  # PQL rules and segments cannot be evaluated by the emulator
    start = parse_datetime(constraint.get("startDate"))
    end = parse_datetime(constraint.get("endDate"))
    if (start and now < start) or (end and now > end):
        return False
    return any(r["placement"] == placement_id for r in entity["representations"])


def _candidates(store: Any, decision: dict, placement_id: str, now) -> list[Any]:
    """Eligible offers of every criterion that covers the placement, best first."""
    criteria = [c for c in decision["criteria"] if placement_id in c["placements"]]
    criteria.sort(key=lambda c: -c.get("rank", {}).get("priority", 0))
    offers = store.records["personalized-offer"]
    chosen: list[Any] = []
    for criterion in criteria:
        if criterion.get("profileConstraint", {}).get("profileConstraintType", "none") != "none":
            continue
        collection = store.find("offer-collection", criterion["optionSelection"]["filter"])
        if collection is None:
            continue
        ids = set(collection["ids"])
        if collection["filterType"] == "offers":
            members = [offers[i] for i in collection["ids"] if i in offers]
        else:
            members = [o for o in offers.values() if ids & set(o.entity.get("tags", []))]
        members = [o for o in members if _eligible(o, placement_id, now)]
        members.sort(key=lambda o: (-o.entity.get("rank", {}).get("priority", 0), o.created, o.id))
        chosen += [o for o in members if o not in chosen]
    return chosen


def decide(store: Any, config: EmulatorConfig, body: Any) -> dict[str, Any]:
    request = _Request(body, config)
    now = config.clock()
    propositions = []
    proposed: list[tuple[str, str, str]] = []  # (activity, placement, offer id)
    for i, (activity_id, placement_id, count) in enumerate(request.items):
        where = f"xdm:propositionRequests[{i}]"
        decision_record = store.records["offer-decision"].get(activity_id)
        if decision_record is None:
            raise _unprocessable(f"{where}.xdm:activityId: no decision {activity_id!r}")
        decision = decision_record.entity
        if decision.get("status") != "live":
            raise _unprocessable(
                f"{where}.xdm:activityId: decision {activity_id!r} is "
                f"{decision.get('status', 'draft')!r}, not 'live'"
            )
        placement_record = store.records["placement"].get(placement_id)
        covered = any(placement_id in c["placements"] for c in decision["criteria"])
        if placement_record is None or not covered:
            raise _unprocessable(
                f"{where}.xdm:placementId: placement {placement_id!r} is not used by decision "
                f"{activity_id!r}"
            )
        placement = {"id": placement_id, **placement_record.entity}
        candidates = [
            offer
            for offer in _candidates(store, decision, placement_id, now)
            if not any(
                oid == offer.id
                and (
                    (act != activity_id and not request.across_activities)
                    or (act == activity_id and pl != placement_id and not request.across_placements)
                )
                for act, pl, oid in proposed
            )
        ][:count]
        proposition: dict[str, Any] = {
            "xdm:activity": {
                "xdm:id": answer_id(activity_id, config),
                "repo:etag": str(decision_record.etag),
                **_metadata(request, "xdm:activity", decision),
            },
            "xdm:placement": {
                "xdm:id": answer_id(placement_id, config),
                "repo:etag": str(placement_record.etag),
                **_metadata(request, "xdm:placement", placement_record.entity),
            },
        }
        if candidates:
            proposition["xdm:options"] = [
                _item(request, offer, placement, "xdm:option") for offer in candidates
            ]
            proposed += [(activity_id, placement_id, offer.id) for offer in candidates]
        else:
            fallback = store.records["fallback-offer"].get(decision["fallback"])
            has_rep = fallback is not None and any(
                r["placement"] == placement_id for r in fallback.entity["representations"]
            )
            if not has_rep:
                raise _unprocessable(
                    f"{where}: decision {activity_id!r} has no fallback offer with a "
                    f"representation for placement {placement_id!r}"
                )
            proposition["xdm:fallback"] = _item(request, fallback, placement, "xdm:option")
        propositions.append(proposition)
    # decision-response-v1.0 is closed: no member echoes xdm:decisionRequestId.
    return {
        "xdm:propositionId": str(uuid.uuid4()),
        "xdm:propositions": propositions,
        "ode:createDate": int(now.timestamp() * 1000),
    }
