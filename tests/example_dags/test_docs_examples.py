"""The documentation's examples (docs/examples/*.py, shown whole on the operator pages) run
against the emulator as written: a page never shows a DAG that fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS_EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("*.py"))


@pytest.mark.parametrize("example", DOCS_EXAMPLES, ids=lambda path: path.stem)
def test_the_example_runs(run_dag, adobe_connection, offer_library_emulator, example):
    source = example.read_text()
    (dag_id,) = re.findall(r'dag_id="([^"]+)"', source)
    run = run_dag(source, dag_id)
    assert run.state == "success", run.task_states()


def test_every_example_is_found():
    assert [path.stem for path in DOCS_EXAMPLES] == [
        "decisions",
        "library",
        "offer_change_sensor",
        "offers",
    ]
