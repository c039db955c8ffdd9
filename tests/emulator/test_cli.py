"""The emulator as a separate process (`python -m ...`), and its import hygiene."""

from __future__ import annotations

import subprocess
import sys

import httpx
from emulator_helpers import SCOPES


def test_cli_serves_with_given_credentials_and_http_controls():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_offers.emulator",
            "--port",
            "0",
            "--client-id",
            "cli-client",
            "--client-secret",
            "first",
            "--client-secret",
            "second",
            "--org-id",
            "CLIORG@AdobeOrg",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Offer Library emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        form = {
            "grant_type": "client_credentials",
            "client_id": "cli-client",
            "client_secret": "second",
            "scope": SCOPES,
        }
        token = httpx.post(url + "/ims/token/v3", data=form).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "x-api-key": "cli-client",
            "x-gw-ims-org-id": "CLIORG@AdobeOrg",
        }
        assert httpx.get(url + "/data/core/dps/tags", headers=headers).status_code == 200
        fault = {"method": "GET", "path_prefix": "/data/core/dps/tags", "status": 503}
        assert httpx.post(url + "/_emulator/faults", json=fault).status_code == 201
        assert httpx.get(url + "/data/core/dps/tags", headers=headers).status_code == 503
        logged = httpx.get(url + "/_emulator/requests").json()
        assert [r["status"] for r in logged] == [200, 200, 503]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.stdout.read() == ""  # a single line on start, nothing else


def test_emulator_imports_neither_airflow_nor_our_client():
    code = (
        "import sys\n"
        "import airflow_provider_offers.emulator.server\n"
        "import airflow_provider_offers.emulator.pytest_plugin\n"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', "
        "'airflow_provider_offers.api'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
