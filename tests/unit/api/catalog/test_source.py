"""api/catalog/source.py and yaml_data.py: the desired catalog as the user wrote it, validated
before any request; a catalog file is data, bounded, and contained."""

from __future__ import annotations

import json
import os

import pytest
from yaml_bombs import ALIAS_BOMB

from airflow_provider_offers.api import catalog
from airflow_provider_offers.api.catalog import source, yaml_data
from airflow_provider_offers.api.catalog.plan import MARKER, RENAMED_FROM
from airflow_provider_offers.api.errors import InvalidInputError

from .catalog_helpers import offer


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
    assert "offers[2] ('C').renamed_from: the object's own name" in message
    assert "offers[3] ('D').renamed_from: 3 is not a name" in message
    assert "offers: offers[4] is renamed from 'A', which offers[0] still names" in message
    assert message.startswith("offers: 4 problem(s), nothing was sent")


def load(text: str, name: str = "c.yaml", values=None) -> list:
    return source.offers_from_text(text, name, values)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("2026-01-01", "2026-01-01"),  # safe_load: a date
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),  # safe_load: a datetime
        ("yes", "yes"),  # safe_load: True
        ("off", "off"),  # safe_load: False
        ("0123", "0123"),  # safe_load: 83 (octal)
        ("1_000", "1_000"),  # safe_load: 1000
        ("12:30", "12:30"),  # safe_load: 750 (base 60)
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("1e3", 1000.0),
    ],
)
def test_yaml_scalars_read_as_json_would(scalar, value):
    (offer,) = load(f"- name: x\n  description: {scalar}\n")
    assert offer["description"] == value


def test_block_scalars_keep_personalization_byte_for_byte():
    content = "<p>{{profile.person.name.firstName}}</p>\n{{#if a}}b{{/if}}\t end "
    text = "- name: x\n  content: |-\n" + "".join(f"    {line}\n" for line in content.split("\n"))
    assert load(text)[0]["content"] == content


def test_anchors_and_merge_keys_still_work():
    text = "- &base {name: a, status: approved}\n- <<: *base\n  name: b\n"
    assert load(text) == [
        {"name": "a", "status": "approved"},
        {"name": "b", "status": "approved"},
    ]


def test_an_alias_bomb_is_refused_before_it_is_built(monkeypatch):
    built = []
    monkeypatch.setattr(
        yaml_data._DataLoader,
        "construct_document",
        lambda self, node: built.append(node),
    )

    with pytest.raises(InvalidInputError, match="expands to more than 2,000,000 values"):
        load(ALIAS_BOMB, "bomb.yaml")
    assert built == []


def test_a_document_just_under_the_node_bound_is_read(monkeypatch):
    monkeypatch.setattr(source, "MAX_NODES", 5)
    assert load("[a, b]\n") == ["a", "b"]  # 3 nodes
    with pytest.raises(InvalidInputError, match="more than 5 values"):
        load("[a, b, c, d, e]\n")


def test_a_recursive_alias_is_refused():
    with pytest.raises(InvalidInputError, match="an alias refers to itself"):
        load("&a [*a]\n")


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("- name: [secret-looking-text\n", "c.yaml", "not valid YAML ("),
        ('[{"name": "secret-looking-text",]', "c.json", "not valid JSON ("),
    ],
)
def test_parse_errors_give_the_place_never_the_text(text, name, expected):
    with pytest.raises(InvalidInputError) as raised:
        load(text, name)
    message = str(raised.value)
    assert expected in message and "line " in message
    assert "secret-looking-text" not in message


def test_values_replace_whole_nodes_as_values():
    text = "- name: {$value: name}\n  tags: {$value: tags}\n  description: keep {$value}\n"
    values = {"name": "a\n- name: injected", "tags": ["t1", {"$value": "name"}]}
    assert load(text, values=values) == [
        {
            "name": "a\n- name: injected",
            "tags": ["t1", {"$value": "name"}],
            "description": "keep {$value}",
        }
    ]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("{$value: nope}", "/0/description asks for the value 'nope', which `values` does not"),
        ("{$value: name, other: 1}", "/0/description: a '$value' node holds only the name"),
        ("{$value: [1]}", "a '$value' node holds only the name"),
    ],
)
def test_bad_value_nodes_are_named(node, expected):
    with pytest.raises(InvalidInputError, match=expected.replace("(", r"\(").replace("$", r"\$")):
        load(f"- name: x\n  description: {node}\n", values={"name": "n"})


def test_the_documented_bounds():
    assert source.MAX_FILE_BYTES == 64 * 2**20  # docs/catalog.md, "Limits"
    assert source.MAX_NODES == 2_000_000


def test_a_file_beyond_the_size_bound_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 1024)
    at_the_bound = tmp_path / "at.json"
    at_the_bound.write_text(json.dumps([{"name": "x" * (1024 - 14)}]))
    assert at_the_bound.stat().st_size == 1024
    assert source.read_catalog(at_the_bound) == [{"name": "x" * 1010}]
    beyond = tmp_path / "beyond.json"
    beyond.write_text(json.dumps([{"name": "x" * 1011}]))
    with pytest.raises(InvalidInputError, match=r"beyond\.json: larger than 1,024 bytes, not read"):
        source.read_catalog(beyond)


def test_a_file_that_is_not_utf8_is_named_not_quoted(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("- name: caf\xe9 secret-looking\n".encode("latin-1"))
    with pytest.raises(InvalidInputError) as raised:
        source.read_catalog(latin)
    assert str(raised.value) == f"offers_file: {latin}: not UTF-8 text (byte 11)"


def test_a_value_asked_for_when_none_were_given():
    with pytest.raises(
        InvalidInputError, match=r"'placement', which `values` does not have \(none"
    ):
        load("- name: {$value: placement}\n")


def test_a_folder_is_read_in_name_order_json_and_yaml_only(tmp_path):
    (tmp_path / "b.json").write_text('[{"name": "b"}]')
    (tmp_path / "a.yml").write_text("- name: a\n")
    (tmp_path / "notes.txt").write_text("- name: never\n")
    (tmp_path / "c.yaml").mkdir()
    assert source.read_catalog(tmp_path) == [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("../victim/config.yaml", "leads outside the DAG's folder"),
        ("catalogs/../../victim.yaml", "leads outside the DAG's folder"),
        ("escape/config.yaml", "leads outside the DAG's folder"),  # a symlink out
        ("/etc/passwd", "is not relative to the DAG's folder"),
        ("file:///etc/passwd", "is not relative to the DAG's folder"),
        ("FILE:///etc/passwd", "is not relative to the DAG's folder"),
    ],
)
def test_local_paths_stay_in_the_dag_folder(tmp_path, location, expected):
    dags = tmp_path / "dags"
    dags.mkdir()
    (tmp_path / "victim").mkdir()
    os.symlink(tmp_path / "victim", dags / "escape")
    with pytest.raises(InvalidInputError, match=expected) as raised:
        source.local_source(location, dags)
    assert "allow_outside_dag_folder=True" in str(raised.value)
    assert source.local_source(location, dags, allow_outside=True).is_absolute()


def test_paths_inside_the_folder_resolve_there(tmp_path):
    dags = tmp_path / "dags"
    (dags / "catalogs").mkdir(parents=True)
    os.symlink(dags / "catalogs", dags / "link")
    resolved = (dags / "catalogs" / "a.yaml").resolve()
    assert source.local_source("catalogs/a.yaml", dags) == resolved
    assert source.local_source("link/a.yaml", dags) == resolved
    assert source.local_source("./x/../catalogs/a.yaml", dags) == resolved


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b: c\n", "mapping values are not allowed here at line 1 column 5"),
        ("- a\n  - b: [x\n", "mapping values are not allowed here at line 2 column 6"),
        ("- [x\n", "expected ',' or ']', but got '<stream end>' at line 2 column 1"),
    ],
)
def test_a_yaml_error_names_the_problem_line_and_column(text, expected):
    with pytest.raises(InvalidInputError) as raised:
        load(text)
    assert str(raised.value) == f"offers_file: c.yaml: not valid YAML ({expected})"


@pytest.mark.parametrize(
    ("text", "nodes"),
    [
        ("a\n", 1),
        ("[a, b]\n", 3),
        ("{a: 1, b: [x, y]}\n", 7),  # the mapping, two keys, 1, the list and its two items
        ("x: &l [a, b]\ny: *l\nz: *l\n", 13),  # the list counted each time it is used
    ],
)
def test_the_node_bound_counts_every_expanded_value_exactly(monkeypatch, text, nodes):
    monkeypatch.setattr(source, "MAX_NODES", nodes)
    source.parse_document(text, "c.yaml")
    monkeypatch.setattr(source, "MAX_NODES", nodes - 1)
    with pytest.raises(InvalidInputError, match=f"more than {nodes - 1:,} values"):
        source.parse_document(text, "c.yaml")
