"""pydantic v2 models of the Offer Library's documented bodies (offer-library-api.md 3-11).

Attribute names are Adobe's own JSON names (`deliveryURL`, `selectionConstraint`, `createdDate`),
so a model reads like the documentation. Read models accept fields Adobe may add later; input
(what we send) is validated strictly by `parse_input`, which also rejects unknown field names,
so a typo such as `deliveryUrl` fails before any request instead of being silently dropped.
The Decisioning API's answer is modelled in `api/decisioning.py`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from airflow_provider_offers.api import guardrails
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import format_instant

log = logging.getLogger("airflow_provider_offers.api")

__all__ = [
    "Component",
    "FallbackOffer",
    "OfferCollection",
    "OfferDecision",
    "OfferRule",
    "PersonalizedOffer",
    "Placement",
    "RankingFormula",
    "Representation",
    "Tag",
    "parse_input",
]


def writing(info: ValidationInfo) -> bool:
    """True while validating what a caller gives us (`parse_input`), False for server answers."""
    return bool(info.context and info.context.get("input"))


#: Validation context of a server answer just parsed from the response: nothing else holds
#: that JSON, so a model may keep it as it is instead of a deep copy at every nesting level.
FRESH_ANSWER = {"fresh": True}


def _fresh(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("fresh"))


def on_write(check: Callable[[Any], Any], problem: str | Callable[[Any], str]) -> AfterValidator:
    """A field rule for what we send only: a value read from the server is never refused.

    `problem` is the message, or makes it from the refused value."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if writing(info) and value is not None and not check(value):
            raise ValueError(problem(value) if callable(problem) else problem)
        return value

    return AfterValidator(validate)


def _is_url(value: str, web: bool) -> bool:
    parts = urlsplit(value)
    if web and (parts.scheme.lower() not in ("http", "https") or not parts.hostname):
        return False
    return bool(parts.scheme) and value.split() == [value]


def url_on_write(*, web: bool) -> AfterValidator:
    """A URL we send, with no blanks: an http(s) URL with a host (`web`), else any absolute
    URL (a click-through may be an app's deep link, `myapp://promo`)."""
    kind = "an http(s) URL with a host" if web else "an absolute URL (with a scheme)"
    return on_write(
        lambda value: _is_url(value, web),
        lambda value: (
            f"{value!r} is not {kind} without blanks, e.g. 'https://cdn.example.com/banner.png'"
        ),
    )


def _with_offset(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        if writing(info):
            raise ValueError("Input should have timezone info ('Z' or an offset like '+02:00')")
        return value.replace(tzinfo=timezone.utc)  # read: Adobe means UTC
    return value


# Adobe writes "2022-06-10T00:30:00.000+00:00". What we send must carry an offset; what we read
# without one is taken as UTC.
AdobeDateTime = Annotated[
    datetime, AfterValidator(_with_offset), PlainSerializer(format_instant, when_used="json")
]
# Adobe's etags are integers, shown as strings on some pages: an opaque token either way.
Etag = int | str


class AdobeModel(BaseModel):
    """Base: Adobe's names; unknown fields kept on read and refused on input (`parse_input`).

    Strict on write, lenient on read: the write rules (`_write_rules`) run only on input, and
    a model read from the server keeps the JSON it was read from (`raw_json()`), so `test`
    guards can carry values exactly as the server sent them.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _strict_input: ClassVar[bool] = True  # False where Adobe documents the object only loosely
    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _read_or_write(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        strict = writing(info) and cls._strict_input
        if strict and isinstance(data, Mapping):
            known = _input_names(cls)
            unknown = [key for key in data if key not in known]
            if unknown:
                raise ValueError(_unknown_fields(unknown, known - SERVER_FIELDS))
        model = handler(data)
        if writing(info):
            model._write_rules()
        elif isinstance(data, Mapping) and isinstance(model, AdobeModel):
            # raw_json() copies on the way out, so a fresh answer needs no copy on the way in.
            model._raw = dict(data) if _fresh(info) else copy.deepcopy(dict(data))
        return model

    def _write_rules(self) -> None:
        """Rules for what we send (Adobe's write rules); never applied to what we read."""

    def raw_json(self) -> dict[str, Any]:
        """The JSON the server sent for this object, untouched; else this model as JSON."""
        if self._raw is not None:
            return copy.deepcopy(self._raw)
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _unknown_fields(unknown: list[Any], sendable: frozenset[str]) -> str:
    """Each unknown name with the closest one a caller may send, then those (not the ones
    the server assigns: `id`, `etag`, `createdBy`, ...)."""
    named = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), sendable, n=1)
        named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return f"unknown field(s) {', '.join(named)}; expected some of {sorted(sendable)}"


@functools.cache
def _input_names(model: type[BaseModel]) -> frozenset[str]:
    """The member names a caller may give `model`: its fields and their aliases."""
    fields = model.model_fields
    return frozenset(fields) | {f.alias for f in fields.values() if f.alias}


def _require(condition: Any, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


class Component(AdobeModel):
    """One content part of a representation (image link, HTML, text, JSON)."""

    type: str | None = None
    format: str | None = None
    language: list[str] | None = None
    content: str | None = None
    deliveryURL: Annotated[str | None, url_on_write(web=True)] = None
    linkURL: Annotated[str | None, url_on_write(web=False)] = None

    def _write_rules(self) -> None:
        _require(
            self.content is not None or self.deliveryURL is not None,
            "a component needs `content` or `deliveryURL`",
        )


class Representation(AdobeModel):
    """How an offer looks in one placement."""

    channel: str | None = None
    placement: str | None = None
    components: list[Component] = Field(default_factory=list)
    labels: list[str] | None = None

    def _write_rules(self) -> None:
        _require(self.channel, "a representation needs a `channel`")
        _require(self.placement, "a representation needs a `placement` id")
        _require(self.components, "a representation needs at least one component")


class SelectionConstraint(AdobeModel):
    """Validity window and eligibility (only loosely documented: other keys pass through)."""

    _strict_input = False
    startDate: AdobeDateTime | None = None
    endDate: AdobeDateTime | None = None
    profileConstraintType: str | None = None
    eligibilityRule: str | None = None
    segmentIdentities: list[dict[str, Any]] | None = None

    def _write_rules(self) -> None:
        if self.startDate and self.endDate:
            _require(self.endDate > self.startDate, "endDate must be after startDate")


class Rank(AdobeModel):
    _strict_input = False
    priority: Annotated[
        int | None, on_write(lambda v: v >= 0, "Input should be greater than or equal to 0")
    ] = None


# What the server assigns; never sent back on create.
SERVER_FIELDS = frozenset(
    {"id", "etag", "created", "modified", "schemas", "createdBy", "lastModifiedBy"}
    | {"sandboxId", "createdByClientId", "lastModifiedByClientId"}
)
#: `exdRule` / `exdFunction`: true marks Experience Decisioning's rules and formulas, which
#: share `/offer-rules` and `/ranking-formulas`; look-ups by name leave them out.
ExperienceDecisioningFlag = Annotated[
    bool | None,
    on_write(
        lambda v: v is not True,
        "true marks an Experience Decisioning object; this package manages Decision "
        "Management's only (its look-ups by name leave Experience Decisioning's out)",
    ),
]


class _Entity(AdobeModel):
    """Fields every Offer Library object has: a name, and what the server stamps on it."""

    #: The noun under which `api.guardrails` counts this kind's members (None: no limits).
    _guarded_as: ClassVar[str | None] = None

    name: Annotated[str, on_write(str.strip, "String should have at least 1 character")]
    description: str | None = None
    id: str | None = None
    etag: Etag | None = None
    created: AdobeDateTime | None = None
    modified: AdobeDateTime | None = None
    schemas: list[str] | None = None
    createdBy: str | None = None
    lastModifiedBy: str | None = None
    sandboxId: str | None = None
    createdByClientId: str | None = None
    lastModifiedByClientId: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body for a create call: Adobe's spelling, no server-assigned fields."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude=set(SERVER_FIELDS)
        )


OFFER_STATUSES = ("draft", "approved", "archived")


class _Offer(_Entity):
    _guarded_as = "offer"
    status: Annotated[
        str | None,
        on_write(OFFER_STATUSES.__contains__, "Input should be 'draft', 'approved' or 'archived'"),
    ] = None
    representations: Annotated[
        list[Representation] | None, on_write(bool, "at least one representation is required")
    ] = None
    selectionConstraint: SelectionConstraint | None = None
    rank: Rank | None = None
    tags: list[str] | None = None
    characteristics: dict[str, str] | None = None
    labels: list[str] | None = None
    cappingConstraint: dict[str, Any] | None = None
    frequencyCappingConstraints: list[dict[str, Any]] | None = None

    def _write_rules(self) -> None:
        placements = [r.placement for r in self.representations or ()]
        repeated = sorted({p for p in placements if p and placements.count(p) > 1})
        _require(not repeated, f"two representations use the same placement: {repeated}")


class FallbackOffer(_Offer):
    """Served when no personalized offer qualifies (`/offers?offer-type=fallback`)."""


class PersonalizedOffer(_Offer):
    """An offer with eligibility and capping (`/offers?offer-type=personalized`)."""


class Placement(_Entity):
    """A slot (channel + content type) offers are shown in (`/placements`)."""

    componentType: str | None = None
    channel: str | None = None
    itemCount: Annotated[
        int | None, on_write(lambda v: v >= 1, "Input should be greater than or equal to 1")
    ] = None
    allowDuplicatePlacements: bool | None = None
    returnContent: bool | None = None
    returnMetaData: dict[str, bool] | None = None
    contentTypes: list[str] | None = None


class Tag(_Entity):
    """A collection qualifier (`/tags`)."""


class RuleCondition(AdobeModel):
    _strict_input = False
    type: str | None = None
    format: str | None = None
    value: str | None = None


class OfferRule(_Entity):
    """A decision (eligibility) rule in PQL (`/offer-rules`)."""

    _guarded_as = "offer rule"

    condition: RuleCondition | None = None
    definedOn: dict[str, Any] | None = None
    exdRule: ExperienceDecisioningFlag = None


class RankingFormula(_Entity):
    """A ranking formula in PQL (`/ranking-formulas`), updated with `PUT` of the whole object."""

    isPure: bool | None = None
    returnType: dict[str, Any] | None = None
    expression: RuleCondition | None = None
    definedOn: dict[str, Any] | None = None
    exdFunction: ExperienceDecisioningFlag = None


class OfferCollection(_Entity):
    """Offers picked by tag or listed by id (`/offer-collections`)."""

    _guarded_as = "collection"

    filterType: str | None = None
    ids: list[str] | None = None
    labels: list[str] | None = None


class DecisionCriterion(AdobeModel):
    _strict_input = False
    placements: list[str] | None = None
    rank: dict[str, Any] | None = None
    profileConstraint: dict[str, Any] | None = None
    optionSelection: dict[str, Any] | None = None

    def _write_rules(self) -> None:
        _require(
            self.optionSelection,
            "a criterion needs optionSelection, the offers it picks from "
            "(e.g. {'filter': <an offer collection's id>})",
        )


class OfferDecision(_Entity):
    """A decision (formerly "activity"): criteria per placement plus a fallback offer."""

    _guarded_as = "decision"

    status: str | None = None
    startDate: AdobeDateTime | None = None
    endDate: AdobeDateTime | None = None
    fallback: str | None = None
    criteria: list[DecisionCriterion] | None = None


# -- validating what callers give us ----------------------------------------------------------

ModelT = TypeVar("ModelT", bound=BaseModel)


def _location(prefix: str, loc: Iterable[int | str]) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _invalid(prefix: str, error: ValidationError) -> InvalidInputError:
    problems = [
        (_location(prefix, e["loc"]), e["msg"].removeprefix("Value error, "))
        for e in error.errors()
    ]
    (field, first), rest = problems[0], problems[1:]
    if rest:
        first += " (also: " + "; ".join(f"{where}: {msg}" for where, msg in rest) + ")"
    return InvalidInputError(field, first)


def _declared(value: Any) -> Any:
    """A model read from the server, as input: its declared members only. The members we do
    not know are the server's own (`_experience`, `repo:...`), not ours to send back."""
    if isinstance(value, BaseModel):
        return {
            field.alias or name: _declared(getattr(value, name))
            for name, field in type(value).model_fields.items()
            if getattr(value, name) is not None
        }
    if isinstance(value, list):
        return [_declared(item) for item in value]
    return value


def parse_input(model: type[ModelT], data: Any, what: str) -> ModelT:
    """Validate a dict or model given by a caller, then Adobe's per-object guardrails
    (`api.guardrails`); InvalidInputError names the bad field.

    A model read from the server may be given back (to copy an offer, say): its unknown
    members are dropped. Anywhere else an unknown member is refused, as a likely typo.
    """
    if isinstance(data, AdobeModel) and data._raw is not None:
        data = _declared(data)
    elif isinstance(data, BaseModel):
        data = data.model_dump(by_alias=True, exclude_none=True)
    if not isinstance(data, Mapping):
        raise InvalidInputError(what, f"expected a dict or {model.__name__}, got {type(data)!r}")
    try:
        parsed = model.model_validate(data, context={"input": True})
    except ValidationError as error:
        raise _invalid(what, error) from None
    noun = getattr(parsed, "_guarded_as", None)
    if noun is not None:
        body = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
        guardrails.check_body(noun, body, what)
    return parsed
