#!/usr/bin/env bash
# The package as users get it: build the sdist and wheel (`python -m build`), check them
# (`twine check --strict`), install the wheel (not editable) into a fresh environment, and from
# there check the provider's entry point and run example_fallback_offer_setup against the
# emulator started by the `offers-emulator` console script (scripts/demo.py). A file or entry
# point missing from the package fails here. Run by `bash scripts/dev.sh test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rm -rf dist build/wheel-env
.venv/bin/python -m build --sdist --wheel --outdir dist . >/dev/null
.venv/bin/twine check --strict dist/*
sdist_files="$(tar -tzf dist/*.tar.gz)"
for member in LICENSE CHANGELOG.md README.md airflow_provider_offers/py.typed; do
    grep -q "/$member\$" <<<"$sdist_files" || { echo "the sdist lacks $member" >&2; exit 1; }
done
.venv/bin/uv venv --quiet --python .venv/bin/python build/wheel-env
.venv/bin/uv pip install --quiet --python build/wheel-env/bin/python dist/*.whl
# Away from the clone, so nothing can import the package from the source tree.
away="$(mktemp -d)"
trap 'rm -rf "$away"' EXIT
cd "$away"
env="$root/build/wheel-env/bin"
"$env/python" - <<'PY'
import airflow_provider_offers, importlib.metadata as metadata
assert "site-packages" in airflow_provider_offers.__file__, airflow_provider_offers.__file__
dist = metadata.distribution("airflow-provider-offers")
assert dist.read_text("direct_url.json") is None or '"editable"' not in dist.read_text("direct_url.json")
files = {str(f) for f in dist.files}
for needed in ("airflow_provider_offers/py.typed", "airflow_provider_offers/emulator/server.py"):
    assert needed in files, f"the wheel lacks {needed}"
print("installed from the wheel:", airflow_provider_offers.__file__, airflow_provider_offers.__version__)
PY
providers="$(AIRFLOW_HOME="$away/airflow" "$env/airflow" providers list --output plain 2>&1)"
grep -q "airflow-provider-offers" <<<"$providers" || {
    echo "airflow providers list does not show the provider:" >&2
    echo "$providers" | tail -n 20 >&2
    exit 1
}
"$env/python" "$root/scripts/demo.py"
