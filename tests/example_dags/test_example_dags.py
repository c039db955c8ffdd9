"""The example DAGs: they parse cleanly and offline, and the setup DAG runs end to end.

The end-to-end run is `dag.test()` against the emulator; what it checks is what a user would
see: the task states, the XComs, and the requests the Offer Library received.
"""

from __future__ import annotations

import ast
import copy
import socket
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
EXAMPLE_FILES = sorted(EXAMPLE_DAGS.glob("example_*.py"))
EXPECTED_DAG_IDS = {
    "example_fallback_offer_setup",
    "example_fallback_offer_daily",
    "example_fallback_offer_ui",
    "example_offer_changed_asset",
    "example_offer_catalog_sync",
    "example_offer_library_promotion",
    "example_offer_batch_decisioning",
}
#: The promotion reads a development sandbox through a connection of its own.
CONNECTIONS_BESIDE_THE_DEFAULT = {"example_offer_library_promotion": {"adobe_offers_dev"}}
#: DAGs sharing a file with the DAG the file is named after (they use no connection).
DOWNSTREAM_DAG_IDS = {"example_offer_batch_decisioning_downstream"}
PUBLIC_MODULES = (
    "airflow_provider_offers.operators.offers",
    "airflow_provider_offers.operators.catalog",
    "airflow_provider_offers.operators.placements",
    "airflow_provider_offers.operators.rules",
    "airflow_provider_offers.operators.collections",
    "airflow_provider_offers.operators.decisions",
    "airflow_provider_offers.operators.batch_decisioning",
    "airflow_provider_offers.sensors.offers",
    "airflow_provider_offers.sensors.batch_decisioning",
    "airflow_provider_offers.hooks.offers",
    "airflow_provider_offers.triggers.offers",
)


def test_the_examples_are_there():
    assert {path.stem for path in EXAMPLE_FILES} == EXPECTED_DAG_IDS


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails loudly (and is recorded)."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during DAG parsing")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_examples_parse_with_no_import_errors_and_no_network(no_network, monkeypatch):
    from airflow_compat import DagBag

    # No connection is defined at all: parsing must not need one.
    monkeypatch.delenv("AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", raising=False)
    # Airflow 3's DagBag has no include_examples; conftest sets [core] load_examples=False.
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))

    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED_DAG_IDS | DOWNSTREAM_DAG_IDS
    assert no_network == []
    for dag_id in EXPECTED_DAG_IDS:
        dag = bag.dags[dag_id]
        conn_ids = {
            getattr(task, "adobe_conn_id", None)
            for task in dag.tasks
            if type(task).__module__.startswith("airflow_provider_offers.")
        }
        scheduled_on = getattr(getattr(dag.timetable, "asset_condition", None), "objects", ())
        conn_ids |= {w.trigger.adobe_conn_id for a in scheduled_on for w in a.watchers}
        expected = {"adobe_offers_default"} | CONNECTIONS_BESIDE_THE_DEFAULT.get(dag_id, set())
        assert conn_ids == expected, (dag_id, conn_ids)


def test_parsing_the_examples_loads_neither_the_client_nor_the_emulator():
    """Parsing stays cheap: api/ (httpx clients, models, pydantic) loads only when tasks run;
    the hook module (whose class names the default connection) imports none of it at the top.
    A fresh interpreter, because this test process has long imported everything."""
    script = (
        "import runpy, sys\n"
        f"for path in {[str(p) for p in EXAMPLE_FILES]!r}:\n"
        "    runpy.run_path(path)\n"
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_offers')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert "airflow_provider_offers.operators.decisions" in loaded
    heavy = ("api", "emulator")
    assert [m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in heavy] == []


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples_import_only_public_operators_sensors_and_hooks(path: Path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    ours = {module for module in imported if module.startswith("airflow_provider_offers")}
    assert ours, "an example that uses none of our operators"
    assert ours <= set(PUBLIC_MODULES), ours - set(PUBLIC_MODULES)


def _validated(dag, conf: dict) -> dict:
    """The params a run would get with this conf, as Airflow checks them (copy: DAG untouched)."""
    params = copy.deepcopy(dag.params)
    for key, value in conf.items():
        params[key] = value
    return params.validate()


def test_ui_params_are_validated_by_json_schema():
    """What the trigger form refuses: the params' JSON schema, checked by Airflow itself."""
    from airflow_compat import DagBag, ParamValidationError

    dag = DagBag(dag_folder=str(EXAMPLE_DAGS)).dags["example_fallback_offer_ui"]
    good = {
        "name": "Spring sale fallback",
        "description": "From the form",
        "image_url": "https://cdn.example.com/spring.png",
        "status": "approved",
        "sandbox": "dev",
    }
    assert _validated(dag, good) == good
    # The form's defaults pass as they are; it sends null for an emptied optional field.
    assert _validated(dag, {})["sandbox"] is None
    assert _validated(dag, {**good, "description": None, "sandbox": None})["sandbox"] is None
    for field, bad in [
        ("status", "live"),
        ("name", ""),
        ("name", "x" * 256),
        ("image_url", "not a url"),
        ("image_url", "ftp://cdn.example.com/banner.png"),
        ("sandbox", "dev sandbox"),
        ("description", "x" * 1001),
    ]:
        with pytest.raises(ParamValidationError, match=field):
            _validated(dag, {**good, field: bad})


def _created(emulator, path: str) -> list:
    """Creates the emulator accepted (a stale token's 401 is replayed once, not counted)."""
    return [
        r
        for r in emulator.requests
        if r.method == "POST" and r.path == path and r.status and r.status < 400
    ]


def test_setup_dag_runs_end_to_end_and_again_without_duplicates(
    etag, run_dag, adobe_connection, offer_library_emulator
):
    emulator = offer_library_emulator
    source = (EXAMPLE_DAGS / "example_fallback_offer_setup.py").read_text()

    first = run_dag(source, "example_fallback_offer_setup")

    assert first.state == "success", first.task_states()
    assert set(first.task_states().values()) == {"success"}, first.task_states()
    offer = first.xcom("create_fallback_offer")
    patched = first.xcom("patch_fallback_offer")
    change = first.xcom("wait_for_offer_change")
    assert offer["action"] == "created"
    assert patched["id"] == offer["id"]
    assert patched["etag"] == etag(int(offer["etag"]) + 1)
    assert change["previous_etag"] == int(offer["etag"])  # since_etag came through a template
    assert change["etag"] == patched["etag"]
    (proposition,) = first.xcom("request_decision")["xdm:propositions"]

    def unique(object_id: str) -> str:  # Decisioning may use other prefixes than DPS's ids
        return object_id.rsplit(":", 1)[1]

    served = {key: unique(proposition[key]["xdm:id"]) for key in ("xdm:activity", "xdm:placement")}
    assert served == {
        "xdm:activity": unique(first.xcom("create_decision")["id"]),
        "xdm:placement": unique(first.xcom("create_placement")["id"]),
    }
    # The collection's personalized offer is for gold members only: not for this visitor.
    personalized = first.xcom("create_personalized_offer")
    assert personalized["action"] == "created"
    assert not proposition.get("xdm:options")
    assert unique(proposition["xdm:fallback"]["xdm:id"]) == unique(offer["id"])
    assert proposition["xdm:fallback"]["xdm:deliveryURL"].endswith("homepage-fallback-v2.png")
    assert first.xcom("check_fallback_served")["id"] == offer["id"]
    # The decision request the server saw: the XDM media type and the visitor's identity.
    (decision_request,) = _created(emulator, "/data/core/ods/decisions")
    assert "decision-request" in decision_request.headers["content-type"]
    profile = decision_request.json["xdm:profiles"][0]
    assert profile["xdm:identityMap"]["ECID"][0]["xdm:id"] == "example-visitor-0001"

    second = run_dag(source, "example_fallback_offer_setup")

    assert second.state == "success", second.task_states()
    for path, count in (
        ("/data/core/dps/tags", 1),
        ("/data/core/dps/offer-rules", 1),
        ("/data/core/dps/offer-collections", 1),
        ("/data/core/dps/placements", 1),
        ("/data/core/dps/offers", 2),  # the personalized offer and the fallback offer
        ("/data/core/dps/offer-decisions", 1),
    ):
        assert len(_created(emulator, path)) == count, path
    assert second.xcom("create_fallback_offer")["id"] == offer["id"]
    assert second.xcom("create_decision")["action"] == "unchanged"
    served = second.xcom("request_decision")["xdm:propositions"][0]["xdm:fallback"]
    assert served["xdm:deliveryURL"].endswith("homepage-fallback-v2.png")


def test_ui_dag_writes_to_the_sandbox_chosen_in_the_form(
    run_dag, adobe_connection, offer_library_emulator
):
    source = (EXAMPLE_DAGS / "example_fallback_offer_ui.py").read_text()
    conf = {
        "name": "Dev sandbox banner",
        "description": "Tried in dev first",
        "image_url": "https://cdn.example.com/dev.png",
        "status": "approved",
        "sandbox": "dev",
    }

    run = run_dag(source, "example_fallback_offer_ui", run_conf=conf)

    assert run.state == "success", run.task_states()
    offer = run.xcom("create_fallback_offer")
    assert (offer["name"], offer["sandbox"], offer["action"]) == (conf["name"], "dev", "created")
    writes = [
        r
        for r in offer_library_emulator.requests
        if r.method == "POST" and r.path.startswith("/data/core/dps/") and r.status < 300
    ]
    assert [(r.path, r.headers["x-sandbox-name"]) for r in writes] == [
        ("/data/core/dps/placements", "dev"),
        ("/data/core/dps/offers", "dev"),
    ]
    (sent,) = [r.json for r in writes if r.path == "/data/core/dps/offers"]
    assert sent["description"] == conf["description"]
    assert sent["status"] == "approved"
    assert sent["representations"][0]["components"][0]["deliveryURL"] == conf["image_url"]
