"""A person answering a human-in-the-loop task, in a process of its own (run as a script).

`python hitl_reviewer.py DAG_ID TASK_ID ANSWER[,ANSWER...] OUTPUT.json` waits until the task
awaits input in the metadata DB of this environment's AIRFLOW_HOME, records the first ANSWER
through the Airflow API server's own handler for the "Required Actions" form (what the UI
calls), then the next ANSWER for the next run, and so on; it writes what each form showed
(`subject`, `body`), as a JSON list, to OUTPUT.json. One process for several runs: importing
Airflow costs seconds. `dag.test()` keeps such a task waiting until
an answer appears in the DB, and then runs it on.

A process, not a thread: while `dag.test()` runs tasks in-process, a thread of the test
process can be held off for longer than the whole run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


class Reviewer:
    """The user the API server's auth manager would hand the handler."""

    def get_id(self) -> str:
        return "reviewer"

    def get_name(self) -> str:
        return "Reviewer"


def review(
    dag_id: str, task_id: str, answers: list[str], output: Path, timeout: float = 240.0
) -> None:
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models import TaskInstance
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    shown: list[dict] = []
    while time.monotonic() < deadline and len(shown) < len(answers):
        with create_session() as session:
            waiting = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id == task_id,
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                )
            ).first()
            if waiting is not None:
                form = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == waiting.id))
                shown.append({"subject": form.subject, "body": form.body})
                update_hitl_detail(
                    dag_id=dag_id,
                    dag_run_id=waiting.run_id,
                    task_id=task_id,
                    update_hitl_detail_payload=UpdateHITLDetailPayload(
                        chosen_options=[answers[len(shown) - 1]]
                    ),
                    user=Reviewer(),
                    session=session,
                )
                output.write_text(json.dumps(shown))
                continue
        time.sleep(0.2)
    if len(shown) < len(answers):
        raise SystemExit(f"{dag_id}.{task_id} did not await input {len(answers)} times")


if __name__ == "__main__":
    review(sys.argv[1], sys.argv[2], sys.argv[3].split(","), Path(sys.argv[4]))
