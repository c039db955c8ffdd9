"""The rules a body must follow to be stored, kind by kind (kinds.py says what the kinds are).

Like kinds.py, this restates Adobe's documentation rather than importing our client's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from ..config import EmulatorConfig
from ..exceptions import problem
from . import guardrails
from .kinds import KINDS, SERVER_FIELDS, Kind, reference_sites

PROFILE_CONSTRAINT_TYPES = ("none", "eligibilityRule", "anySegments", "allSegments")
ORDER_EVALUATION_TYPES = ("static", "ranking-strategy", "scoring-function")
FILTER_TYPES = ("any-tags", "offers")
RETURN_METADATA_KEYS = (
    "decisionName",
    "offerName",
    "offerAttributes",
    "offerPriority",
    "placementName",
    "channelType",
    "contentType",
)


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 timestamp with an offset (`Z` or `+00:00`), else None."""
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


#: Looks an id up in the same sandbox: (kind name, id) -> stored entity or None.
Resolver = Callable[[str, str], "Mapping[str, Any] | None"]


class Validator:
    """Checks one body against Adobe's documented shape; the first problem is raised as 400."""

    def __init__(self, config: EmulatorConfig, resolve: Resolver, status: int = 400) -> None:
        self.config = config
        self.resolve = resolve
        self.status = status
        #: (object, key) of every date member checked, for storing them in one form.
        self.dates: list[tuple[dict, str]] = []

    # -- small checks -------------------------------------------------------------------
    def fail(self, where: str, message: str) -> NoReturn:
        raise problem(self.status, f"{where}: {message}", code=1001)

    def obj(self, value: Any, where: str, allowed: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "must be a JSON object")
        if allowed is not None and self.config.reject_unknown_fields:
            for key in value:
                if key not in allowed:
                    self.fail(f"{where}.{key}" if where != "body" else key, "unknown field")
        return value

    def string(self, parent: dict, key: str, where: str, *, required: bool = False) -> Any:
        value = parent.get(key)
        path = f"{where}.{key}" if where != "body" else key
        if value is None:
            if key in parent:
                self.fail(path, "must not be null")
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string")
        return value

    def choice(self, parent: dict, key: str, where: str, options, *, required=False) -> Any:
        value = self.string(parent, key, where, required=required)
        if value is not None and value not in options:
            path = f"{where}.{key}" if where != "body" else key
            self.fail(path, f"must be one of {', '.join(options)}, not {value!r}")
        return value

    def integer(self, parent: dict, key: str, where: str, *, minimum: int | None = None):
        value = parent.get(key)
        path = f"{where}.{key}" if where != "body" else key
        if key not in parent:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
        if minimum is not None and value < minimum:
            self.fail(path, f"must be >= {minimum}")
        return value

    def boolean(self, parent: dict, key: str, where: str) -> None:
        if key in parent and not isinstance(parent[key], bool):
            self.fail(f"{where}.{key}" if where != "body" else key, "must be true or false")

    def date(self, parent: dict, key: str, where: str) -> datetime | None:
        if key not in parent:
            return None
        parsed = parse_datetime(parent[key])
        if parsed is None:
            path = f"{where}.{key}" if where != "body" else key
            self.fail(path, "must be an ISO-8601 date-time with an offset")
        self.dates.append((parent, key))
        return parsed

    def window(self, parent: dict, where: str) -> None:
        start = self.date(parent, "startDate", where)
        end = self.date(parent, "endDate", where)
        if start and end and end < start:
            path = f"{where}.endDate" if where != "body" else "endDate"
            self.fail(path, "must not be before startDate")

    def string_list(self, parent: dict, key: str, where: str, *, required=False, nonempty=False):
        path = f"{where}.{key}" if where != "body" else key
        if key not in parent:
            if required:
                self.fail(path, "is required")
            return []
        value = parent[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(path, "must be a list of non-empty strings")
        if nonempty and not value:
            self.fail(path, "must not be empty")
        return value

    def reference(self, kind: str, ident: str, where: str) -> Mapping[str, Any]:
        found = self.resolve(kind, ident)
        if found is None:
            self.fail(where, f"no {KINDS[kind].label} with id {ident!r} in this sandbox")
        return found

    # -- entities -----------------------------------------------------------------------
    def validate(self, kind: Kind, body: Any) -> None:
        body = self.obj(body, "body")
        if self.config.reject_unknown_fields:
            for key in body:
                if key in SERVER_FIELDS:
                    self.fail(key, "is set by the server and cannot be sent")
                if key not in kind.fields:
                    self.fail(key, f"unknown field for a {kind.label}")
        self.string(body, "name", "body", required=True)
        if "description" in body and not isinstance(body["description"], str):
            self.fail("description", "must be a string")
        getattr(self, "_" + kind.name.replace("-", "_"))(body)
        guardrails.check_object(self.config, kind.name, body, self.fail)
        for where, target, ident in reference_sites(kind.name, body):
            self.reference(target, ident, where)
        if kind.name == "offer-decision" and self.config.ui_rule_fallback_covers_placements:
            self._fallback_covers_placements(body)

    def _offer(self, body: dict) -> None:
        self.choice(body, "status", "body", self.config.offer_statuses)
        reps = body.get("representations")
        if not isinstance(reps, list) or not reps:
            self.fail("representations", "at least one representation is required")
        seen: dict[str, int] = {}
        for i, rep in enumerate(reps):
            where = f"representations[{i}]"
            self.obj(rep, where, ("channel", "placement", "components"))
            self.string(rep, "channel", where, required=True)
            placement = self.string(rep, "placement", where, required=True)
            if placement in seen:
                self.fail(
                    f"{where}.placement",
                    f"placement {placement!r} already used by representations[{seen[placement]}]",
                )
            seen[placement] = i
            components = rep.get("components")
            if not isinstance(components, list) or not components:
                self.fail(f"{where}.components", "at least one component is required")
            for j, comp in enumerate(components):
                self._component(comp, f"{where}.components[{j}]")
        if "selectionConstraint" in body:
            self._profile_constraint(
                body["selectionConstraint"],
                "selectionConstraint",
                extra=("startDate", "endDate"),
            )
            self.window(body["selectionConstraint"], "selectionConstraint")
        if "rank" in body:
            rank = self.obj(body["rank"], "rank", ("priority",))
            self.integer(rank, "priority", "rank", minimum=0)
        self.string_list(body, "tags", "body")
        if "characteristics" in body:
            chars = self.obj(body["characteristics"], "characteristics")
            for key, value in chars.items():
                if not isinstance(value, str):
                    self.fail(f"characteristics.{key}", "values must be strings")
        self.string_list(body, "labels", "body")

    def _component(self, comp: Any, where: str) -> None:
        keys = ("type", "format", "language", "content", "deliveryURL", "linkURL")
        self.obj(comp, where, keys)
        self.choice(comp, "type", where, self.config.component_types, required=True)
        self.string(comp, "format", where, required=True)
        self.string_list(comp, "language", where)
        for key in ("content", "deliveryURL", "linkURL"):
            if key in comp and not isinstance(comp[key], str):
                self.fail(f"{where}.{key}", "must be a string")
        if "content" not in comp and "deliveryURL" not in comp:
            self.fail(where, "needs 'content' or 'deliveryURL'")

    def _profile_constraint(self, value: Any, where: str, extra: tuple[str, ...] = ()) -> None:
        keys = ("profileConstraintType", "eligibilityRule", "segmentIdentities", *extra)
        constraint = self.obj(value, where, keys)
        ctype = self.choice(constraint, "profileConstraintType", where, PROFILE_CONSTRAINT_TYPES)
        if ctype == "eligibilityRule":
            self.string(constraint, "eligibilityRule", where, required=True)
        elif "eligibilityRule" in constraint:
            self.fail(f"{where}.eligibilityRule", "only with profileConstraintType eligibilityRule")
        if ctype in ("anySegments", "allSegments"):
            segments = constraint.get("segmentIdentities")
            if not isinstance(segments, list) or not segments:
                self.fail(f"{where}.segmentIdentities", f"is required with {ctype}")
            for i, seg in enumerate(segments):
                seg = self.obj(seg, f"{where}.segmentIdentities[{i}]", ("_id", "namespace"))
                self.string(seg, "_id", f"{where}.segmentIdentities[{i}]", required=True)

    def _fallback_offer(self, body: dict) -> None:
        self._offer(body)

    def _personalized_offer(self, body: dict) -> None:
        self._offer(body)
        if "cappingConstraint" in body:
            cap = self.obj(body["cappingConstraint"], "cappingConstraint", ("globalCap",))
            self.integer(cap, "globalCap", "cappingConstraint", minimum=0)
        caps = body.get("frequencyCappingConstraints", [])
        if not isinstance(caps, list):
            self.fail("frequencyCappingConstraints", "must be a list")
        for i, cap in enumerate(caps):
            where = f"frequencyCappingConstraints[{i}]"
            keys = ("enabled", "limit", "startDate", "endDate", "scope", "entity", "repeat")
            self.obj(cap, where, keys)
            self.boolean(cap, "enabled", where)
            self.integer(cap, "limit", where, minimum=1)
            self.window(cap, where)
            self.string(cap, "scope", where)
            self.string(cap, "entity", where)
            if "repeat" in cap:
                rep = self.obj(cap["repeat"], f"{where}.repeat", ("enabled", "unit", "unitCount"))
                self.boolean(rep, "enabled", f"{where}.repeat")
                self.string(rep, "unit", f"{where}.repeat")
                self.integer(rep, "unitCount", f"{where}.repeat", minimum=1)

    def _placement(self, body: dict) -> None:
        self.choice(body, "componentType", "body", self.config.component_types, required=True)
        self.string(body, "channel", "body", required=True)
        self.integer(body, "itemCount", "body", minimum=1)
        self.boolean(body, "allowDuplicatePlacements", "body")
        self.boolean(body, "returnContent", "body")
        if "returnMetaData" in body:
            meta = self.obj(body["returnMetaData"], "returnMetaData", RETURN_METADATA_KEYS)
            for key in meta:
                self.boolean(meta, key, "returnMetaData")

    def _tag(self, body: dict) -> None:
        pass

    def _offer_rule(self, body: dict) -> None:
        self.boolean(body, "exdRule", "body")
        self._pql(body, "condition")
        self._defined_on(body)

    def _ranking_formula(self, body: dict) -> None:
        for key in ("exdFunction", "isPure"):
            self.boolean(body, key, "body")
        self._pql(body, "expression")
        if "returnType" in body:
            self.string(self.obj(body["returnType"], "returnType", ("type",)), "type", "returnType")
        self._defined_on(body)

    def _pql(self, body: dict, key: str) -> None:
        """A required `{type: PQL, format: pql/text, value}` member (rule condition, formula)."""
        if key not in body:
            self.fail(key, "is required")
        cond = self.obj(body[key], key, ("type", "format", "value"))
        self.choice(cond, "type", key, ("PQL",), required=True)
        self.choice(cond, "format", key, ("pql/text",), required=True)
        self.string(cond, "value", key, required=True)

    def _defined_on(self, body: dict) -> None:
        if "definedOn" in body:
            for name, var in self.obj(body["definedOn"], "definedOn").items():
                where = f"definedOn.{name}"
                var = self.obj(var, where, ("schema", "referencePaths"))
                schema = self.obj(var.get("schema"), f"{where}.schema", ("ref", "altId", "version"))
                if "ref" not in schema and "altId" not in schema:
                    self.fail(f"{where}.schema", "needs 'ref' or 'altId'")
                self.string_list(var, "referencePaths", where)

    def _offer_collection(self, body: dict) -> None:
        self.choice(body, "filterType", "body", FILTER_TYPES, required=True)
        self.string_list(body, "ids", "body", required=True, nonempty=True)
        self.string_list(body, "labels", "body")

    def _offer_decision(self, body: dict) -> None:
        self.choice(body, "status", "body", self.config.decision_statuses)
        self.window(body, "body")
        self.string(body, "fallback", "body", required=True)
        criteria = body.get("criteria")
        if not isinstance(criteria, list) or not criteria:
            self.fail("criteria", "at least one criterion is required")
        for i, crit in enumerate(criteria):
            where = f"criteria[{i}]"
            keys: tuple[str, ...] = ("placements", "rank", "profileConstraint", "optionSelection")
            self.obj(crit, where, keys)
            self.string_list(crit, "placements", where, nonempty=True)
            if "placements" not in crit:
                self.fail(f"{where}.placements", "is required")
            if "rank" in crit:
                rank = self.obj(crit["rank"], f"{where}.rank", ("priority", "order"))
                self.integer(rank, "priority", f"{where}.rank", minimum=0)
                if "order" in rank:
                    owhere = f"{where}.rank.order"
                    keys = ("orderEvaluationType", "rankingStrategy", "function")
                    order = self.obj(rank["order"], owhere, keys)
                    self.choice(
                        order, "orderEvaluationType", owhere, ORDER_EVALUATION_TYPES, required=True
                    )
                    self.string(order, "rankingStrategy", owhere)
                    self.string(order, "function", owhere)
            if "profileConstraint" in crit:
                self._profile_constraint(crit["profileConstraint"], f"{where}.profileConstraint")
            selection = crit.get("optionSelection")
            if selection is None:
                self.fail(f"{where}.optionSelection", "is required")
            selection = self.obj(selection, f"{where}.optionSelection", ("filter",))
            self.string(selection, "filter", f"{where}.optionSelection", required=True)

    def _fallback_covers_placements(self, body: dict) -> None:
        fallback = self.resolve("fallback-offer", body["fallback"]) or {}
        covered = {rep.get("placement") for rep in fallback.get("representations", [])}
        for crit in body["criteria"]:
            for pid in crit["placements"]:
                if pid not in covered:
                    self.fail(
                        "fallback",
                        f"fallback offer {body['fallback']!r} has no representation for "
                        f"placement {pid!r} (the UI rule ui_rule_fallback_covers_placements)",
                    )
