"""The desired catalog: the offers a team wants, read from what it gave, validated.

No Airflow here: the operator hands over either the inline value or the files it found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_offers.api.catalog.plan import MARKER, RENAMED_FROM, JsonDict
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.models import parse_input
from airflow_provider_offers.api.resources import offer_resource


def _label(index: int, value: Any) -> str:
    name = value.get("name") if isinstance(value, Mapping) else None
    return f"offers[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")


def parse_catalog(offers: Any, offer_type: str, catalog: str) -> list[JsonDict]:
    """The offers as the JSON bodies we send, validated; every problem named before any request.

    Each offer is checked by the write models (`models.parse_input`); names must be unique.
    The marker is the sync's to set (on what it creates), so an offer carrying it is refused
    whatever its value: given by the user it would take over a namesake made by hand.
    `renamed_from` (the offer's old name, a rename in place) is kept on the body for the plan,
    which never sends it; one old name is renamed once, and not to a name the catalog keeps.
    """
    if not isinstance(offers, Sequence) or isinstance(offers, (str, bytes)):
        raise InvalidInputError("offers", f"expected a list of offers, got {type(offers)!r}")
    model = offer_resource(offer_type).model
    bodies: list[JsonDict] = []
    problems: list[str] = []
    renamed: dict[str, list[int]] = {}
    for index, value in enumerate(offers):
        label = _label(index, value)
        old_name = value.get(RENAMED_FROM) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping) and RENAMED_FROM in value:
            value = {k: v for k, v in value.items() if k != RENAMED_FROM}
            if not isinstance(old_name, str) or not old_name.strip():
                problems.append(f"{label}.{RENAMED_FROM}: {old_name!r} is not an offer name")
                old_name = None
            elif old_name == value.get("name"):
                problems.append(f"{label}.{RENAMED_FROM}: the offer's own name")
                old_name = None
            else:
                renamed.setdefault(old_name, []).append(index)
        try:
            body = parse_input(model, value, label).to_body()
        except InvalidInputError as error:
            problems.append(str(error))
            continue
        if MARKER in (body.get("characteristics") or {}):
            problems.append(
                f"{label}.characteristics.{MARKER}: the sync sets this marker on the offers it "
                f"creates (catalog {catalog!r}); remove it from the catalog"
            )
        if old_name is not None:
            body[RENAMED_FROM] = old_name
        bodies.append(body)
    positions: dict[str, list[int]] = {}
    for index, value in enumerate(offers):
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            positions.setdefault(value["name"], []).append(index)
    for name, where in positions.items():
        if len(where) > 1:
            places = ", ".join(f"offers[{i}]" for i in where)
            problems.append(f"offers: the name {name!r} is used {len(where)} times ({places})")
    for old_name, where in renamed.items():
        places = ", ".join(f"offers[{i}]" for i in where)
        if len(where) > 1:
            problems.append(f"offers: {len(where)} offers are renamed from {old_name!r} ({places})")
        if old_name in positions:
            problems.append(
                f"offers: {places} is renamed from {old_name!r}, which "
                f"offers[{positions[old_name][0]}] still names"
            )
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
