"""The plugin's DAG-test set-up (`emulator.pytest_airflow`), apart from what crosses HTTP
(tests/emulator/test_user_dag_tests.py runs a user's DAG test end to end)."""

from __future__ import annotations

from airflow.sdk.execution_time import supervisor

from airflow_provider_offers.emulator.pytest_airflow import share_one_execution_api


def test_every_task_of_a_dag_test_reuses_one_execution_api():
    share_one_execution_api()
    share_one_execution_api()  # idempotent: the second call wraps nothing again

    assert supervisor.in_process_api_server() is supervisor.in_process_api_server()
    assert not hasattr(supervisor.in_process_api_server.__wrapped__, "cache_info")
