#!/usr/bin/env bash
# One entry point for a fresh clone: `bash scripts/dev.sh test` or `bash scripts/dev.sh demo`.
# Creates .venv (with python3.10+ from PATH, or $PYTHON), installs the package with its test
# extra, then runs the chosen job.
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-}"
shift || true
case "$job" in test|demo) ;; *) echo "usage: bash scripts/dev.sh {test|demo} [args...]" >&2; exit 2;; esac

python="${PYTHON:-python3}"
"$python" - <<'PY' || { echo "Python 3.10 or newer is required (set PYTHON=...)" >&2; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"

case "$job" in
test)
    bash scripts/debian_packages.sh
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/python -m mypy airflow_provider_offers
    set +e
    .venv/bin/python -m pytest "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: treating that as a failure" >&2
        exit 1
    fi
    exit "$rc"
    ;;
demo)
    exec .venv/bin/python scripts/demo.py "$@"
    ;;
esac
