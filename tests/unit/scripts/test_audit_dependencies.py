"""The dependency audit's verdict (scripts/audit_dependencies.py) on pip-audit reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).parents[3] / "scripts" / "audit_dependencies.py"
_spec = importlib.util.spec_from_file_location("audit_dependencies", _SCRIPT)
assert _spec is not None and _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

STARLETTE = {
    "name": "starlette",
    "version": "0.48.0",
    "vulns": [
        {"id": "GHSA-7f5h-v6xp-fcq8", "aliases": ["CVE-2025-62727"], "fix_versions": ["0.49.1"]}
    ],
}
CLEAN = {"name": "h11", "version": "0.16.0", "vulns": []}


def test_an_unlisted_vulnerability_fails_and_says_where_and_the_fix():
    code, lines = audit.verdict({"dependencies": [STARLETTE, CLEAN]}, {})
    assert code == 1
    assert (
        "VULNERABLE starlette 0.48.0: GHSA-7f5h-v6xp-fcq8 (CVE-2025-62727); fixed in 0.49.1"
        in lines
    )


def test_a_listed_alias_is_ignored_with_its_reason_and_stale_entries_are_named():
    ignored = {"CVE-2025-62727": "Airflow 3.1 caps starlette", "PYSEC-0000-1": "old"}
    code, lines = audit.verdict({"dependencies": [STARLETTE, CLEAN]}, ignored)
    assert code == 0
    assert any(line.startswith("ignored starlette 0.48.0") and "caps" in line for line in lines)
    assert "stale ignore entry (not found any more): PYSEC-0000-1" in lines


@pytest.mark.parametrize(("required", "expected"), [(None, 0), ("1", 1)])
def test_an_audit_the_service_never_answered_is_reported_as_not_run(
    monkeypatch, required, expected
):
    if required:
        monkeypatch.setenv("OFFERS_AUDIT_REQUIRED", required)
    else:
        monkeypatch.delenv("OFFERS_AUDIT_REQUIRED", raising=False)
    skipped = [{"name": "h11", "skip_reason": "Dependency not found on PyPI"}]
    code, lines = audit.verdict({"dependencies": skipped}, {})
    assert code == expected
    assert any(line.startswith("AUDIT DID NOT RUN") for line in lines)


def test_the_ignore_file_parses(tmp_path):
    listed = tmp_path / "ignore.txt"
    listed.write_text("# comment\n\nGHSA-aaaa-bbbb-cccc  # reaches us via Airflow only\n")
    assert audit.ignore_list(listed) == {"GHSA-aaaa-bbbb-cccc": "reaches us via Airflow only"}
    assert isinstance(audit.ignore_list(), dict)  # the shipped list parses
