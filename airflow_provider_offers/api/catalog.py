"""Offer catalog as code: the offers a team wants, the plan that brings a sandbox there, its apply.

No Airflow here. A catalog is a list of offers, each identified by its `name` in the sandbox.
The plan is computed from ONE paged listing of the sandbox's offers: a missing name is
created, an offer that differs gets the smallest guarded JSON Patch (`api.diff`, the rule
`CreateOfferOperator` uses), the rest is left alone. Offers the catalog creates carry a marker,
a `characteristics` entry naming the catalog (`MARKER`); pruning deletes only offers carrying
this catalog's marker, never one made by hand or by another catalog, and never one a decision
still serves as its fallback (`blocked`).

The plan is plain JSON, sorted by name, so a person can approve it and a later run can insist
on applying exactly that plan (`drift`). The apply runs the writes through the async client,
at most `max_concurrency` at a time. Each write goes through `api.reconcile` (a lost create is
reconciled by name, a rejected guarded patch is recomputed), run in a worker thread whose
requests go back to the event loop; a 429 (or any retry wait) holds every worker (`BackoffGate`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_offers.api import diff, reconcile
from airflow_provider_offers.api.errors import InvalidInputError, NotFoundError, OutcomeUnknownError
from airflow_provider_offers.api.models import parse_input
from airflow_provider_offers.api.resources import OFFER_DECISIONS, PLACEMENTS, offer_resource
from airflow_provider_offers.api.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient
    from airflow_provider_offers.api.resources import Resource

log = logging.getLogger(__name__)

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


class CatalogError(Exception):
    """The catalog cannot be applied as it stands (drift, blocked delete, name clash, unknown
    placement); raised before anything was written."""


_LISTED = 10  # failures named in the exception; the log names every one


class ApplyError(Exception):
    """Some writes failed; the others were applied. `failures` maps offer name to the error."""

    def __init__(self, failures: Mapping[str, BaseException], counts: Mapping[str, int]):
        named = sorted(failures.items())
        listed = "; ".join(f"{name!r}: {error}" for name, error in named[:_LISTED])
        if len(named) > _LISTED:
            listed += f"; and {len(named) - _LISTED} more (see the log)"
        for name, error in named:
            log.error("Offer %r could not be written: %s", name, error)
        super().__init__(
            f"{len(failures)} offer(s) could not be written ({listed}); done: {dict(counts)}"
        )
        self.failures = dict(failures)
        self.counts = dict(counts)


# -- the desired catalog ------------------------------------------------------------------------


def _label(index: int, value: Any) -> str:
    name = value.get("name") if isinstance(value, Mapping) else None
    return f"offers[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")


def parse_catalog(offers: Any, offer_type: str, catalog: str) -> list[JsonDict]:
    """The offers as the JSON bodies we send, validated; every problem named before any request.

    Each offer is checked by the write models (`models.parse_input`); names must be unique;
    the marker is ours to set, so an offer may only carry it with this catalog's name.
    """
    if not isinstance(offers, Sequence) or isinstance(offers, (str, bytes)):
        raise InvalidInputError("offers", f"expected a list of offers, got {type(offers)!r}")
    model = offer_resource(offer_type).model
    bodies: list[JsonDict] = []
    problems: list[str] = []
    for index, value in enumerate(offers):
        try:
            body = parse_input(model, value, _label(index, value)).to_body()
        except InvalidInputError as error:
            problems.append(str(error))
            continue
        marker = (body.get("characteristics") or {}).get(MARKER, catalog)
        if marker != catalog:
            problems.append(
                f"{_label(index, value)}.characteristics.{MARKER}: {marker!r} is not this "
                f"catalog ({catalog!r}); the sync sets it"
            )
        bodies.append(body)
    positions: dict[str, list[int]] = {}
    for index, value in enumerate(offers):
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            positions.setdefault(value["name"], []).append(index)
    for name, where in positions.items():
        if len(where) > 1:
            places = ", ".join(f"offers[{i}]" for i in where)
            problems.append(f"offers: the name {name!r} is used {len(where)} times ({places})")
    if problems:
        raise InvalidInputError(
            "offers", f"{len(problems)} problem(s), nothing was sent: " + "; ".join(problems)
        )
    return bodies


def offers_from_text(text: str, source: str) -> list[Any]:
    """The offers in one catalog file: JSON (`.json`) or YAML (anything else), holding a list of
    offers, `{"offers": [...]}`, or a single offer."""
    if source.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInputError("offers_file", f"{source}: not valid JSON ({exc})") from None
    else:
        import yaml  # type: ignore[import-untyped]  # PyYAML comes with Airflow; only YAML catalog files need it

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError("offers_file", f"{source}: not valid YAML ({exc})") from None
    if isinstance(data, Mapping):
        data = data.get("offers", [data])
    if data is None:
        return []
    if not isinstance(data, list):
        raise InvalidInputError(
            "offers_file", f"{source}: expected a list of offers, got {type(data).__name__}"
        )
    return data


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


# -- the plan -----------------------------------------------------------------------------------


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


_COLUMNS = ("action", "name", "id", "fields", "etag")


def _summary(entries: Sequence[Mapping[str, Any]]) -> str:
    counts = dict.fromkeys(COUNTS, 0)
    for entry in entries:
        counts[entry["action"]] += 1
    return ", ".join(f"{n} {COUNTS[action]}" for action, n in counts.items() if n) or "no offers"


def _rows(entries: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per entry that is not `unchanged` (a large catalog is mostly unchanged)."""
    rows = []
    for entry in entries:
        if entry["action"] == "unchanged":
            continue
        fields = ", ".join(entry.get("fields") or ())
        if entry.get("decisions"):
            fields = "fallback of " + ", ".join(entry["decisions"])
        rows.append(
            [
                str(entry["action"]),
                str(entry.get("name")),
                str(entry.get("id") or "-"),
                fields or "-",
                "-" if entry.get("etag") is None else str(entry["etag"]),
            ]
        )
    return rows


def plan_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """The plan as a fixed-width text table (the task log), after a one-line summary."""
    rows = _rows(entries)
    if not rows:
        return f"{_summary(entries)}: nothing to change"
    rows.insert(0, list(_COLUMNS))
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join([_summary(entries), *(line.rstrip() for line in lines)])


def plan_markdown(entries: Sequence[Mapping[str, Any]]) -> str:
    """The plan as Markdown (the approval form in the Airflow UI): a summary and a table."""

    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    rows = _rows(entries)
    if not rows:
        return f"**{_summary(entries)}**: nothing to change."
    table = [cells(_COLUMNS), cells(["---"] * len(_COLUMNS)), *map(cells, rows)]
    return "\n".join([f"**{_summary(entries)}**", "", *table])


# -- the apply ----------------------------------------------------------------------------------


class BackoffGate:
    """One wait for every worker: when one is told to wait (a 429's `Retry-After`, or a retry
    backoff), nobody sends until that time has passed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until = 0.0

    async def sleep(self, seconds: float) -> None:
        """The retry policy's sleep: hold the gate shut for `seconds` from now, then wait."""
        self._until = max(self._until, self.clock() + seconds)
        await self.wait()

    async def wait(self) -> None:
        while (left := self._until - self.clock()) > 0:
            await asyncio.sleep(left)

    def policy(self, base: RetryPolicy | None = None) -> RetryPolicy:
        """`base` (the client's retry numbers) with its async sleep going through this gate."""
        return dataclasses.replace(base or RetryPolicy(), async_sleep=self.sleep)


class _Remembered:
    """A `reconcile.Journal` that knows a create for this name was sent (lost answer)."""

    def __init__(self, value: JsonDict) -> None:
        self.value = value

    def get(self) -> JsonDict:
        return self.value

    def set(self, value: JsonDict) -> None:
        self.value = value


class LoopStore:
    """`reconcile.EntityStore` for worker threads: each call runs on the event loop's client,
    after the backoff gate opens, and returns the server's JSON."""

    def __init__(
        self,
        client: AsyncOfferLibraryClient,
        resource: Resource,
        loop: asyncio.AbstractEventLoop,
        gate: BackoffGate,
    ) -> None:
        self.client = client
        self.resource = resource
        self.loop = loop
        self.gate = gate

    def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        async def gated() -> T:
            await self.gate.wait()
            return await call()

        return asyncio.run_coroutine_threadsafe(gated(), self.loop).result()

    def find_by_name(self, name: str) -> JsonDict | None:
        found = self._run(lambda: self.client.find_by_name(self.resource, name))
        return None if found is None else found.raw_json()

    def get(self, entity_id: str) -> JsonDict:
        return self._run(lambda: self.client.get(self.resource, entity_id)).raw_json()

    def create(self, entity: JsonDict) -> JsonDict:
        return self._run(lambda: self.client.create(self.resource, entity)).raw_json()

    def patch(self, entity_id: str, operations: list[JsonDict]) -> JsonDict:
        return self._run(lambda: self.client.patch(self.resource, entity_id, operations)).raw_json()

    def delete(self, entity_id: str) -> None:
        self._run(lambda: self.client.delete(self.resource, entity_id))


def write(store: LoopStore, plan: Plan, entry: Mapping[str, Any]) -> str:
    """One planned write, safe to repeat; returns the action it ended as (`COUNTS` keys).

    The plan knows the name is free, so a create is sent without a look-up; only a lost answer
    makes it look the name up (`ensure_by_name`, told a create was sent).
    """
    name, action = entry["name"], entry["action"]
    if action == "delete":
        try:
            store.delete(entry["id"])
        except NotFoundError:
            log.info("Offer %r (%s) was already gone", name, entry["id"])
        return "delete"
    existing, desired = plan.work[name]
    if existing is None:
        try:
            store.create(desired)
        except OutcomeUnknownError:
            log.warning("Outcome of creating offer %r unknown; looking it up by name", name)
            reconcile.ensure_by_name(store, desired, journal=_Remembered({"name": name}))
        return "create"
    _, wrote = reconcile.converge(store, existing, desired)
    return "update" if wrote else "unchanged"


class Progress:
    """Logs done/total and the rate, at most every `every` seconds (and once at the end)."""

    def __init__(
        self, total: int, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.every = every
        self.clock = clock
        self.started = self.last = clock()
        self.done = 0

    def step(self) -> None:
        self.done += 1
        now = self.clock()
        if self.done == self.total or now - self.last >= self.every:
            rate = self.done / max(now - self.started, 1e-9)
            log.info("Applied %d/%d writes (%.1f/s)", self.done, self.total, rate)
            self.last = now


async def apply_plan(
    client: AsyncOfferLibraryClient,
    plan: Plan,
    *,
    offer_type: str,
    gate: BackoffGate,
    max_concurrency: int = 8,
    progress_every: float = 5.0,
) -> dict[str, int]:
    """Every write of the plan, `max_concurrency` at a time; the counts of what was done.

    A failed write does not stop the others; `ApplyError` names each failure at the end.
    """
    loop = asyncio.get_running_loop()
    store = LoopStore(client, offer_resource(offer_type), loop, gate)
    counts = plan.counts()
    for action in WRITES:
        counts[COUNTS[action]] = 0
    entries = [entry for entry in plan.entries if entry["action"] in WRITES]
    progress = Progress(len(entries), progress_every)
    failures: dict[str, BaseException] = {}
    limit = asyncio.Semaphore(max_concurrency)
    with ThreadPoolExecutor(max_concurrency, thread_name_prefix="offer-sync") as pool:

        async def one(entry: JsonDict) -> None:
            async with limit:
                try:
                    done = await loop.run_in_executor(pool, write, store, plan, entry)
                except Exception as error:
                    failures[entry["name"]] = error
                    return
            counts[COUNTS[done]] += 1
            progress.step()

        await asyncio.gather(*(one(entry) for entry in entries))
        created = {entry["name"] for entry in entries if entry["action"] == "create"}
        if created and not failures:
            listing = await _listed(client, offer_resource(offer_type))
            await loop.run_in_executor(pool, keep_one_of_each, store, plan, created, listing)
    if failures:
        raise ApplyError(failures, counts)
    return counts


def keep_one_of_each(
    store: LoopStore, plan: Plan, created: set[str], listing: Sequence[JsonDict]
) -> None:
    """After the creates: a name another run of the catalog created at the same moment is
    kept once (`reconcile.keep_oldest`); only offers with this catalog's marker are deleted."""
    by_name: dict[str, list[JsonDict]] = {}
    for offer in listing:
        by_name.setdefault(str(offer.get("name")), []).append(offer)
    for name in sorted(created):
        namesakes = by_name.get(name, [])
        if len(namesakes) > 1:
            desired = plan.work[name][1]
            reconcile.keep_oldest(store, namesakes, desired, deletable=_marked(marker_of(desired)))


def _marked(catalog: str | None) -> Callable[[JsonDict], bool]:
    """Whether an offer carries `catalog`'s marker (this catalog's offers may be deleted)."""

    def marked(offer: JsonDict) -> bool:
        return marker_of(offer) == catalog

    return marked


# -- the whole sync -----------------------------------------------------------------------------


async def _listed(client: AsyncOfferLibraryClient, resource: Resource) -> list[JsonDict]:
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
    listings = [_listed(client, offer_resource(offer_type))]
    if any(body.get("representations") for body in bodies):
        listings.append(_listed(client, PLACEMENTS))
    existing, *placement_list = await _all(listings)
    if placement_list:
        placements = {p.get("id") for p in placement_list[0]}
        problems = unknown_placements(bodies, placements)
        if problems:
            raise CatalogError("; ".join(problems) + "; nothing was written")
    decisions: list[JsonDict] = []
    if prune and prune_candidates(existing, {body["name"] for body in bodies}, catalog):
        decisions = await _listed(client, OFFER_DECISIONS)
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
