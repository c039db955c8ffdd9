#!/usr/bin/env bash
# One entry point for a fresh clone: `bash scripts/dev.sh test` or `bash scripts/dev.sh demo`.
# Creates .venv (with python3.10+ from PATH, or $PYTHON), installs the package with its test
# extra, then runs the chosen job.
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-}"
shift || true
case "$job" in test|demo) ;; *) echo "usage: bash scripts/dev.sh {test|demo} [args...]" >&2; exit 2;; esac

# Every Airflow process the tests start (stacks, `airflow db migrate`, a user's pytest, workers)
# imports Airflow; without bytecode it compiles it from source each time, which doubled the CPU
# time of an import here (2.9 s against 6-7 s) where the environment sets this.
unset PYTHONDONTWRITEBYTECODE

python="${PYTHON:-python3}"
"$python" - <<'PY' || { echo "Python 3.10 or newer is required (set PYTHON=...)" >&2; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# uv installs (and makes the other environments) several times faster than pip.
.venv/bin/python -m pip install --quiet --upgrade pip uv
# The main environment runs the newest Airflow the package is tested on: left alone, uv's
# resolver can settle on an older release that also satisfies every range (it did: 3.2.2).
.venv/bin/uv pip install --quiet --python .venv/bin/python -e '.[test,docs]' "apache-airflow>=3.3,<3.4"
export PATH="$PWD/.venv/bin:$PATH"

# The older Airflow releases the suite also runs against (the newest of each minor on PyPI),
# each in its own environment made by uv, with the pins in scripts/airflow-<minor>-pins.txt.
AIRFLOW_MATRIX="3.1.8 3.2.2"
# The half of the 3.3 suite that runs in a pytest process of its own (about half its time).
DAG_FOLDERS=(tests/sensors tests/example_dags tests/decisions tests/hooks)

older_airflow() {  # older_airflow 3.1.8: install, then the suite (no system tests, strict style)
    local version="$1" minor="${1%.*}" env=".venv-af${1%.*}" pins=()
    if [ ! -x "$env/bin/python" ]; then
        .venv/bin/uv venv --quiet --python .venv/bin/python "$env" || return
    fi
    if [ -f "scripts/airflow-$minor-pins.txt" ]; then
        pins=(--constraint "scripts/airflow-$minor-pins.txt")
    fi
    # One install at a time (the editable build writes into the checkout); then the suites
    # run side by side.
    flock build/test-logs/.install.lock .venv/bin/uv pip install --quiet \
        --python "$env/bin/python" -e '.[test]' "apache-airflow==$version" "${pins[@]}" || return
    suite "$env/bin/python" --ignore=tests/system --answer-styles=strict -q -p no:cacheprovider
}

timed() {  # timed NAME command...: run it, log to build/test-logs/NAME.log, record its time
    local name="$1" start=$SECONDS rc=0
    shift
    "$@" >"build/test-logs/$name.log" 2>&1 || rc=$?
    echo "$name $rc $((SECONDS - start))" >>build/test-logs/summary
    return "$rc"
}

suite() {  # suite PYTHON pytest-arguments...: pytest, where collecting no tests is a failure
    local rc=0
    "$1" -m pytest "${@:2}" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: treating that as a failure" >&2
        rc=1
    fi
    return "$rc"
}

case "$job" in
test)
    bash scripts/debian_packages.sh
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/python -m mypy airflow_provider_offers
    if [ "$#" -gt 0 ]; then  # a chosen part of the suite: the main environment only
        suite .venv/bin/python "$@"
        exit
    fi
    started=$SECONDS
    rm -rf build/test-logs && mkdir -p build/test-logs
    # Five pytest runs at once: the system tests (the real Airflow stacks), the rest of the 3.3
    # suite in two halves (DAG_FOLDERS, and everything else), and the suite on each older
    # release; the docs, wheel and audit checks beside them. The runs wait often (on
    # dag.test()'s loops, real timeouts, the emulator, subprocesses, the stacks), so they share
    # 2 cores well; see docs/compatibility.md for the measured times.
    background=()
    timed airflow-3.3-system suite .venv/bin/python tests/system -p no:cacheprovider &
    background+=($!)
    timed airflow-3.3-dags suite .venv/bin/python "${DAG_FOLDERS[@]}" -p no:cacheprovider &
    background+=($!)
    for version in $AIRFLOW_MATRIX; do
        timed "airflow-${version%.*}" older_airflow "$version" &
        background+=($!)
    done
    {
        timed docs .venv/bin/python -m sphinx -W --keep-going -q -b html docs build/docs || true
        # The build writes into the checkout, as the older releases' editable installs do.
        timed wheel flock build/test-logs/.install.lock bash scripts/check_wheel.sh || true
        # Known vulnerabilities in the main environment, less scripts/audit-ignore.txt (its
        # log says "AUDIT DID NOT RUN" where PyPI's per-release API does not answer).
        timed audit .venv/bin/python scripts/audit_dependencies.py || true
    } &
    background+=($!)
    set +e
    suite .venv/bin/python --ignore=tests/system "${DAG_FOLDERS[@]/#/--ignore=}" -p no:cacheprovider
    echo "airflow-3.3 $? $((SECONDS - started))" >>build/test-logs/summary
    for job in "${background[@]}"; do wait "$job" || true; done
    set -e
    echo "== scripts/dev.sh test: name, exit code, seconds (logs in build/test-logs/)"
    cat build/test-logs/summary
    grep -h "AUDIT DID NOT RUN" build/test-logs/audit.log || true
    echo "total $((SECONDS - started)) s"
    failed=0
    while read -r name code _; do
        if [ "$code" -ne 0 ]; then
            failed=1
            [ -f "build/test-logs/$name.log" ] && { echo "== $name failed:"; tail -n 60 "build/test-logs/$name.log"; }
        fi
    done <build/test-logs/summary
    exit "$failed"
    ;;
demo)
    exec .venv/bin/python scripts/demo.py "$@"
    ;;
esac
