"""Audit the installed environment for known vulnerabilities (`scripts/dev.sh test` runs it).

    .venv/bin/python scripts/audit_dependencies.py

Runs pip-audit over the environment of the Python that runs this script and fails on every
vulnerability that is not on the ignore list (scripts/audit-ignore.txt: one id a line with
why, for what reaches us only through Airflow and no floor of ours can fix). A listed id
also matches the vulnerability's aliases (CVE, GHSA, PYSEC).

pip-audit asks PyPI's per-release JSON API. Where that API does not answer (it returned 404
for every release on the machine this was written on) the audit cannot see anything: that is
reported as "did not run", not as clean, and fails only with OFFERS_AUDIT_REQUIRED=1 (set it
where the API answers, so that an outage is not mistaken for a clean environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

IGNORE_FILE = Path(__file__).with_name("audit-ignore.txt")


def ignore_list(path: Path = IGNORE_FILE) -> dict[str, str]:
    """`ID  # why` lines as {id: why}; blank lines and lines starting with # are comments."""
    ignored = {}
    for line in path.read_text().splitlines():
        entry, _, why = line.partition("#")
        if entry.strip():
            ignored[entry.strip()] = why.strip()
    return ignored


def run_pip_audit() -> dict:
    """pip-audit's JSON report of this interpreter's environment (our editable checkout
    skipped: it is not on PyPI)."""
    argv = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off"]
    done = subprocess.run([*argv, "-f", "json"], capture_output=True, text=True, timeout=600)
    if not done.stdout.strip():
        raise SystemExit(f"pip-audit failed (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


def verdict(report: dict, ignored: dict[str, str]) -> tuple[int, list[str]]:
    """The exit code and the lines to print, from pip-audit's report and the ignore list."""
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    lines = [f"audited {len(audited)} of {len(deps)} installed distributions"]
    if deps and not audited:
        lines.append(
            "AUDIT DID NOT RUN: the vulnerability service answered for no distribution "
            f"(first reason: {deps[0]['skip_reason']})"
        )
        return (1 if os.environ.get("OFFERS_AUDIT_REQUIRED") == "1" else 0), lines
    lines += [f"not audited: {d['name']}: {d['skip_reason']}" for d in deps if d not in audited]
    found, seen = [], set()
    for dep in audited:
        for vuln in dep.get("vulns", []):
            names = {vuln["id"], *vuln.get("aliases", [])}
            listed = sorted(names & ignored.keys())
            seen.update(listed)
            aliases = ", ".join(vuln.get("aliases", []))
            where = f"{dep['name']} {dep['version']}: {vuln['id']} ({aliases})"
            fix = ", ".join(vuln.get("fix_versions", [])) or "none"
            if listed:
                lines.append(f"ignored {where}: {ignored[listed[0]]}")
            else:
                found.append(f"VULNERABLE {where}; fixed in {fix}")
    lines += found
    lines += [
        f"stale ignore entry (not found any more): {i}" for i in sorted(ignored.keys() - seen)
    ]
    return (1 if found else 0), lines


def main() -> int:
    started = time.monotonic()
    code, lines = verdict(run_pip_audit(), ignore_list())
    print("\n".join(lines))
    print(f"dependency audit: exit {code}, {time.monotonic() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
