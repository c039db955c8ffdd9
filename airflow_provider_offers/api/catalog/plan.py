"""The plan: what brings the sandbox's offers to the catalog, computed from one listing.

A missing name is created, an offer that differs gets the smallest guarded JSON Patch
(`api.diff`, the rule `CreateOfferOperator` uses), an entry `renamed_from` an offer's old
name patches that offer's `/name` (the id kept), the rest is left alone. Offers the catalog
creates carry a marker, a `characteristics` entry naming the catalog (`MARKER`); pruning
deletes only offers carrying this catalog's marker, never one made by hand or by another
catalog, and never one anything in the sandbox still references (`blocked`: a decision's
fallback, a collection listing it by id). The plan is plain JSON, sorted by name, and each
write carries the values it writes (`changes`, `body`), so a person approves values, and a
later run can insist on applying exactly those (`drift`).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_offers.api import diff, guardrails
from airflow_provider_offers.api.errors import OfferLibraryError
from airflow_provider_offers.api.resources import (
    FALLBACK_OFFERS,
    OFFER_COLLECTIONS,
    OFFER_DECISIONS,
    PERSONALIZED_OFFERS,
    PLACEMENTS,
    offer_resource,
)

if TYPE_CHECKING:
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient
    from airflow_provider_offers.api.resources import Resource

JsonDict = dict[str, Any]
T = TypeVar("T")

#: The `characteristics` key whose value names the catalog that created the offer.
MARKER = "airflow-offer-catalog"
#: The catalog entry member naming the offer's old name (a rename in place; never sent).
RENAMED_FROM = "renamed_from"
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
#: The listing's order: ids never change, so an edit made while the pages are read cannot
#: move an object to a page already read (Adobe's default, `-modified`, does exactly that).
LIST_ORDER = "id"


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
    """This catalog's offers whose names are no longer wanted (a name renamed from is
    wanted: that offer is kept, under its new name)."""
    return [o for o in existing if marker_of(o) == catalog and o.get("name") not in wanted]


def wanted_names(bodies: Iterable[Mapping[str, Any]]) -> set[str]:
    """The names the catalog keeps: each entry's, and the old name it is renamed from."""
    names = set()
    for body in bodies:
        names.add(body["name"])
        if body.get(RENAMED_FROM):
            names.add(body[RENAMED_FROM])
    return names


def references_to(
    decisions: Iterable[Mapping[str, Any]], collections: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """offer id -> {"decisions": [...], "collections": [...]}: what references each offer,
    as Adobe documents references to offers (a decision's `fallback`, a collection of
    `filterType: offers` listing it in `ids`)."""
    found: dict[str, dict[str, list[str]]] = {}

    def add(offer_id: Any, kind: str, holder: Mapping[str, Any]) -> None:
        if isinstance(offer_id, str) and offer_id:
            named = f"{holder.get('name')!r} ({holder.get('id')})"
            found.setdefault(offer_id, {}).setdefault(kind, []).append(named)

    for decision in decisions:
        add(decision.get("fallback"), "decisions", decision)
    for collection in collections:
        if collection.get("filterType") == "offers" and isinstance(collection.get("ids"), list):
            # A reference by name still pending ({"name": ...}) is to an offer not made yet.
            for offer_id in dict.fromkeys(i for i in collection["ids"] if isinstance(i, str)):
                add(offer_id, "collections", collection)
    return found


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


def _changes(offer: Mapping[str, Any], desired: Mapping[str, Any], fields: list[str]) -> JsonDict:
    """field -> {"old": the listed value (left out when absent), "new": the value written}."""
    changes: JsonDict = {}
    for field in fields:
        change = {"new": copy.deepcopy(desired.get(field))}
        if field in offer:
            change = {"old": copy.deepcopy(offer[field]), **change}
        changes[field] = change
    return changes


def _split(body: Mapping[str, Any]) -> tuple[JsonDict, str | None]:
    """A catalog body without `renamed_from` (never sent), and that old name."""
    clean = {k: v for k, v in body.items() if k != RENAMED_FROM}
    return clean, body.get(RENAMED_FROM)


def _ids(offers: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(str(o.get("id")) for o in offers)


def compute_plan(
    catalog: str,
    bodies: Sequence[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    *,
    prune: bool = False,
    decisions: Iterable[Mapping[str, Any]] = (),
    collections: Iterable[Mapping[str, Any]] = (),
    marked: bool = True,
    noun: str = "offer",
) -> Plan:
    """The plan bringing the listed objects (`existing`, the server's JSON) to `bodies`.

    An offer of the wanted name made by hand is updated but never marked (so a prune never
    deletes it); one made by another catalog is a clash. An entry `renamed_from` an old name
    updates the offer of that name (its `/name` among the changes); once renamed (the old name
    gone, the new one there) it is an ordinary entry. `decisions` and `collections` (the
    server's JSON) are needed only for pruning: what references an offer blocks its delete.
    A kind with no marker (`marked=False`: placements, tags, ...) is never marked, never
    owned by a catalog and never pruned; `noun` names it in messages.
    """
    by_name: dict[Any, list[Mapping[str, Any]]] = {}
    for offer in existing:
        by_name.setdefault(offer.get("name"), []).append(offer)
    entries: list[JsonDict] = []
    work: dict[str, tuple[JsonDict | None, JsonDict]] = {}
    clashes = []
    for given in bodies:
        body, old_name = _split(given)
        name = body["name"]
        found = by_name.get(name, [])
        if old_name is not None:
            before = by_name.get(old_name, [])
            if before and found:
                clashes.append(
                    f"{noun} {name!r} is renamed from {old_name!r}, but both exist "
                    f"({_ids(before)}; {_ids(found)}): delete one or drop renamed_from"
                )
                continue
            if not before and not found:
                clashes.append(
                    f"{noun} {name!r} is renamed from {old_name!r}, but no {noun} has either name "
                    "(drop renamed_from to create it)"
                )
                continue
            found = found or before
        if len(found) > 1:
            clashes.append(
                f"{len(found)} {noun}s are named {found[0].get('name')!r} ({_ids(found)})"
            )
            continue
        if not found:
            desired = with_marker(body, catalog) if marked else dict(body)
            entry = _entry(name, None, "create", sorted(desired))
            entry["body"] = copy.deepcopy(desired)
            entries.append(entry)
            work[name] = (None, desired)
            continue
        offer = dict(found[0])
        owner = marker_of(offer) if marked else None
        if owner not in (None, catalog):
            clashes.append(
                f"offer {offer.get('name')!r} ({offer.get('id')}) belongs to catalog {owner!r}"
            )
            continue
        desired = with_marker(body, catalog) if owner == catalog else dict(body)
        operations = diff.update_patch(offer, desired)
        fields = diff.touched_members(operations)
        entry = _entry(name, offer, "update" if operations else "unchanged", fields)
        if operations:
            entry["changes"] = _changes(offer, desired, fields)
        if offer.get("name") != name:
            entry[RENAMED_FROM] = offer.get("name")
        entries.append(entry)
        work[name] = (offer, desired)
    if clashes:
        raise CatalogError("; ".join(clashes) + "; nothing was written")
    if prune and marked:
        users = references_to(decisions, collections)
        for offer in prune_candidates(existing, wanted_names(bodies), catalog):
            used_by = users.get(offer.get("id", ""), {})
            entry = _entry(offer["name"], offer, "blocked" if used_by else "delete", [])
            for kind, holders in used_by.items():
                entry[kind] = sorted(holders)
            entries.append(entry)
    entries.sort(key=lambda e: (e["name"], e["id"] or ""))
    return Plan(catalog, entries, work)


async def listed(client: AsyncOfferLibraryClient, resource: Resource) -> list[JsonDict]:
    """Every object of `resource` in the sandbox, as the server's JSON."""
    listing = client.list_json(resource, limit=PAGE_SIZE, orderby=LIST_ORDER)
    return [offer async for offer in listing]


async def read_all(reads: Sequence[Awaitable[T]]) -> list[T]:
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
    limits: guardrails.Guardrails = guardrails.ADOBE,
) -> Plan:
    """Read the sandbox (offers once; placements and decisions once when needed) and plan.

    The placements are listed while the offers are; Adobe's total of offers is checked."""
    listings = [listed(client, offer_resource(offer_type))]
    if any(body.get("representations") for body in bodies):
        listings.append(listed(client, PLACEMENTS))
    existing, *placement_list = await read_all(listings)
    if placement_list:
        placements = {p.get("id") for p in placement_list[0]}
        problems = unknown_placements(bodies, placements)
        if problems:
            raise CatalogError("; ".join(problems) + "; nothing was written")
    decisions: list[JsonDict] = []
    collections: list[JsonDict] = []
    if prune and prune_candidates(existing, wanted_names(bodies), catalog):
        decisions, collections = await read_all(
            [listed(client, OFFER_DECISIONS), listed(client, OFFER_COLLECTIONS)]
        )
    plan = compute_plan(
        catalog, bodies, existing, prune=prune, decisions=decisions, collections=collections
    )
    await check_offer_total(client, plan, offer_resource(offer_type), len(existing), limits)
    return plan


async def check_offer_total(
    client: AsyncOfferLibraryClient,
    plan: Plan,
    resource: Resource,
    listed_now: int,
    limits: guardrails.Guardrails,
) -> None:
    """Refuse, before any write, a plan growing the sandbox past Adobe's total of offers,
    which counts both offer types: the other type's total is read only when the plan grows."""
    counts = plan.counts()
    if counts["created"] <= counts["deleted"]:
        return
    other = PERSONALIZED_OFFERS if resource == FALLBACK_OFFERS else FALLBACK_OFFERS
    page = await client.list_page(other, limit=1)
    others = page.total if page.total is not None else len(await listed(client, other))
    problem = guardrails.sandbox_total_problem(
        limits.offers_per_sandbox, listed_now + others, counts["created"], counts["deleted"]
    )
    if problem:
        raise CatalogError(problem + "; nothing was written")
