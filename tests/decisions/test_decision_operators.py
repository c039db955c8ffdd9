"""CreateDecisionOperator (and its siblings) and DecisionRequestOperator through `dag.test()`.

The objects a decision refers to are arranged over plain HTTP; what is asserted is what the
emulator received and stored, the XComs, and the task log.
"""

from __future__ import annotations

import json

DECISIONS = "/data/core/dps/offer-decisions"
OPEN = {"startDate": "2020-01-01T00:00:00.000Z", "endDate": "2099-01-01T00:00:00.000Z"}


def _decision_dag(world: dict[str, str], tasks: str) -> str:
    decision = {
        "name": "Homepage decision",
        "status": "live",
        "fallback": world["fallback"],
        "criteria": [
            {
                "placements": [world["placement"]],
                "rank": {"priority": 0},
                "optionSelection": {"filter": world["collection"]},
            }
        ],
    }
    return f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.decisions import CreateDecisionOperator

DECISION = {json.dumps(decision)}

with DAG("decision_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
{tasks}
"""


def _requests(emulator, method: str, path: str) -> list:
    """Requests the emulator answered with success (a stale token's 401 is replayed once)."""
    return [
        r
        for r in emulator.requests
        if r.method == method and r.path.startswith(path) and r.status and r.status < 400
    ]


def test_create_decision_creates_once_then_updates_skips_or_fails(
    etag, run_dag, adobe_connection, offer_library_emulator, decision_world, dps, task_output
):
    emulator = offer_library_emulator
    source = _decision_dag(
        decision_world,
        """
    create = CreateDecisionOperator(task_id="create", decision=DECISION)
    again = CreateDecisionOperator(task_id="again", decision=DECISION)
    changed = {**DECISION, "description": "Now with a description"}
    skip = CreateDecisionOperator(task_id="skip", decision=changed, if_exists="skip")
    update = CreateDecisionOperator(task_id="update", decision=changed, if_exists="update")
    fail = CreateDecisionOperator(task_id="fail", decision=changed, if_exists="fail")
    create >> again >> skip >> update >> fail
""",
    )

    run = run_dag(source, "decision_dag")

    assert run.task_states() == {
        "create": "success",
        "again": "success",
        "skip": "success",
        "update": "success",
        "fail": "failed",
    }
    created = run.xcom("create")
    assert created["action"] == "created"
    assert set(created) == {"id", "name", "etag", "lastModifiedDate", "sandbox", "action"}
    assert created["sandbox"] == "prod"
    assert run.xcom("again") == {**created, "action": "unchanged"} | {
        "lastModifiedDate": run.xcom("again")["lastModifiedDate"]
    }
    assert run.xcom("skip")["action"] == "unchanged"
    updated = run.xcom("update")
    assert (updated["action"], updated["etag"]) == ("updated", etag(int(created["etag"]) + 1))
    assert len(_requests(emulator, "POST", DECISIONS)) == 1
    (patch,) = _requests(emulator, "PATCH", DECISIONS)
    assert {"op": "add", "path": "/description", "value": "Now with a description"} in patch.json
    stored = dps.get(f"/offer-decisions/{created['id']}")
    assert stored["description"] == "Now with a description"
    assert stored["fallback"] == decision_world["fallback"]
    out = task_output()
    assert f"already exists: id '{created['id']}'" in out


def test_invalid_decision_fails_naming_the_field_before_any_request(
    run_dag, adobe_connection, offer_library_emulator, task_output
):
    source = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.decisions import CreateDecisionOperator

with DAG("bad_decision_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CreateDecisionOperator(
        task_id="create", decision={"status": "live", "fallback": "x"}, retries=0
    )
"""

    run = run_dag(source, "bad_decision_dag")

    assert run.task_states() == {"create": "failed"}
    assert offer_library_emulator.requests == []
    out = task_output()
    assert "invalid input, nothing was sent: decision.name" in out


def test_decision_request_returns_the_best_qualifying_offers(
    run_dag, adobe_connection, offer_library_emulator, decision_world, dps
):

    world = decision_world
    spring = {
        "tags": [world["tag"]],
        "selectionConstraint": {**OPEN, "profileConstraintType": "none"},
    }

    def personalized(name: str, priority: int, **fields) -> str:
        url = f"https://cdn.example.com/{name}.png"
        body = dps.offer_body(name, world["placement"], url, rank={"priority": priority}, **fields)
        return dps.create_offer({**body, **spring}, "personalized")["id"]

    low = personalized("low", 1)
    high = personalized("high", 9)
    personalized("draft", 99, status="draft")
    decision = dps.create(
        "/offer-decisions",
        {
            "name": "Spring decision",
            "status": "live",
            "fallback": world["fallback"],
            "criteria": [
                {
                    "placements": [world["placement"]],
                    "optionSelection": {"filter": world["collection"]},
                }
            ],
        },
    )["id"]
    source = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.decisions import DecisionRequestOperator

with DAG("decision_request_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    DecisionRequestOperator(
        task_id="ask",
        decision_id="{decision}",
        placement_id="{world["placement"]}",
        identity_map={{"Email": ["jo@example.com"]}},
        item_count="{{{{ 1 + 1 }}}}",
    )
"""

    run = run_dag(source, "decision_request_dag")

    assert run.task_states() == {"ask": "success"}
    (proposition,) = run.xcom("ask")["xdm:propositions"]
    # Compared on the ids' unique part: the Decisioning API may answer with other prefixes.
    served = [option["xdm:id"].rsplit(":", 1)[1] for option in proposition["xdm:options"]]
    assert served == [high.rsplit(":", 1)[1], low.rsplit(":", 1)[1]]
    assert proposition["xdm:options"][0]["xdm:deliveryURL"] == "https://cdn.example.com/high.png"
    assert "xdm:fallback" not in proposition
    (sent,) = _requests(offer_library_emulator, "POST", "/data/core/ods/decisions")
    assert sent.headers["x-request-id"]
    assert sent.json["xdm:propositionRequests"] == [
        {"xdm:activityId": decision, "xdm:placementId": world["placement"], "xdm:itemCount": 2}
    ]
    assert sent.json["xdm:profiles"][0]["xdm:identityMap"] == {
        "Email": [{"xdm:id": "jo@example.com"}]
    }


def test_decision_request_bad_input_fails_before_any_request(
    run_dag, adobe_connection, offer_library_emulator, task_output
):
    source = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.decisions import DecisionRequestOperator

with DAG("bad_request_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    DecisionRequestOperator(
        task_id="no_profile", decision_id="d", placement_id="p", retries=0
    )
    DecisionRequestOperator(
        task_id="bad_count", decision_id="d", placement_id="p", profile_id="v",
        item_count="many", retries=0,
    )
"""

    run = run_dag(source, "bad_request_dag")

    assert run.task_states() == {"no_profile": "failed", "bad_count": "failed"}
    assert offer_library_emulator.requests == []
    out = task_output()
    assert "nothing was sent: profile_id: give exactly one of profile_id or identity_map" in out
    assert "nothing was sent: item_count: 'many' is not a whole number" in out


def test_two_objects_with_the_name_fail_the_task_once_naming_both(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    placement = dps.placement_body("Twin")
    ids = {dps.create("/placements", placement)["id"] for _ in range(2)}
    arranged = len(offer_library_emulator.requests)
    source = f"""
from datetime import datetime, timedelta
from airflow.sdk import DAG
from airflow_provider_offers.operators.placements import CreatePlacementOperator

with DAG("twin_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CreatePlacementOperator(
        task_id="create", placement={placement!r}, retries=3, retry_delay=timedelta(0)
    )
"""

    run = run_dag(source, "twin_dag")

    assert run.task_states() == {"create": "failed"}
    sent = offer_library_emulator.requests[arranged:]
    assert {r.method for r in sent if r.path.startswith("/data/core/dps")} == {"GET"}  # no write
    out = task_output()
    assert out.count("names must identify one object") == 1
    assert all(placement_id in out for placement_id in ids)


RULE = {
    "name": "Sales rule",
    "condition": {
        "type": "PQL",
        "format": "pql/text",
        "value": 'profile.person.name.firstName.equals("Joe", false)',
    },
}


def test_rules_by_name_leave_out_experience_decisioning_rules_of_the_same_name(
    run_dag, adobe_connection, offer_library_emulator, dps, task_output
):
    """A sandbox that also uses Experience Decisioning: its rule of the same name sits in
    /offer-rules with `exdRule: true`; creating, re-running and updating ours never touch it."""
    theirs = dps.create("/offer-rules", {**RULE, "exdRule": True, "description": "ExD"})["id"]
    arranged = len(offer_library_emulator.requests)
    source = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_offers.operators.rules import CreateOfferRuleOperator

RULE = {RULE!r}

with DAG("exd_rule_dag", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    create = CreateOfferRuleOperator(task_id="create", rule=RULE)
    again = CreateOfferRuleOperator(task_id="again", rule=RULE)
    update = CreateOfferRuleOperator(task_id="update", rule={{**RULE, "description": "Ours"}})
    exd = CreateOfferRuleOperator(task_id="exd", rule={{**RULE, "exdRule": True}}, retries=0)
    create >> again >> update >> exd
"""

    run = run_dag(source, "exd_rule_dag")

    assert run.task_states() == {
        "create": "success",
        "again": "success",
        "update": "success",
        "exd": "failed",
    }
    ours = run.xcom("create")["id"]
    assert ours != theirs and run.xcom("create")["action"] == "created"
    assert [run.xcom(t)["action"] for t in ("again", "update")] == ["unchanged", "updated"]
    sent = offer_library_emulator.requests[arranged:]
    writes = [(r.method, r.path) for r in sent if r.method != "GET" and "/dps/" in r.path]
    assert writes == [
        ("POST", "/data/core/dps/offer-rules"),
        ("PATCH", f"/data/core/dps/offer-rules/{ours}"),
    ]
    stored_theirs = dps.get(f"/offer-rules/{theirs}")
    assert (stored_theirs["description"], int(stored_theirs["etag"])) == ("ExD", 1)
    stored_ours = dps.get(f"/offer-rules/{ours}")
    assert stored_ours["description"] == "Ours" and "exdRule" not in stored_ours
    assert (
        "invalid input, nothing was sent: rule.exdRule: true marks an Experience" in task_output()
    )
