"""api/catalog/source.py: the desired catalog as the user wrote it, validated before any request."""

from __future__ import annotations

import json

import pytest
from catalog_helpers import offer

from airflow_provider_offers.api import catalog
from airflow_provider_offers.api.catalog.plan import MARKER, RENAMED_FROM
from airflow_provider_offers.api.errors import InvalidInputError


def test_every_problem_of_a_catalog_is_named_at_once():
    offers = [offer("A"), offer("B", stauts="x"), offer("A"), {"status": "approved"}]
    with pytest.raises(InvalidInputError) as raised:
        catalog.parse_catalog(offers, "fallback", "c")
    message = str(raised.value)
    assert "offers[1] ('B'): unknown field(s) 'stauts'" in message
    assert "offers[3].name: Field required" in message
    assert "the name 'A' is used 2 times (offers[0], offers[2])" in message
    assert message.startswith("offers: 3 problem(s), nothing was sent")


@pytest.mark.parametrize("value", ["A", {"name": "A"}, None, 3])
def test_offers_must_be_a_list(value):
    with pytest.raises(InvalidInputError, match="expected a list of offers"):
        catalog.parse_catalog(value, "fallback", "c")


@pytest.mark.parametrize(
    ("source", "text", "names"),
    [
        ("a.yaml", "- name: A\n- name: B\n", ["A", "B"]),
        ("a.yml", "offers:\n  - name: A\n", ["A"]),
        ("a.json", json.dumps({"name": "A"}), ["A"]),
        ("a.yaml", "", []),
    ],
)
def test_catalog_files_hold_a_list_a_mapping_of_offers_or_one_offer(source, text, names):
    assert [o["name"] for o in catalog.offers_from_text(text, source)] == names


@pytest.mark.parametrize(
    ("source", "text", "problem"),
    [
        ("a.json", "{", "a.json: not valid JSON"),
        ("a.yaml", "a: [", "a.yaml: not valid YAML"),
        ("a.yaml", "just text", "a.yaml: expected a list of offers, got str"),
    ],
)
def test_unreadable_catalog_files_are_named(source, text, problem):
    with pytest.raises(InvalidInputError, match=problem):
        catalog.offers_from_text(text, source)


@pytest.mark.parametrize("value", ["c", "other", ""])
def test_an_offer_carrying_the_marker_is_refused_whatever_its_value(value):
    """The marker is the sync's to set: given with this catalog's own name it would make a
    namesake made by hand look like the catalog's (and the next prune delete it)."""
    given = offer("A", characteristics={MARKER: value, "season": "spring"})
    with pytest.raises(InvalidInputError) as raised:
        catalog.parse_catalog([given], "fallback", "c")
    assert (
        f"offers[0] ('A').characteristics.{MARKER}: the sync sets this marker on the offers it "
        "creates (catalog 'c'); remove it from the catalog"
    ) in str(raised.value)


def test_renamed_from_is_kept_for_the_plan_and_checked():
    (body,) = catalog.parse_catalog([offer("New", renamed_from="Old")], "fallback", "c")
    assert body[RENAMED_FROM] == "Old" and body["name"] == "New"

    offers = [
        offer("A", renamed_from="Old"),
        offer("B", renamed_from="Old"),
        offer("C", renamed_from="C"),
        offer("D", renamed_from=3),
        offer("E", renamed_from="A"),
    ]
    with pytest.raises(InvalidInputError) as raised:
        catalog.parse_catalog(offers, "fallback", "c")
    message = str(raised.value)
    assert "offers: 2 offers are renamed from 'Old' (offers[0], offers[1])" in message
    assert "offers[2] ('C').renamed_from: the offer's own name" in message
    assert "offers[3] ('D').renamed_from: 3 is not an offer name" in message
    assert "offers: offers[4] is renamed from 'A', which offers[0] still names" in message
    assert message.startswith("offers: 4 problem(s), nothing was sent")
