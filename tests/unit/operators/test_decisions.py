"""DecisionRequestOperator's execute() against a mocked hook."""

from __future__ import annotations

from airflow_provider_offers.operators.decisions import DecisionRequestOperator


def test_decision_request_takes_a_templated_item_count(with_hook, hook, context, mocker):
    from airflow_provider_offers.api.decisioning import DecisionResponse

    hook.request_decision.return_value = DecisionResponse.model_validate(
        {"xdm:propositionId": "p-1", "xdm:propositions": []}
    )
    task = DecisionRequestOperator(
        task_id="t", decision_id="d", placement_id="p", profile_id="v", item_count="3"
    )

    result = with_hook(task).execute(context)

    assert result == {"xdm:propositionId": "p-1", "xdm:propositions": []}
    assert hook.request_decision.call_args.kwargs["item_count"] == 3
