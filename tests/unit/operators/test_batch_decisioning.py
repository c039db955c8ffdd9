"""BatchDecisioningOperator against a mocked hook, no database or emulator: its memory in the task
state store (the status and input rules: tests/unit/api/test_batch_decisioning.py)."""

from __future__ import annotations

import pytest
from airflow_compat import TaskDeferred

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.api.errors import OutcomeUnknownError, PermissionDeniedError
from airflow_provider_offers.operators.batch_decisioning import BatchDecisioningOperator

from ..api.batch_decisioning_helpers import AUDIENCE, DATASET, PROPOSITION, WORKLOAD, workload


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


def test_the_trigger_it_defers_to_gets_every_client_option_of_the_task(with_hook, hook, context):
    hook.start_batch_decisioning.return_value = workload("QUEUED")
    hook.get_batch_workload.return_value = workload("PROCESSING")
    task = BatchDecisioningOperator(
        task_id="batch",
        audience_id=AUDIENCE,
        dataset_id=DATASET,
        propositions=[PROPOSITION],
        deferrable=True,
        sandbox_name="dev",
        request_timeout=12.5,
        max_attempts=2,
        max_retry_after=900,
    )

    with pytest.raises(TaskDeferred) as deferred:
        with_hook(task).execute(context)

    _, kwargs = deferred.value.trigger.serialize()
    options = ("sandbox_name", "request_timeout", "max_attempts", "max_retry_after")
    assert {name: kwargs[name] for name in options} == {
        "sandbox_name": "dev",
        "request_timeout": 12.5,
        "max_attempts": 2,
        "max_retry_after": 900,
    }
