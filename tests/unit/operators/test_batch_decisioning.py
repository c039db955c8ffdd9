"""Batch decisioning's own logic, no database or emulator: the status rule, the input rules, the
asset URI normaliser, and the operator's memory in the task state store (its hook mocked)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.api.batch_decisioning import (
    Workload,
    judge,
    parse_batch_request,
)
from airflow_provider_offers.api.errors import (
    InvalidInputError,
    OutcomeUnknownError,
    PermissionDeniedError,
)
from airflow_provider_offers.assets import sanitize_uri
from airflow_provider_offers.operators.batch_decisioning import BatchDecisioningOperator

AUDIENCE = "609028e4-e66c-4776-b0d9-c782887e2273"
DATASET = "6196b4a1a63bd118dafe093c"
WORKLOAD = "47efef25-4bcf-404f-96e2-67c4f784a1f5"
PROPOSITION = {
    "decision": "xcore:offer-activity:1410cdcda196707b",
    "placement": "xcore:offer-placement:1410c4117306488a",
}


def workload(status: str | None, detail=None) -> Workload:
    body = {"@id": WORKLOAD, "ode:createDate": 1648078924834, "ode:status": status}
    if detail is not None:
        body["ode:statusDetail"] = detail
    return Workload.model_validate(body)


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


def test_the_asset_uri_normaliser():
    uri = urlsplit(f"adobe-platform://ABC123@AdobeOrg/prod/datasets/{DATASET.upper()}")
    assert sanitize_uri(uri).path == f"/prod/datasets/{DATASET}"
    for bad in (
        "adobe-platform://someone/prod/datasets/" + DATASET,
        "adobe-platform://A@AdobeOrg/x",
    ):
        with pytest.raises(ValueError, match="adobe-platform://"):
            sanitize_uri(urlsplit(bad))


def _task(**kwargs):
    return BatchDecisioningOperator(
        task_id="batch",
        audience_id=AUDIENCE,
        dataset_id=DATASET,
        propositions=[PROPOSITION],
        poll_interval=0.01,
        deferrable=False,
        **kwargs,
    )


@pytest.fixture
def outlet_events(context, mocker):
    context["outlet_events"] = mocker.MagicMock()
    return context


def test_the_request_id_is_stored_before_the_start_and_the_workload_id_after(
    with_hook, hook, context, outlet_events
):
    store = context["task_state_store"]
    seen_before_start = []

    def start(request, request_id):
        seen_before_start.append(dict(next(iter(store.values.values()))))
        return workload("QUEUED")

    hook.start_batch_decisioning.side_effect = start
    hook.get_batch_workload.return_value = workload("COMPLETED")

    result = with_hook(_task()).execute(context)

    (before,) = seen_before_start
    assert before["state"] == "starting" and before["request_id"]
    (after,) = store.values.values()
    assert after["workload_id"] == WORKLOAD and after["request_id"] == before["request_id"]
    assert after["state"] == "done"
    assert result["workload_id"] == WORKLOAD and result["status"] == "COMPLETED"


def test_a_retry_resumes_the_stored_workload_without_starting(with_hook, hook, context):
    hook.start_batch_decisioning.return_value = workload("QUEUED")
    hook.get_batch_workload.side_effect = [PermissionDeniedError("refused"), workload("COMPLETED")]
    with pytest.raises(PermissionDeniedError):
        with_hook(_task()).execute(context)  # the first try dies after the start was stored

    result = with_hook(_task()).execute(context)  # the next try: same store, same task

    assert hook.start_batch_decisioning.call_count == 1
    assert result["workload_id"] == WORKLOAD


def test_a_lost_start_answer_is_not_resent_unless_asked_and_then_with_the_same_request_id(
    with_hook, hook, context
):
    hook.start_batch_decisioning.side_effect = [OutcomeUnknownError("dropped"), workload("QUEUED")]
    hook.get_batch_workload.return_value = workload("COMPLETED")
    with pytest.raises(AirflowFailException, match="was lost: a workload may or may not"):
        with_hook(_task()).execute(context)
    with pytest.raises(AirflowFailException, match="resend_unconfirmed_start=True"):
        with_hook(_task()).execute(context)  # a plain retry refuses too, sending nothing
    assert hook.start_batch_decisioning.call_count == 1

    with_hook(_task(resend_unconfirmed_start=True)).execute(context)

    first, second = (c.args[1] for c in hook.start_batch_decisioning.call_args_list)
    assert first == second


def test_an_error_workload_is_started_afresh_by_the_next_try(with_hook, hook, context):
    hook.start_batch_decisioning.return_value = workload("QUEUED")
    hook.get_batch_workload.side_effect = [workload("ERROR", "bad"), workload("COMPLETED")]
    with pytest.raises(AirflowFailException, match="ended in ERROR: bad"):
        with_hook(_task()).execute(context)

    with_hook(_task()).execute(context)

    first, second = (c.args[1] for c in hook.start_batch_decisioning.call_args_list)
    assert first != second


def test_without_a_task_state_store_it_still_runs_and_says_what_a_retry_does(
    with_hook, hook, context, capfd, caplog
):
    del context["task_state_store"]
    hook.start_batch_decisioning.return_value = workload("QUEUED")
    hook.get_batch_workload.return_value = workload("COMPLETED")

    assert with_hook(_task()).execute(context)["status"] == "COMPLETED"
    output = capfd.readouterr().out + caplog.text  # Airflow's logging goes to either
    assert output.count("No task state store") == 1
    assert "would start another" in output


def test_bad_input_fails_before_any_request(with_hook, hook, context):
    task = with_hook(_task())
    task.propositions = [{**PROPOSITION, "item_count": 40}]
    with pytest.raises(AirflowFailException, match="invalid input, nothing was sent"):
        task.execute(context)
    hook.start_batch_decisioning.assert_not_called()
