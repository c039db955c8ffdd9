"""The batch decisioning example end to end with `dag.test()` against the emulator: the setup,
one workload for the audience into the dataset, and an asset event on the very asset the
downstream DAG is scheduled on (the scheduler starting it is Airflow's part; not run here)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "example_dags" / "example_offer_batch_decisioning.py"
)
WORKLOADS = "/data/core/dwm/workloads/decisions"


def test_the_example_decides_for_the_audience_and_marks_the_downstream_dags_asset(
    run_dag, adobe_connection, offer_library_emulator
):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    emulator = offer_library_emulator
    run = run_dag(EXAMPLE.read_text(), "example_offer_batch_decisioning")

    assert set(run.task_states().values()) == {"success"}, run.task_states()
    (workload,) = emulator.backend.workloads.in_dataset("6196b4a1a63bd118dafe093c")
    result = run.xcom("batch_decide")
    assert (result["workload_id"], result["status"]) == (workload.ident, "COMPLETED")
    assert workload.audience_id == "609028e4-e66c-4776-b0d9-c782887e2273"
    with create_session() as session:
        rows = (
            session.query(AssetEvent, AssetModel.uri)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri.like("adobe-platform://%"))
            .all()
        )
    extras = {
        uri: event.extra for event, uri in rows if event.extra.get("workload_id") == workload.ident
    }
    assert list(extras.values()) == [
        {"workload_id": workload.ident, "status": "COMPLETED", "audience_id": workload.audience_id}
    ]
    from airflow_compat import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE))
    scheduled_on = bag.dags["example_offer_batch_decisioning_downstream"].timetable.asset_condition
    assert [asset.uri for asset in scheduled_on.objects] == list(extras)
