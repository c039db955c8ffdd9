"""SyncOfferLibraryOperator and ExportOfferLibraryOperator through `dag.test()` against the
emulator over loopback: a whole setup with references by name, applied in dependency order,
exported, promoted into another sandbox and exported again; bad documents refused before
any request; Experience Decisioning's objects never touched."""

from __future__ import annotations

import copy
import json

import pytest

from airflow_provider_offers.api.catalog import MARKER

DPS = "/data/core/dps"
WEB = "https://ns.adobe.com/xdm/channel-types/web"


def dag_source(dag_id: str, tasks: str) -> str:
    return f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import (
    ExportOfferLibraryOperator,
    SyncOfferLibraryOperator,
)

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
{tasks}
"""


def offer(name: str, *placements: str, **fields) -> dict:
    return {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": WEB,
                "placement": {"name": placement},
                "components": [
                    {
                        "type": "html",
                        "format": "text/html",
                        "content": "<p>Hi {{profile.person.name.firstName}}</p>",
                    }
                ],
            }
            for placement in placements
        ],
        **fields,
    }


def setup_document() -> dict:
    """Every kind, each reference by name."""
    return {
        "placements": [
            {"name": "Web banner", "componentType": "html", "channel": WEB},
            {"name": "Web footer", "componentType": "html", "channel": WEB},
        ],
        "tags": [{"name": "Spring"}],
        "rules": [
            {
                "name": "Gold members",
                "condition": {
                    "type": "PQL",
                    "format": "pql/text",
                    "value": 'profile.loyalty.tier = "gold"',
                },
            }
        ],
        "personalized_offers": [
            offer(
                "Spring sale",
                "Web banner",
                "Web footer",
                tags=[{"name": "Spring"}],
                selectionConstraint={
                    "profileConstraintType": "eligibilityRule",
                    "eligibilityRule": {"name": "Gold members"},
                },
                rank={"priority": 1},
            )
        ],
        "fallback_offers": [offer("Default", "Web banner", "Web footer")],
        "collections": [
            {"name": "Spring offers", "filterType": "any-tags", "ids": [{"name": "Spring"}]}
        ],
        "decisions": [
            {
                "name": "Home page",
                "status": "live",
                "fallback": {"name": "Default"},
                "criteria": [
                    {
                        "placements": [{"name": "Web banner"}, {"name": "Web footer"}],
                        "rank": {"priority": 0},
                        "profileConstraint": {"profileConstraintType": "none"},
                        "optionSelection": {"filter": {"name": "Spring offers"}},
                    }
                ],
            }
        ],
    }


@pytest.fixture
def dev_connection(offer_library_emulator, adobe_connection, monkeypatch) -> str:
    """A second connection, `offers_dev`: the same emulator's "dev" sandbox."""
    conn = copy.deepcopy(adobe_connection)
    conn["extra"]["sandbox_name"] = "dev"
    monkeypatch.setenv("AIRFLOW_CONN_OFFERS_DEV", json.dumps(conn))
    return "offers_dev"


def listing(dps, path: str, **params) -> list[dict]:
    return dps.get(path, limit="100", **params)["results"]


def dps_writes(requests) -> list:
    return [r for r in requests if r.path.startswith(DPS) and r.method != "GET"]


def written_kinds(requests) -> list[str]:
    """The collection each write went to: "placements", "offers", ..."""
    return [r.path.removeprefix(DPS + "/").split("/")[0] for r in dps_writes(requests)]


def test_a_whole_setup_is_created_in_order_with_references_then_promoted_and_exported_alike(
    run_dag, tmp_dags, dev_connection, offer_library_emulator, dps, tmp_path
):
    emulator = offer_library_emulator
    dev = dps.in_sandbox("dev")
    document = tmp_dags / "setup.json"
    document.write_text(json.dumps(setup_document()))
    exported_dev, exported_prod = tmp_path / "dev.yaml", tmp_path / "prod.yaml"
    tasks = f"""
    sync = SyncOfferLibraryOperator(
        task_id="sync", source="setup.json", catalog="home", adobe_conn_id="{dev_connection}"
    )
    export = ExportOfferLibraryOperator(
        task_id="export", destination="{exported_dev}", adobe_conn_id="{dev_connection}"
    )
    promote = SyncOfferLibraryOperator(
        task_id="promote",
        source="{exported_dev}",
        catalog="home",
        allow_outside_dag_folder=True,
    )
    export_prod = ExportOfferLibraryOperator(task_id="export_prod", destination="{exported_prod}")
    sync >> export >> promote >> export_prod
"""
    before = len(emulator.requests)
    try:
        run = run_dag(dag_source("setup_promotion", tasks), "setup_promotion")
    finally:
        document.unlink()
    assert run.task_states() == dict.fromkeys(
        ("sync", "export", "promote", "export_prod"), "success"
    )
    result = run.xcom("sync")
    assert result["counts"]["created"] == 8
    assert [(e["kind"], e["action"]) for e in result["plan"]][:2] == [
        ("placements", "create"),
        ("placements", "create"),
    ]
    # Created in dependency order: what a decision serves exists before the decision.
    made = written_kinds(emulator.requests[before:])
    assert made[:8] == [
        "placements",
        "placements",
        "tags",
        "offer-rules",
        "offers",
        "offers",
        "offer-collections",
        "offer-decisions",
    ]
    placements = {p["name"]: p["id"] for p in listing(dev, "/placements")}
    (decision,) = listing(dev, "/offer-decisions")
    (collection,) = listing(dev, "/offer-collections")
    (fallback,) = listing(dev, "/offers", **{"offer-type": "fallback"})
    (tag,) = listing(dev, "/tags")
    assert decision["fallback"] == fallback["id"]
    assert decision["criteria"][0]["placements"] == [
        placements["Web banner"],
        placements["Web footer"],
    ]
    assert decision["criteria"][0]["optionSelection"]["filter"] == collection["id"]
    assert collection["ids"] == [tag["id"]]
    assert fallback["characteristics"] == {MARKER: "home"}
    content = fallback["representations"][0]["components"][0]["content"]
    assert content == "<p>Hi {{profile.person.name.firstName}}</p>"

    # The promotion rebuilt the same setup in prod with prod's ids: the two exports are equal.
    assert exported_dev.read_text() == exported_prod.read_text()
    dev_doc = run.xcom("export")
    assert dev_doc["counts"] == {
        "placements": 2,
        "tags": 1,
        "rules": 1,
        "ranking_formulas": 0,
        "personalized_offers": 1,
        "fallback_offers": 1,
        "collections": 1,
        "decisions": 1,
    }
    assert "name: Web banner" in exported_dev.read_text()
    assert MARKER not in exported_dev.read_text()
    (prod_decision,) = listing(dps, "/offer-decisions")
    assert prod_decision["id"] != decision["id"]

    # A second promotion of an unchanged setup only lists.
    before = len(emulator.requests)
    again = run_dag(
        dag_source(
            "setup_again",
            f"""
    SyncOfferLibraryOperator(
        task_id="promote", source="{exported_dev}", catalog="home", allow_outside_dag_folder=True
    )
""",
        ),
        "setup_again",
    )
    assert again.xcom("promote")["counts"]["unchanged"] == 8
    assert dps_writes(emulator.requests[before:]) == []


def test_a_changed_reference_is_one_guarded_patch_showing_names(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    document = setup_document()
    tasks = """
    SyncOfferLibraryOperator(task_id="sync", objects={document!r}, catalog="home")
"""
    run_dag(dag_source("setup_change", tasks.format(document=document)), "setup_change")
    document["placements"].append({"name": "Web aside", "componentType": "html", "channel": WEB})
    for kept in (document["fallback_offers"][0], document["personalized_offers"][0]):
        kept["representations"].append(copy.deepcopy(kept["representations"][0]))
        kept["representations"][-1]["placement"] = {"name": "Web aside"}
    document["decisions"][0]["criteria"][0]["placements"].append({"name": "Web aside"})
    emulator = offer_library_emulator
    before = len(emulator.requests)
    run = run_dag(dag_source("setup_change", tasks.format(document=document)), "setup_change")
    assert run.task_states() == {"sync": "success"}
    result = run.xcom("sync")
    assert result["counts"] == {
        "created": 1,
        "updated": 3,
        "unchanged": 5,
        "deleted": 0,
        "blocked": 0,
    }
    decision_entry = next(e for e in result["plan"] if e["kind"] == "decisions")
    new_placements = decision_entry["changes"]["criteria"]["new"][0]["placements"]
    assert new_placements == [{"name": "Web banner"}, {"name": "Web footer"}, {"name": "Web aside"}]
    assert written_kinds(emulator.requests[before:]) == [
        "placements",
        "offers",
        "offers",
        "offer-decisions",
    ]
    (decision,) = listing(dps, "/offer-decisions")
    aside = next(p for p in listing(dps, "/placements") if p["name"] == "Web aside")
    assert decision["criteria"][0]["placements"][-1] == aside["id"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(offers=[]), "'offers' is not a kind of object"),
        (
            lambda d: d["collections"][0].update(ids=[{"name": "Autumn"}]),
            "collections[0] ('Spring offers').ids[0]: no tag named 'Autumn' in the catalog or "
            "the sandbox",
        ),
        (
            lambda d: d["decisions"][0].update(fallback={"name": "Spring sale"}),
            "decisions[0] ('Home page').fallback: no fallback offer named 'Spring sale' in the "
            "catalog or the sandbox (a personalized offer has that name: a reference of the "
            "wrong kind?)",
        ),
        (
            lambda d: d["fallback_offers"][0]["representations"].pop(),
            "decisions[0] ('Home page').fallback: the fallback offer 'Default' has no "
            "representation for the placement of criteria[0].placements[1]",
        ),
        (
            lambda d: d["decisions"][0].update(fallback={"name": "Default", "id": "x"}),
            'decisions[0].fallback: expected an id or {"name": ...}',
        ),
    ],
)
def test_a_bad_document_is_refused_naming_the_place_before_any_request(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output, change, problem
):
    document = setup_document()
    change(document)
    emulator = offer_library_emulator
    before = len(emulator.requests)
    tasks = f"""
    SyncOfferLibraryOperator(task_id="sync", objects={document!r}, catalog="home")
"""
    run = run_dag(dag_source("setup_refused", tasks), "setup_refused")
    assert run.task_states() == {"sync": "failed"}
    assert problem in task_output()
    assert dps_writes(emulator.requests[before:]) == []


def test_experience_decisioning_namesakes_are_never_matched_changed_or_exported(
    run_dag, adobe_connection, offer_library_emulator, dps, tmp_path
):
    theirs = dps.create(
        "/offer-rules",
        {
            "name": "Gold members",
            "exdRule": True,
            "condition": {"type": "PQL", "format": "pql/text", "value": "true"},
        },
    )["id"]
    before = dps.get(f"/offer-rules/{theirs}")
    exported = tmp_path / "setup.json"
    tasks = f"""
    sync = SyncOfferLibraryOperator(task_id="sync", objects={setup_document()!r}, catalog="home")
    export = ExportOfferLibraryOperator(task_id="export", destination="{exported}")
    sync >> export
"""
    run = run_dag(dag_source("setup_exd", tasks), "setup_exd")
    assert run.task_states() == {"sync": "success", "export": "success"}
    rules = listing(dps, "/offer-rules")
    ours = [r for r in rules if not r.get("exdRule")]
    assert len(ours) == 1 and ours[0]["id"] != theirs
    assert dps.get(f"/offer-rules/{theirs}") == before
    (offer,) = listing(dps, "/offers", **{"offer-type": "personalized"})
    assert offer["selectionConstraint"]["eligibilityRule"] == ours[0]["id"]
    assert [r["name"] for r in json.loads(exported.read_text())["rules"]] == ["Gold members"]
    assert "exdRule" not in exported.read_text()


def test_a_ranking_formula_is_updated_with_put_of_the_whole_object_and_ranks_by_name(
    run_dag, adobe_connection, offer_library_emulator, dps
):
    document = setup_document()
    document["ranking_formulas"] = [
        {
            "name": "Priority first",
            "description": "Ranks by priority",
            "returnType": {"type": "integer"},
            "expression": {"type": "PQL", "format": "pql/text", "value": "offer.rank.priority"},
            "definedOn": {
                "offer": {
                    "schema": {
                        "altId": "_experience.offer-management.personalized-offer",
                        "version": "0",
                    }
                }
            },
        }
    ]
    document["decisions"][0]["criteria"][0]["rank"] = {
        "priority": 0,
        "order": {
            "orderEvaluationType": "ranking-strategy",
            "function": {"name": "Priority first"},
        },
    }
    tasks = """
    SyncOfferLibraryOperator(task_id="sync", objects={document!r}, catalog="home")
"""
    assert run_dag(dag_source("setup_formula", tasks.format(document=document)), "setup_formula")
    (formula,) = listing(dps, "/ranking-formulas")
    (decision,) = listing(dps, "/offer-decisions")
    assert decision["criteria"][0]["rank"]["order"]["function"] == formula["id"]

    document["ranking_formulas"][0]["expression"]["value"] = "offer.rank.priority * 2"
    del document["ranking_formulas"][0]["description"]  # left out: kept as it is
    emulator = offer_library_emulator
    before = len(emulator.requests)
    run = run_dag(dag_source("setup_formula", tasks.format(document=document)), "setup_formula")
    assert run.task_states() == {"sync": "success"}
    (put,) = dps_writes(emulator.requests[before:])
    assert (put.method, put.path) == ("PUT", f"{DPS}/ranking-formulas/{formula['id']}")
    assert put.json["expression"]["value"] == "offer.rank.priority * 2"
    assert put.json["description"] == "Ranks by priority"
    stored = dps.get(f"/ranking-formulas/{formula['id']}")
    assert stored["expression"]["value"] == "offer.rank.priority * 2"
    assert stored["description"] == "Ranks by priority"
    entry = next(e for e in run.xcom("sync")["plan"] if e["kind"] == "ranking_formulas")
    assert (entry["action"], entry["fields"]) == ("update", ["expression"])
