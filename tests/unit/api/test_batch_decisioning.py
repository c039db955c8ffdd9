"""api/batch_decisioning.py: the status rule and the input rules (what passes becomes Adobe's
documented body; what does not is refused naming the field)."""

from __future__ import annotations

import logging
import re

import pytest

from airflow_provider_offers.api.batch_decisioning import judge, parse_batch_request
from airflow_provider_offers.api.errors import InvalidInputError

from .batch_decisioning_helpers import AUDIENCE, DATASET, PROPOSITION, workload


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("QUEUED", "waiting"),
        ("PROCESSING", "waiting"),
        ("INGESTING", "waiting"),
        ("COMPLETED", "done"),
        ("completed", "done"),
        ("ERROR", "failed"),
    ],
)
def test_the_status_rule(status, state):
    assert judge(workload(status)).state == state


def test_error_carries_adobes_detail_and_an_unknown_status_waits_but_is_logged(caplog):
    assert judge(workload("ERROR", {"reason": "spark"})).detail == '{"reason": "spark"}'
    assert judge(workload("ERROR")).detail == "(Adobe gave no ode:statusDetail)"
    with caplog.at_level(logging.WARNING, logger="airflow_provider_offers.api"):
        verdict = judge(workload("PAUSED"))
    assert (verdict.state, verdict.status) == ("waiting", "PAUSED")
    assert "status 'PAUSED', which Adobe's page does not name" in caplog.text
    assert workload("QUEUED").created == "2022-03-23T23:42:04.834Z"


def test_a_valid_request_is_adobes_documented_body():
    request = parse_batch_request(
        [AUDIENCE], DATASET, [{**PROPOSITION, "item_count": "3"}], include_content="true"
    )
    assert request.to_body() == {
        "xdm:segmentIds": [AUDIENCE],
        "xdm:dataSetId": DATASET,
        "xdm:propositionRequests": [
            {
                "xdm:activityId": PROPOSITION["decision"],
                "xdm:placementId": PROPOSITION["placement"],
                "xdm:itemCount": 3,
            }
        ],
        "xdm:includeContent": True,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([AUDIENCE, AUDIENCE], DATASET, [PROPOSITION]), "2 audiences given"),
        (("my audience", DATASET, [PROPOSITION]), "audience_id: 'my audience' is not an audience"),
        ((AUDIENCE, "dataset-1", [PROPOSITION]), "is not a Platform dataset id"),
        ((AUDIENCE, DATASET, []), "propositions: 0 given: expected 1 to 30"),
        ((AUDIENCE, DATASET, [PROPOSITION] * 31), "31 given"),
        ((AUDIENCE, DATASET, [{**PROPOSITION, "item_count": 31}]), "is not between 1 and 30"),
        ((AUDIENCE, DATASET, [{**PROPOSITION, "item_count": 0}]), "is not between 1 and 30"),
        ((AUDIENCE, DATASET, [{**PROPOSITION, "decision": "Homepage"}]), "is not a decision id"),
        (
            (AUDIENCE, DATASET, [{**PROPOSITION, "placement": PROPOSITION["decision"]}]),
            "propositions[0].placement",
        ),
        ((AUDIENCE, DATASET, [{**PROPOSITION, "count": 2}]), "unknown key(s) 'count'"),
    ],
)
def test_bad_inputs_are_refused(args, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        parse_batch_request(*args)
