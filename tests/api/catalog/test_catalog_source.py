"""api/catalog/source.py and yaml_data.py: a catalog file is data, bounded, and contained."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_offers.api.catalog import source, yaml_data
from airflow_provider_offers.api.errors import InvalidInputError


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
    text = (
        "a: &a ["
        + ",".join("x" * 10)
        + "]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n"
            for i in range(6)
        )
    )
    with pytest.raises(InvalidInputError, match="expands to more than 2,000,000 values"):
        load(text, "bomb.yaml")
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


def test_a_file_beyond_the_size_bound_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 1024)
    big = tmp_path / "big.json"
    big.write_text(json.dumps([{"name": "x" * 2000}]))
    with pytest.raises(InvalidInputError, match="larger than 0 MiB, not read"):
        source.read_catalog(big)
    small = tmp_path / "small.json"
    small.write_text(json.dumps([{"name": "x"}]))
    assert source.read_catalog(small) == [{"name": "x"}]


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
