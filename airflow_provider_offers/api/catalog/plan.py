"""The plan: what brings the sandbox's offers to the catalog, computed from one listing.

A missing name is created, an offer that differs gets the smallest guarded JSON Patch
(`api.diff`, the rule `CreateOfferOperator` uses), the rest is left alone. Offers the catalog
creates carry a marker, a `characteristics` entry naming the catalog (`MARKER`); pruning
deletes only offers carrying this catalog's marker, never one made by hand or by another
catalog, and never one a decision still serves as its fallback (`blocked`). The plan is plain
JSON, sorted by name, so a person can approve it and a later run can insist on applying
exactly that plan (`drift`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_offers.api import diff
from airflow_provider_offers.api.errors import InvalidInputError, OfferLibraryError
from airflow_provider_offers.api.resources import OFFER_DECISIONS, PLACEMENTS, offer_resource

if TYPE_CHECKING:
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient
    from airflow_provider_offers.api.resources import Resource

JsonDict = dict[str, Any]
T = TypeVar("T")

#: The `characteristics` key whose value names the catalog that created the offer.
MARKER = "airflow-offer-catalog"
#: Plan actions, and the count each one is reported under.
COUNTS = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "delete": "deleted",
    "blocked": "blocked",
}
WRITES = ("create", "update", "delete")
PAGE_SIZE = 100  # the largest page the emulator serves; Adobe documents no maximum


class CatalogError(OfferLibraryError):
    """The catalog cannot be applied as it stands (drift, blocked delete, name clash, unknown
    placement); raised before anything was written."""


def unknown_placements(bodies: Iterable[Mapping[str, Any]], placement_ids: set[Any]) -> list[str]:
    """One line per representation naming a placement the sandbox does not have."""
    problems = []
    for body in bodies:
        for index, representation in enumerate(body.get("representations") or ()):
            placement = representation.get("placement")
            if placement not in placement_ids:
                problems.append(
                    f"offer {body['name']!r}: representations[{index}].placement "
                    f"{placement!r} is not a placement of this sandbox"
                )
    return problems


def marker_of(offer: Mapping[str, Any]) -> str | None:
    """The catalog an offer was created by, None for an offer made any other way."""
    characteristics = offer.get("characteristics")
    if isinstance(characteristics, Mapping) and isinstance(characteristics.get(MARKER), str):
        return characteristics[MARKER]
    return None


def with_marker(body: Mapping[str, Any], catalog: str) -> JsonDict:
    """`body` carrying this catalog's marker among its characteristics."""
    return {**body, "characteristics": {**(body.get("characteristics") or {}), MARKER: catalog}}


def prune_candidates(
    existing: Iterable[Mapping[str, Any]], wanted: set[str], catalog: str
) -> list[Mapping[str, Any]]:
    """This catalog's offers whose names are no longer wanted."""
    return [o for o in existing if marker_of(o) == catalog and o.get("name") not in wanted]


@dataclasses.dataclass
class Plan:
    """The entries (JSON, what is shown, approved and compared) and what the apply needs."""

    catalog: str
    entries: list[JsonDict]
    #: name -> (the offer as listed, or None for a create; the body it is brought to)
    work: dict[str, tuple[JsonDict | None, JsonDict]] = dataclasses.field(repr=False)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTS.values(), 0)
        for entry in self.entries:
            counts[COUNTS[entry["action"]]] += 1
        return counts

    def blocked(self) -> list[JsonDict]:
        return [entry for entry in self.entries if entry["action"] == "blocked"]


def _entry(name: str, offer: Mapping[str, Any] | None, action: str, fields: list[str]) -> JsonDict:
    return {
        "name": name,
        "id": offer.get("id") if offer else None,
        "action": action,
        "fields": fields,
        "etag": offer.get("etag") if offer else None,
    }


def compute_plan(
    catalog: str,
    bodies: Sequence[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    *,
    prune: bool = False,
    decisions: Iterable[Mapping[str, Any]] = (),
) -> Plan:
    """The plan bringing the listed offers (`existing`, the server's JSON) to `bodies`.

    An offer of the wanted name made by hand is updated but never marked (so a prune never
    deletes it); one made by another catalog is a clash. `decisions` (the server's JSON) are
    needed only for pruning: a decision serving an offer as its fallback blocks its delete.
    """
    by_name: dict[Any, list[Mapping[str, Any]]] = {}
    for offer in existing:
        by_name.setdefault(offer.get("name"), []).append(offer)
    entries: list[JsonDict] = []
    work: dict[str, tuple[JsonDict | None, JsonDict]] = {}
    clashes = []
    for body in bodies:
        name = body["name"]
        found = by_name.get(name, [])
        if len(found) > 1:
            ids = ", ".join(str(o.get("id")) for o in found)
            clashes.append(f"{len(found)} offers are named {name!r} ({ids})")
            continue
        if not found:
            desired = with_marker(body, catalog)
            entries.append(_entry(name, None, "create", sorted(desired)))
            work[name] = (None, desired)
            continue
        offer = dict(found[0])
        owner = marker_of(offer)
        if owner not in (None, catalog):
            clashes.append(f"offer {name!r} ({offer.get('id')}) belongs to catalog {owner!r}")
            continue
        desired = with_marker(body, catalog) if owner == catalog else dict(body)
        operations = diff.update_patch(offer, desired)
        fields = diff.touched_members(operations)
        entries.append(_entry(name, offer, "update" if operations else "unchanged", fields))
        work[name] = (offer, desired)
    if clashes:
        raise CatalogError("; ".join(clashes) + "; nothing was written")
    if prune:
        users: dict[str, list[str]] = {}
        for decision in decisions:
            if decision.get("fallback"):
                users.setdefault(decision["fallback"], []).append(
                    f"{decision.get('name')!r} ({decision.get('id')})"
                )
        wanted = {body["name"] for body in bodies}
        for offer in prune_candidates(existing, wanted, catalog):
            used_by = users.get(offer.get("id", ""))
            entry = _entry(offer["name"], offer, "blocked" if used_by else "delete", [])
            if used_by:
                entry["decisions"] = sorted(used_by)
            entries.append(entry)
    entries.sort(key=lambda e: (e["name"], e["id"] or ""))
    return Plan(catalog, entries, work)


def plan_entries(value: Any) -> list[JsonDict]:
    """A plan as given back to us: the entries, a sync result (`{"plan": [...]}`) or its JSON."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidInputError("expected_plan", f"not valid JSON ({exc})") from None
    if isinstance(value, Mapping) and "plan" in value:
        value = value["plan"]
    if not isinstance(value, Sequence) or not all(isinstance(e, Mapping) for e in value):
        raise InvalidInputError("expected_plan", "expected a list of plan entries or a result")
    return [dict(entry) for entry in value]


def _key(entry: Mapping[str, Any]) -> tuple[str, str]:
    # A wanted name is one entry whatever its id (a create becomes an offer); a pruned offer
    # is one entry per id (a catalog may have made two of one name by hand... or by accident).
    pruned = entry.get("action") in ("delete", "blocked")
    return str(entry.get("name")), str(entry.get("id") or "") if pruned else ""


def _already_applied(before: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> bool:
    """An approved write that a run of the same plan already made (a retry after a partial
    apply): the create or update now shows as unchanged, the delete as gone."""
    if before is None:
        return False
    if now is None:
        return before.get("action") == "delete"
    return before.get("action") in ("create", "update") and now.get("action") == "unchanged"


def drift(expected: Sequence[Mapping[str, Any]], plan: Plan) -> list[str]:
    """Names whose entries differ between the approved plan and the one computed now, leaving
    out the approved writes that are already done."""
    before = {_key(e): e for e in expected}
    now = {_key(e): e for e in plan.entries}

    def same(key: tuple[str, str]) -> bool:
        a, b = before.get(key), now.get(key)
        if a is not None and b is not None and _canonical(a) == _canonical(b):
            return True
        return _already_applied(a, b)

    return sorted({key[0] for key in before.keys() | now.keys() if not same(key)})


def _canonical(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, default=str)


async def listed(client: AsyncOfferLibraryClient, resource: Resource) -> list[JsonDict]:
    """Every object of `resource` in the sandbox, as the server's JSON."""
    return [offer async for offer in client.list_json(resource, limit=PAGE_SIZE)]


async def _all(reads: Sequence[Awaitable[T]]) -> list[T]:
    """Every read's result, run at once; the first failure (in `reads` order) is raised once
    all are over, so none is left running."""
    results = await asyncio.gather(*reads, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)  # type: ignore[arg-type]  # no exception left


async def plan_catalog(
    client: AsyncOfferLibraryClient,
    bodies: Sequence[JsonDict],
    *,
    offer_type: str,
    catalog: str,
    prune: bool = False,
) -> Plan:
    """Read the sandbox (offers once; placements and decisions once when needed) and plan.

    The placements are listed while the offers are (one round trip less)."""
    listings = [listed(client, offer_resource(offer_type))]
    if any(body.get("representations") for body in bodies):
        listings.append(listed(client, PLACEMENTS))
    existing, *placement_list = await _all(listings)
    if placement_list:
        placements = {p.get("id") for p in placement_list[0]}
        problems = unknown_placements(bodies, placements)
        if problems:
            raise CatalogError("; ".join(problems) + "; nothing was written")
    decisions: list[JsonDict] = []
    if prune and prune_candidates(existing, {body["name"] for body in bodies}, catalog):
        decisions = await listed(client, OFFER_DECISIONS)
    return compute_plan(catalog, bodies, existing, prune=prune, decisions=decisions)


def check_plan(plan: Plan, *, expected: Any = None, skip_blocked: bool = False) -> None:
    """Refuse, before any write, a plan that drifted from the approved one or deletes an offer
    a decision still serves."""
    if expected is not None:
        drifted = drift(plan_entries(expected), plan)
        if drifted:
            raise CatalogError(
                "the plan changed since it was approved, for "
                + ", ".join(repr(name) for name in drifted)
                + "; nothing was written"
            )
    blocked = plan.blocked()
    if blocked and not skip_blocked:
        lines = [
            f"offer {e['name']!r} ({e['id']}) is the fallback of decision(s) "
            + ", ".join(e["decisions"])
            for e in blocked
        ]
        raise CatalogError(
            "; ".join(lines) + "; not deleting it (skip_blocked=True skips such offers); "
            "nothing was written"
        )
