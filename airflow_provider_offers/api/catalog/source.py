"""The desired catalog: the offers a team wants, read from what it gave, validated.

No Airflow here: the operator hands over either the inline value or the files it found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_offers.api.catalog.plan import MARKER, JsonDict
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.models import parse_input
from airflow_provider_offers.api.resources import offer_resource


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
