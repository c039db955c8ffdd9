"""The whole-setup document: every kind of Offer Library object, references by name.

A document maps kinds (`kinds.KINDS`: placements, tags, rules, ranking_formulas,
personalized_offers, fallback_offers, collections, decisions) to lists of objects in Adobe's
JSON, each identified by its `name` within its kind. Wherever Adobe takes another object's id
(`kinds`' reference sites), the document may write `{"name": N}`: the object of that kind
named N, in the document or already in the sandbox. A plain string stays an id, sent as
given. `parse_setup` checks a document offline (shapes, names, the form of references);
`resolve` turns names into ids against one listing of the sandbox (`Sandbox`), naming every
name that exists nowhere or names two objects; `serving_problems` refuses a decision that
would serve an offer with no representation for its placement. No I/O here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_offers.api.calls import is_experience_decisioning
from airflow_provider_offers.api.catalog.kinds import (
    BY_KEY,
    KINDS,
    SetupKind,
    name_of_reference,
    reference_sites,
)
from airflow_provider_offers.api.catalog.plan import RENAMED_FROM, CatalogError, JsonDict
from airflow_provider_offers.api.catalog.source import parse_objects
from airflow_provider_offers.api.errors import InvalidInputError

#: kind key -> the objects of that kind (bodies as the catalog wants them)
Setup = dict[str, list[JsonDict]]


def parse_setup(document: Any, catalog: str, field: str = "objects") -> Setup:
    """The document's objects as the bodies we send, per kind, references by name kept as
    written; every problem named by its place in the document before any request."""
    if not isinstance(document, Mapping):
        raise InvalidInputError(
            field,
            f"expected a mapping of kinds ({', '.join(BY_KEY)}) to lists of objects, "
            f"got {type(document).__name__}",
        )
    problems = [
        f"{key!r} is not a kind of object (expected some of {', '.join(BY_KEY)})"
        for key in document
        if key not in BY_KEY
    ]
    setup: Setup = {}
    for kind in KINDS:
        objects = document.get(kind.key)
        held: list[dict[str, Any]] = []
        if isinstance(objects, list):
            objects = [_stand_in(kind, i, obj, held, problems) for i, obj in enumerate(objects)]
        given = [] if objects is None else objects
        bodies, found = parse_objects(given, kind.resource.model, catalog, kind.key)
        problems.extend(found)
        if not found:
            for body, names in zip(bodies, held, strict=True):
                for site in reference_sites(kind, body):
                    if site.where in names:
                        site.set(names[site.where])
        setup[kind.key] = bodies
    if problems:
        raise InvalidInputError(
            field, f"{len(problems)} problem(s), nothing was sent: " + "; ".join(problems)
        )
    return setup


def _stand_in(
    kind: SetupKind, index: int, value: Any, held: list[dict[str, Any]], problems: list[str]
) -> Any:
    """A copy of `value` whose references by name are stand-in ids while the write model
    checks it (the names go in `held`, by place); a reference of another form is a problem."""
    value = copy.deepcopy(value)
    names: dict[str, Any] = {}
    for site in reference_sites(kind, value):
        name = name_of_reference(site.value)
        if name is not None:
            names[site.where] = site.value
            site.set(f"{{name: {name}}}")
        elif not isinstance(site.value, str):
            problems.append(
                f"{kind.key}[{index}].{site.where}: expected an id or "
                f'{{"name": ...}}, got {json.dumps(site.value, default=str)}'
            )
    held.append(names)
    return value


@dataclass
class Sandbox:
    """One listing of every kind, as the server's JSON; Experience Decisioning's objects are
    left out (never ours to match, change or delete)."""

    objects: dict[str, list[JsonDict]]

    @classmethod
    def of(cls, listings: Mapping[str, Iterable[JsonDict]]) -> Sandbox:
        return cls(
            {
                kind.key: [
                    o for o in listings.get(kind.key, ()) if not is_experience_decisioning(o)
                ]
                for kind in KINDS
            }
        )

    def __post_init__(self) -> None:
        self._ids: dict[str, dict[Any, list[str]]] = {}
        for key, objects in self.objects.items():
            named = self._ids[key] = {}
            for o in objects:
                if isinstance(o.get("name"), str):
                    named.setdefault(o["name"], []).append(str(o.get("id")))

    def ids_named(self, key: str, name: Any) -> list[str]:
        return list(self._ids[key].get(name, ())) if isinstance(name, str) else []

    def names_by_id(self) -> dict[str, dict[str, str]]:
        """kind key -> id -> name, for the names that identify one object of their kind."""
        found: dict[str, dict[str, str]] = {}
        for key, objects in self.objects.items():
            counts: dict[Any, int] = {}
            for o in objects:
                counts[o.get("name")] = counts.get(o.get("name"), 0) + 1
            found[key] = {
                str(o["id"]): o["name"] for o in objects if counts[o.get("name")] == 1 and "id" in o
            }
        return found


def resolve(setup: Setup, sandbox: Sandbox) -> Setup:
    """The setup with each `{"name": N}` replaced by the id of the sandbox's object of that
    kind named N. One the document itself creates stays `{"name": N}` until the apply has
    made it (`fill_created`). A name that exists nowhere, or names several objects, is a
    CatalogError naming its place, before any write."""
    in_document = {
        key: {body["name"]: body.get(RENAMED_FROM) for body in bodies}
        for key, bodies in setup.items()
    }
    problems: list[str] = []
    resolved: Setup = {}
    for kind in KINDS:
        resolved[kind.key] = []
        for index, body in enumerate(setup.get(kind.key, ())):
            body = json.loads(json.dumps(body))  # a copy: plain JSON, copied at C speed
            for site in reference_sites(kind, body):
                name = name_of_reference(site.value)
                if name is None:
                    continue
                target = BY_KEY[site.target]
                ids = sandbox.ids_named(target.key, name)
                if name in in_document[target.key]:
                    old_name = in_document[target.key][name]
                    ids = ids or (sandbox.ids_named(target.key, old_name) if old_name else [])
                    if len(ids) == 1:
                        site.set(ids[0])
                    continue  # made by this apply (several: a clash the plan names)
                if len(ids) == 1:
                    site.set(ids[0])
                    continue
                where = f"{kind.key}[{index}] ({body['name']!r}).{site.where}"
                if ids:
                    problems.append(
                        f"{where}: {len(ids)} {target.noun}s are named {name!r} "
                        f"({', '.join(ids)}): a reference by name must identify one"
                    )
                else:
                    problems.append(
                        f"{where}: no {target.noun} named {name!r} in the catalog or the "
                        f"sandbox{_elsewhere(name, target, in_document, sandbox)}"
                    )
            resolved[kind.key].append(body)
    if problems:
        raise CatalogError("; ".join(problems) + "; nothing was written")
    return resolved


def _elsewhere(
    name: str, target: SetupKind, in_document: Mapping[str, Any], sandbox: Sandbox
) -> str:
    """ " (a placement has that name ...)" when the name is another kind's."""
    others = [
        kind.noun
        for kind in KINDS
        if kind is not target
        and (name in in_document[kind.key] or sandbox.ids_named(kind.key, name))
    ]
    if not others:
        return ""
    return f" (a {' and a '.join(others)} has that name: a reference of the wrong kind?)"


def fill_created(kind: SetupKind, body: JsonDict, created: Mapping[str, Mapping[str, str]]) -> None:
    """Replace, in `body`, each reference by name that `resolve` left to the apply with the id
    an earlier kind's create returned (`created`: kind key -> name -> id)."""
    for site in reference_sites(kind, body):
        name = name_of_reference(site.value)
        if name is None:
            continue
        made = created.get(site.target, {}).get(name)
        if made is None:
            raise CatalogError(
                f"{kind.key} {body.get('name')!r}.{site.where}: the {BY_KEY[site.target].noun} "
                f"{name!r} was not created; not writing what depends on it"
            )
        site.set(made)


def named(kind: SetupKind, body: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]) -> Any:
    """A copy of `body` with each id of an object whose name is known (`Sandbox.names_by_id`)
    written as `{"name": ...}`: how a person reads a plan, and how an export writes it."""
    body = copy.deepcopy(dict(body))
    for site in reference_sites(kind, body):
        value = site.value
        if isinstance(value, str) and value in names.get(site.target, {}):
            site.set({"name": names[site.target][value]})
    return body


def after_plan(setup: Setup, sandbox: Sandbox, key: str) -> list[JsonDict]:
    """The objects of kind `key` once the plan is applied: the catalog's (resolved), and the
    sandbox's the catalog does not name (they are left as they are)."""
    wanted = {b["name"] for b in setup[key]} | {
        b[RENAMED_FROM] for b in setup[key] if b.get(RENAMED_FROM)
    }
    kept = [o for o in sandbox.objects[key] if o.get("name") not in wanted]
    return [*kept, *setup[key]]


def serving_problems(resolved: Setup, sandbox: Sandbox) -> list[str]:
    """A decision whose fallback lacks a representation for one of its placements, or whose
    collection lists an offer with no representation for any of the criterion's placements
    (it could never be served): one line each, naming the place in the document."""
    offers = {
        key: _by_reference(resolved, sandbox, key)
        for key in ("fallback_offers", "personalized_offers", "collections")
    }
    problems = []
    for index, decision in enumerate(resolved.get("decisions", ())):
        where = f"decisions[{index}] ({decision['name']!r})"
        criteria = [c for c in decision.get("criteria") or () if isinstance(c, Mapping)]
        fallback = offers["fallback_offers"].get(_token(decision.get("fallback")))
        for c, criterion in enumerate(criteria):
            placements = list(criterion.get("placements") or ())
            for p, placement in enumerate(placements):
                if fallback is not None and _token(placement) not in _covered(fallback):
                    problems.append(
                        f"{where}.fallback: the fallback offer {fallback['name']!r} has no "
                        f"representation for the placement of criteria[{c}].placements[{p}] "
                        f"({_shown(placement)}); the fallback is served in every placement"
                    )
            option_selection = criterion.get("optionSelection") or {}
            chosen = offers["collections"].get(_token(option_selection.get("filter")))
            if chosen is None or chosen.get("filterType") != "offers":
                continue
            wanted = {_token(p) for p in placements}
            for offer_ref in chosen.get("ids") or ():
                offer = offers["personalized_offers"].get(_token(offer_ref))
                if offer is not None and wanted and not wanted & _covered(offer):
                    problems.append(
                        f"{where}.criteria[{c}]: collection {chosen['name']!r} lists the offer "
                        f"{offer['name']!r}, which has no representation for any of the "
                        "criterion's placements (it could never be served)"
                    )
    return problems


def _token(value: Any) -> Any:
    """An id, or ("name", N) for a reference by name: what two references compare by."""
    name = name_of_reference(value)
    return ("name", name) if name is not None else value if isinstance(value, str) else None


def _shown(value: Any) -> str:
    return json.dumps(value, default=str)


def _covered(offer: Mapping[str, Any]) -> set[Any]:
    return {
        _token(r.get("placement"))
        for r in offer.get("representations") or ()
        if isinstance(r, Mapping)
    }


def _by_reference(resolved: Setup, sandbox: Sandbox, key: str) -> dict[Any, JsonDict]:
    """The objects of `key` after the plan, by every reference that may name them: the id
    and, for the catalog's, `("name", N)`."""
    found: dict[Any, JsonDict] = {}
    wanted = {b["name"]: b for b in resolved[key]}
    for obj in sandbox.objects[key]:
        found[obj.get("id")] = wanted.get(obj.get("name"), obj)
    for name, body in wanted.items():
        found[("name", name)] = body
    return found
