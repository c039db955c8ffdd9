"""The emulator as a separate process (`python -m ...`), and its import hygiene."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from emulator_helpers import SCOPES

from airflow_provider_offers.emulator import EmulatorConfig
from airflow_provider_offers.emulator.__main__ import LISTENING, config_from_args, parse_args


@contextmanager
def _cli(*args: str, host: str = "127.0.0.1") -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m airflow_provider_offers.emulator --port 0 *args`, and the URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_offers.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith(f"Offer Library emulator listening on http://{host}:")
        match = LISTENING.search(line)
        assert match is not None
        yield process, match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_serves_with_given_credentials_and_http_controls():
    args = ("--client-id", "cli-client", "--client-secret", "first", "--client-secret", "second")
    with _cli(*args, "--org-id", "CLIORG@AdobeOrg") as (process, url):
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
        shown = httpx.get(url + "/_emulator/config")
        assert shown.json()["client_secrets"] == ["***", "***"]
        assert '"first"' not in shown.text and '"second"' not in shown.text
        assert token not in httpx.get(url + "/_emulator/tokens").text
    assert process.stdout.read() == ""  # a single line on start, nothing else
    assert "reachable from the network" not in process.stderr.read()  # a loopback bind


def test_cli_warns_when_it_binds_beyond_loopback():
    with _cli("--host", "0.0.0.0", host="0.0.0.0") as (process, url):
        port = url.rpartition(":")[2]
        assert httpx.get(f"http://127.0.0.1:{port}/_emulator/health").status_code == 200
    warning = process.stderr.read()
    assert warning.startswith("warning: the emulator is reachable from the network (0.0.0.0)")
    assert "the client secret" in warning and "--host 127.0.0.1" in warning


def test_cli_answer_style_and_single_style_flags():
    args = ("--answer-style", "adobe-examples", "--create-status", "201", "--no-extra-members")
    with _cli(*args) as (_, url):
        config = httpx.get(url + "/_emulator/config").json()
    assert (config["answer_style"], config["create_status"], config["extra_members"]) == (
        "custom",
        201,
        False,
    )
    assert (config["string_etags"], config["next_link_form"]) == (True, "absolute")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], EmulatorConfig()),
        (["--answer-style", "adobe-examples"], EmulatorConfig.as_adobe_examples()),
        (
            [
                "--create-status=200",
                "--normalise-dates",
                "--next-link-form=path",
                "--extra-members",
                "--string-etags",
                "--start-as-sort-value",
                "--documented-decisioning-prefixes",
            ],
            EmulatorConfig.as_adobe_examples(next_link_form="path"),
        ),
    ],
)
def test_cli_style_flags_map_to_config_fields(flags, expected):
    assert config_from_args(parse_args(flags)) == expected


def test_cli_reports_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "airflow_provider_offers.emulator", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


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


def test_the_log_filter_comes_with_a_started_server_not_with_an_import():
    """Importing the emulator leaves uvicorn's logging alone; a started server keeps the
    connections its faults cut on purpose out of the error log."""
    code = (
        "import logging, httpx\n"
        "import airflow_provider_offers.emulator.server as server\n"
        "import airflow_provider_offers.emulator.pytest_plugin\n"
        "log = logging.getLogger('uvicorn.error')\n"
        "assert not log.filters, log.filters\n"
        "seen = []\n"
        "handler = logging.Handler()\n"
        "handler.emit = seen.append\n"
        "log.addHandler(handler)\n"
        "with server.run_emulator() as emulator:\n"
        "    emulator.inject_fault('POST', '/ims', drop_after_commit=True)\n"
        "    try:\n"
        "        httpx.post(emulator.url + '/ims/token/v3', data={})\n"
        "    except httpx.RemoteProtocolError:\n"
        "        pass\n"
        "    httpx.get(emulator.url + '/_emulator/health')\n"
        "assert [r for r in seen if r.levelno >= logging.ERROR] == [], seen\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_names_the_credentials_to_put_in_the_connection(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ("offers-emulator-client", "offers-emulator-secret", "EMULATOR0000000000000000"):
        assert default in shown


def test_latency_flag_delays_every_answer(offer_library_emulator):
    assert config_from_args(parse_args(["--latency", "0.25"])).latency_seconds == 0.25
    offer_library_emulator.configure(latency_seconds=0.25)
    with httpx.Client(base_url=offer_library_emulator.url) as http:
        answer = http.post("/ims/token/v3", data={"grant_type": "client_credentials"})
    assert answer.elapsed.total_seconds() >= 0.25


def test_random_fault_flags_and_the_printed_seed():
    flags = ["--fault-rate", "unavailable=0.1", "--fault-rate", "html_200=0.05", "--fault-seed=5"]
    config = config_from_args(parse_args(flags))
    assert (config.fault_rates, config.fault_seed) == (
        {"unavailable": 0.1, "html_200": 0.05},
        5,
    )
    with _cli("--fault-rate", "unavailable=1", "--fault-seed", "9") as (process, url):
        assert process.stdout.readline().strip() == "Random faults {'unavailable': 1.0}, seed 9"
        assert httpx.get(url + "/data/core/dps/tags").status_code == 503  # before any check
        assert httpx.get(url + "/_emulator/faults").json() == {
            "seed": 9,
            "counts": {"unavailable": 1},
        }
    bad = subprocess.run(
        [sys.executable, "-m", "airflow_provider_offers.emulator", "--fault-rate", "teapot=1"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "'teapot' is not one of" in bad.stderr
