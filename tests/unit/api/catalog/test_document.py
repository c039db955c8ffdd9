"""api/catalog/document.py and export.py: a whole-setup document parsed, its references by
name resolved against a sandbox listing, written back by name; no I/O."""

from __future__ import annotations

import pytest

from airflow_provider_offers.api.catalog import document, export, yaml_data
from airflow_provider_offers.api.catalog.kinds import BY_KEY
from airflow_provider_offers.api.catalog.plan import MARKER, CatalogError
from airflow_provider_offers.api.errors import InvalidInputError

WEB = "https://ns.adobe.com/xdm/channel-types/web"


def offer(name: str, placement, **fields) -> dict:
    component = {"type": "html", "format": "text/html", "content": "<p>{{profile.x}}</p>"}
    return {
        "name": name,
        "status": "approved",
        "representations": [{"channel": WEB, "placement": placement, "components": [component]}],
        **fields,
    }


def sandbox(**objects) -> document.Sandbox:
    return document.Sandbox.of(objects)


def test_references_by_name_survive_the_write_models_and_a_plain_id_stays_an_id():
    setup = document.parse_setup(
        {
            "placements": [{"name": "Web", "componentType": "html", "channel": WEB}],
            "fallback_offers": [offer("A", {"name": "Web"}), offer("B", "dps:offer-placement:1")],
        },
        "c",
    )
    placements = [b["representations"][0]["placement"] for b in setup["fallback_offers"]]
    assert placements == [{"name": "Web"}, "dps:offer-placement:1"]
    assert setup["tags"] == [] and setup["decisions"] == []


def test_every_problem_of_a_document_is_named_by_its_place():
    with pytest.raises(InvalidInputError) as raised:
        document.parse_setup(
            {
                "offers": [],
                "tags": {"name": "not a list"},
                "fallback_offers": [offer("A", {"name": "Web", "id": "x"}), offer("A", "p")],
            },
            "c",
        )
    message = str(raised.value)
    assert "'offers' is not a kind of object" in message
    assert "tags: expected a list of tags, got dict" in message
    assert 'fallback_offers[0].representations[0].placement: expected an id or {"name": ...}' in (
        message
    )
    assert "fallback_offers: the name 'A' is used 2 times" in message


def test_a_name_resolves_to_the_sandbox_object_or_waits_for_the_one_the_document_creates():
    setup = {key: [] for key in BY_KEY}
    setup["fallback_offers"] = [offer("A", {"name": "Old"}), offer("B", {"name": "New"})]
    setup["placements"] = [{"name": "New"}]
    listed = sandbox(placements=[{"id": "p-old", "name": "Old"}])
    resolved = document.resolve(setup, listed)
    assert [b["representations"][0]["placement"] for b in resolved["fallback_offers"]] == [
        "p-old",
        {"name": "New"},
    ]
    body = resolved["fallback_offers"][1]
    document.fill_created(BY_KEY["fallback_offers"], body, {"placements": {"New": "p-new"}})
    assert body["representations"][0]["placement"] == "p-new"
    with pytest.raises(CatalogError, match="the placement 'New' was not created"):
        pending = document.resolve(setup, listed)["fallback_offers"][1]
        document.fill_created(BY_KEY["fallback_offers"], pending, {})


def test_a_name_that_exists_nowhere_twice_or_in_another_kind_is_refused():
    setup = {key: [] for key in BY_KEY}
    setup["collections"] = [
        {"name": "C", "filterType": "any-tags", "ids": [{"name": "T"}, {"name": "Twice"}]}
    ]
    listed = sandbox(
        tags=[{"id": "t1", "name": "Twice"}, {"id": "t2", "name": "Twice"}],
        placements=[{"id": "p", "name": "T"}],
    )
    with pytest.raises(CatalogError) as raised:
        document.resolve(setup, listed)
    assert str(raised.value) == (
        "collections[0] ('C').ids[0]: no tag named 'T' in the catalog or the sandbox (a "
        "placement has that name: a reference of the wrong kind?); collections[0] ('C')"
        ".ids[1]: 2 tags are named 'Twice' (t1, t2): a reference by name must identify one; "
        "nothing was written"
    )


def test_experience_decisioning_objects_are_not_in_the_sandbox_a_plan_sees():
    listed = sandbox(
        rules=[{"id": "ours", "name": "R"}, {"id": "exd", "name": "R", "exdRule": True}],
        ranking_formulas=[{"id": "f", "name": "F", "exdFunction": True}],
    )
    assert listed.objects["rules"] == [{"id": "ours", "name": "R"}]
    assert listed.objects["ranking_formulas"] == []


def test_a_decision_serving_what_has_no_representation_for_its_placement_is_refused():
    setup = {key: [] for key in BY_KEY}
    setup["fallback_offers"] = [offer("F", {"name": "P1"})]
    setup["personalized_offers"] = [offer("O", {"name": "P3"})]
    setup["collections"] = [{"name": "C", "filterType": "offers", "ids": [{"name": "O"}]}]
    setup["decisions"] = [
        {
            "name": "D",
            "fallback": {"name": "F"},
            "criteria": [
                {
                    "placements": [{"name": "P1"}, {"name": "P2"}],
                    "optionSelection": {"filter": {"name": "C"}},
                }
            ],
        }
    ]
    problems = document.serving_problems(setup, sandbox())
    assert problems == [
        "decisions[0] ('D').fallback: the fallback offer 'F' has no representation for the "
        'placement of criteria[0].placements[1] ({"name": "P2"}); the fallback is served in '
        "every placement",
        "decisions[0] ('D').criteria[0]: collection 'C' lists the offer 'O', which has no "
        "representation for any of the criterion's placements (it could never be served)",
    ]


def test_an_export_writes_names_drops_what_the_server_keeps_and_sorts():
    listed = sandbox(
        placements=[{"id": "p", "name": "Web", "etag": 3, "channel": WEB, "_experience": {}}],
        fallback_offers=[
            {
                **offer("Z", "p"),
                "id": "f",
                "characteristics": {MARKER: "dev", "team": "web"},
                "created": "2026-01-01T00:00:00.000Z",
            },
            {**offer("A", "gone"), "id": "g"},
        ],
        decisions=[{"id": "d", "name": "D", "fallback": "f"}],
    )
    exported = export.export_setup(listed)
    assert list(exported) == list(BY_KEY)
    assert exported["placements"] == [{"channel": WEB, "name": "Web"}]
    assert [o["name"] for o in exported["fallback_offers"]] == ["A", "Z"]
    z = exported["fallback_offers"][1]
    assert z["characteristics"] == {"team": "web"}
    assert z["representations"][0]["placement"] == {"name": "Web"}
    assert exported["fallback_offers"][0]["representations"][0]["placement"] == "gone"
    assert exported["decisions"] == [{"fallback": {"name": "Z"}, "name": "D"}]
    only = export.export_setup(listed, decisions=["D"])
    assert [o["name"] for o in only["fallback_offers"]] == ["Z"]
    assert only["placements"] == exported["placements"]
    text = export.dump_document(exported, ".yaml")
    assert "{{profile.x}}" in text
    read_back = document.parse_setup(yaml_data.load(text, "x.yaml", max_nodes=10_000), "c")
    assert read_back["decisions"][0]["fallback"] == {"name": "Z"}


def test_an_export_refuses_a_sandbox_where_two_objects_share_a_name():
    listed = sandbox(tags=[{"id": "1", "name": "T"}, {"id": "2", "name": "T"}])
    with pytest.raises(CatalogError, match="tags: several are named 'T'"):
        export.export_setup(listed)
