"""One plan over the whole decisioning setup, applied in dependency order.

The sandbox is read once (every kind, at once); the document's references by name are
resolved against it (`document.resolve`); each kind gets the plan of `plan.compute_plan`
(offers marked and prunable, every other kind never marked and never pruned: Adobe gives
those kinds no member that could record who made them, see docs/catalog.md). The apply runs
the creates and updates kind by kind in `kinds.KINDS` order (placements, tags, rules and
ranking formulas before the offers that use them, offers before collections, collections
before decisions, so a decision goes `live` only once what it serves exists), filling in
the ids just created, then the deletes in reverse. A kind whose writes failed stops the apply
before anything that depends on it. Plan entries show references as `{"name": ...}`, so the
plan a person approves reads the same in every sandbox and after a partial apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_offers.api import guardrails
from airflow_provider_offers.api.catalog import document
from airflow_provider_offers.api.catalog.apply import ApplyError, BackoffGate, apply_plan
from airflow_provider_offers.api.catalog.kinds import BY_KEY, KINDS, SetupKind
from airflow_provider_offers.api.catalog.plan import (
    COUNTS,
    WRITES,
    CatalogError,
    JsonDict,
    Plan,
    compute_plan,
    listed,
    read_all,
)

if TYPE_CHECKING:
    from airflow_provider_offers.api.client import AsyncOfferLibraryClient

#: Per-sandbox totals a setup plan checks before it writes: kind keys -> the guardrail.
_TOTALS = {
    ("personalized_offers", "fallback_offers"): "offers_per_sandbox",
    ("placements",): "placements_per_sandbox",
    ("collections",): "collections_per_sandbox",
    ("decisions",): "decisions_per_sandbox",
}


@dataclasses.dataclass
class SetupPlan:
    """Each kind's plan (its entries carry `kind`); shown, approved and compared as one."""

    catalog: str
    plans: dict[str, Plan]

    @property
    def entries(self) -> list[JsonDict]:
        return [entry for kind in KINDS for entry in self.plans[kind.key].entries]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COUNTS.values(), 0)
        for plan in self.plans.values():
            for name, n in plan.counts().items():
                counts[name] += n
        return counts

    def blocked(self) -> list[JsonDict]:
        return [entry for entry in self.entries if entry["action"] == "blocked"]


async def read_sandbox(client: AsyncOfferLibraryClient) -> document.Sandbox:
    """Every kind listed once, all at once (Experience Decisioning's objects left out)."""
    listings = await read_all([listed(client, kind.resource) for kind in KINDS])
    return document.Sandbox.of(dict(zip(BY_KEY, listings, strict=True)))


def compute_setup_plan(
    catalog: str,
    setup: document.Setup,
    sandbox: document.Sandbox,
    *,
    prune: bool = False,
    limits: guardrails.Guardrails = guardrails.ADOBE,
) -> SetupPlan:
    """The plan bringing `sandbox` to the document (`document.parse_setup`'s result)."""
    resolved = document.resolve(setup, sandbox)
    problems = document.serving_problems(resolved, sandbox)
    if problems:
        raise CatalogError("; ".join(problems) + "; nothing was written")
    decisions = document.after_plan(resolved, sandbox, "decisions")
    collections = document.after_plan(resolved, sandbox, "collections")
    names = sandbox.names_by_id()
    plans = {}
    for kind in KINDS:
        plan = compute_plan(
            catalog,
            resolved[kind.key],
            sandbox.objects[kind.key],
            prune=prune,
            decisions=decisions,
            collections=collections,
            marked=kind.marked,
            noun=kind.noun,
        )
        for entry in plan.entries:
            _show_names(kind, entry, names)
        plans[kind.key] = plan
    setup_plan = SetupPlan(catalog, plans)
    _check_totals(setup_plan, sandbox, limits)
    return setup_plan


def _show_names(kind: SetupKind, entry: JsonDict, names: Mapping[str, Mapping[str, str]]) -> None:
    """The entry as a person approves it: its kind, references by name wherever known."""
    entry["kind"] = kind.key
    if "body" in entry:
        entry["body"] = document.named(kind, entry["body"], names)
    for field, change in (entry.get("changes") or {}).items():
        for side in ("old", "new"):
            if side in change:
                change[side] = document.named(kind, {field: change[side]}, names)[field]


def _check_totals(
    plan: SetupPlan, sandbox: document.Sandbox, limits: guardrails.Guardrails
) -> None:
    """Refuse, before any write, a plan growing the sandbox past one of Adobe's totals."""
    problems = []
    for keys, rail in _TOTALS.items():
        now = sum(len(sandbox.objects[key]) for key in keys)
        counts = [plan.plans[key].counts() for key in keys]
        problem = guardrails.sandbox_total_problem(
            getattr(limits, rail),
            now,
            sum(c["created"] for c in counts),
            sum(c["deleted"] for c in counts),
        )
        if problem:
            problems.append(problem)
    if problems:
        raise CatalogError("; ".join(problems) + "; nothing was written")


async def plan_setup(
    client: AsyncOfferLibraryClient,
    setup: document.Setup,
    *,
    catalog: str,
    prune: bool = False,
    limits: guardrails.Guardrails = guardrails.ADOBE,
) -> SetupPlan:
    """Read the sandbox once and plan the whole setup."""
    sandbox = await read_sandbox(client)
    return compute_setup_plan(catalog, setup, sandbox, prune=prune, limits=limits)


async def apply_setup(
    client: AsyncOfferLibraryClient,
    plan: SetupPlan,
    *,
    gate: BackoffGate,
    max_concurrency: int = 8,
    written: list[tuple[str, str, str]] | None = None,
) -> dict[str, int]:
    """Every write of the plan in dependency order; the counts of what was done.

    `written` (if given) gets `(kind key, object id, action)` for each write, as it is made.
    """
    counts = plan.counts()
    for action in WRITES:
        counts[COUNTS[action]] = 0
    created: dict[str, dict[str, str]] = {kind.key: {} for kind in KINDS}
    phases: list[tuple[SetupKind, tuple[str, ...]]]
    phases = [(kind, ("create", "update")) for kind in KINDS]
    phases += [(kind, ("delete",)) for kind in reversed(KINDS)]
    for kind, actions in phases:
        kind_plan = plan.plans[kind.key]
        if not any(entry["action"] in actions for entry in kind_plan.entries):
            continue
        if "delete" not in actions:  # the ids an earlier kind's creates returned
            for _, desired in kind_plan.work.values():
                document.fill_created(kind, desired, created)
        made: list[tuple[str, str]] = []
        try:
            done = await apply_plan(
                client,
                kind_plan,
                resource=kind.resource,
                gate=gate,
                max_concurrency=max_concurrency,
                written=made,
                actions=actions,
                created=created[kind.key],
            )
        except ApplyError as error:
            _add(counts, error.counts)
            failures = {f"{kind.key}/{name}": e for name, e in error.failures.items()}
            raise ApplyError(failures, counts, noun="object") from None
        finally:
            if written is not None:
                written.extend((kind.key, object_id, action) for object_id, action in made)
        _add(counts, done)
    return counts


def _add(counts: dict[str, int], done: Mapping[str, Any]) -> None:
    for action in WRITES:
        counts[COUNTS[action]] += done.get(COUNTS[action], 0)
