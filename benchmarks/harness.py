"""What the benchmarks share: the emulator in its own process, request counts, catalogs, workers.

The emulator runs as `python -m airflow_provider_offers.emulator` in a separate process so the
client under test and the server never share one GIL or event loop. Each measured sync runs in
a fresh worker process too (`python benchmarks/workers.py SPEC`), so every approach starts with
the same cold state (no token cache, no warm pool) and its peak memory is its own.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from airflow_provider_offers.emulator.__main__ import LISTENING
from airflow_provider_offers.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORG_ID,
)

HERE = Path(__file__).resolve().parent
DPS = "/data/core/dps"
WEB = "https://ns.adobe.com/xdm/channel-types/web"
IMS_FORM = {
    "grant_type": "client_credentials",
    "client_id": DEFAULT_CLIENT_ID,
    "client_secret": DEFAULT_CLIENT_SECRET,
    "scope": "openid,AdobeID,read_organizations,additional_info.projectedProductContext",
}


def log(message: str) -> None:
    """Progress goes to stderr: stdout is the Markdown table only."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Endpoint:
    """Where a worker finds the emulator, with the credentials it accepts."""

    url: str
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    org_id: str = DEFAULT_ORG_ID

    def gateway_headers(self, token: str, sandbox: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": sandbox,
        }

    def connection(self, sandbox: str) -> dict[str, Any]:
        """The Airflow connection (AIRFLOW_CONN_* JSON) a DAG would use for this emulator."""
        return {
            "conn_type": "adobe_offers",
            "host": self.url,
            "login": self.client_id,
            "password": self.client_secret,
            "extra": {"org_id": self.org_id, "sandbox_name": sandbox, "ims_url": self.url},
        }


class EmulatorProcess:
    """The running emulator process: its endpoint and its controls over HTTP (`/_emulator/`)."""

    def __init__(self, endpoint: Endpoint, process: subprocess.Popen) -> None:
        self.endpoint = endpoint
        self.process = process
        self.http = httpx.Client(base_url=endpoint.url, timeout=120)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.endpoint, name)  # url, client_id, client_secret, org_id

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """A control call; a POST always carries JSON (the emulator refuses anything else)."""
        sent = {} if body is None and method == "POST" else body
        response = self.http.request(method, f"/_emulator/{name}", json=sent)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def configure(self, **changes: Any) -> None:
        self.control("POST", "configure", changes)

    @property
    def tokens_issued(self) -> int:
        return self.control("GET", "tokens")["tokens_issued"]

    def request_log(self) -> list[dict[str, Any]]:
        return self.control("GET", "requests")

    def request_count(self) -> int:
        return len(self.request_log())

    def placement(self, sandbox: str) -> str:
        """A web image-link placement in `sandbox` (what every benchmark offer is shown in)."""
        token = self.http.post("/ims/token/v3", data=IMS_FORM).raise_for_status().json()
        response = self.http.post(
            f"{DPS}/placements",
            json={"name": "Benchmark banner", "componentType": "imagelink", "channel": WEB},
            headers=self.endpoint.gateway_headers(token["access_token"], sandbox),
        )
        return response.raise_for_status().json()["id"]


@contextmanager
def emulator_process(latency: float) -> Iterator[EmulatorProcess]:
    """`python -m airflow_provider_offers.emulator --port 0 --latency L`, stopped on exit."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_offers.emulator",
            "--port",
            "0",
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = LISTENING.search(line)
        if not found:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        emulator = EmulatorProcess(Endpoint(found.group(1)), process)
        try:
            yield emulator
        finally:
            emulator.http.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- what the emulator received ------------------------------------------------------------

KINDS = ("token", "list", "look-up", "GET", "POST", "PATCH", "DELETE", "other")


def request_kind(entry: dict[str, Any]) -> str:
    path, method = entry["path"], entry["method"]
    if path.startswith("/ims/"):
        return "token"
    if path == f"{DPS}/offers" and method == "GET":
        return "look-up" if entry["query"].get("property") else "list"
    if path.startswith(f"{DPS}/offers") and method in KINDS:
        return method
    if path.startswith(f"{DPS}/"):
        resource, *entity = path[len(DPS) + 1 :].split("/")
        if method == "GET" and not entity:
            return f"{resource} list"  # e.g. the placements the offers name
        return f"{method} {resource}"
    return "other"


@dataclass
class RequestCounts:
    """How many requests of each kind the emulator received, and how many were refused."""

    by_kind: dict[str, int]
    refused: int  # answered with a status >= 400 (401, 409, 429, ...)

    @classmethod
    def of(cls, entries: list[dict[str, Any]]) -> RequestCounts:
        counter = collections.Counter(request_kind(e) for e in entries)
        refused = sum(1 for e in entries if (e.get("status") or 0) >= 400)
        ordered = sorted(counter, key=lambda k: KINDS.index(k) if k in KINDS else len(KINDS))
        return cls({kind: counter[kind] for kind in ordered}, refused)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    @property
    def writes(self) -> int:
        return sum(self.by_kind.get(kind, 0) for kind in ("POST", "PATCH", "DELETE"))

    def describe(self) -> str:
        parts = [f"{n:,} {kind}" for kind, n in self.by_kind.items()]
        if self.refused:
            parts.append(f"{self.refused:,} refused")
        return ", ".join(parts)


# -- catalogs ------------------------------------------------------------------------------


def catalog(size: int, placement: str, changed_every: int = 0, version: int = 1) -> list[dict]:
    """`size` approved fallback offers with one web image for `placement`.

    With `changed_every=20`, every 20th offer (5%) gets description version `version`.
    """
    offers = []
    for i in range(size):
        changed = changed_every and i % changed_every == 0
        offers.append(
            {
                "name": f"Benchmark offer {i:05d}",
                "description": f"Offer {i} of the benchmark catalog, v{version if changed else 1}",
                "status": "approved",
                "representations": [
                    {
                        "channel": WEB,
                        "placement": placement,
                        "components": [
                            {
                                "type": "imagelink",
                                "format": "image/png",
                                "deliveryURL": f"https://cdn.example.com/offers/{i}.png",
                            }
                        ],
                    }
                ],
            }
        )
    return offers


# -- workers -------------------------------------------------------------------------------


@dataclass
class WorkerResult:
    seconds: float
    peak_rss_mb: float  # the worker process's peak resident memory (ru_maxrss)
    rss_before_mb: float  # its resident memory just before the sync started
    summary: dict[str, Any]


def run_worker(approach: str, endpoint: Endpoint, **spec: Any) -> WorkerResult:
    """Run one measurement in a fresh process (`workers.py`); returns what it measured."""
    with tempfile.TemporaryDirectory(prefix="offers-bench-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(
            json.dumps({"approach": approach, "endpoint": asdict(endpoint), **spec})
        )
        # Airflow's own defaults (task logs at INFO), in a throwaway home.
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        done = subprocess.run(
            [sys.executable, str(HERE / "workers.py"), str(spec_file)],
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"worker {approach} failed:\n{done.stdout[-3000:]}{done.stderr[-5000:]}")
    return WorkerResult(**json.loads(done.stdout.strip().splitlines()[-1]))
