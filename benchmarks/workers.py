"""One measurement in a fresh process: `python benchmarks/workers.py SPEC.json` (run.py does it).

The three ways to sync a catalog of offers into a sandbox, each timed from its first request
to its last (imports, reading the catalog and the floor's pre-fetched token excluded):

- (a) `sync_with_operator`: this package, `SyncFallbackOffersOperator.execute` with the
  connection from an `AIRFLOW_CONN_*` variable, as an Airflow worker runs it;
- (b) `sync_with_requests_loop`: what a user writes without it: one task, a fresh IMS token,
  then sequentially per offer a look-up by name and a POST, or a PATCH when it differs;
- (c) `sync_at_the_floor`: raw `httpx.AsyncClient`, one pre-fetched token, the same
  concurrency, only the strictly necessary requests (one paged listing, then POST/PATCH).

Plus `hook_overhead`: the hook's per-call time against raw httpx for the same GET.

Each approach sets up untimed (imports, token where pre-fetched) and returns the timed part.
Prints one JSON line: seconds, peak_rss_mb, rss_before_mb (just before the timed part), summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import DPS, IMS_FORM, Endpoint

FALLBACK = {"offer-type": "fallback"}

#: What an approach's set-up returns: the part that is timed, returning a summary.
Run = Callable[[], dict]


def rss_mb() -> float:
    """Resident memory now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def changed_fields(existing: dict[str, Any], wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """The smallest top-level JSON Patch a hand-written script would send (no etag guard)."""
    return [
        {"op": "replace" if key in existing else "add", "path": f"/{key}", "value": value}
        for key, value in wanted.items()
        if existing.get(key) != value
    ]


# -- (a) this package ------------------------------------------------------------------------


def sync_with_operator(endpoint: Endpoint, spec: dict[str, Any], offers: list[dict]) -> Run:
    """`SyncFallbackOffersOperator` as a worker runs it: connection from the environment.

    Timed: `execute()`, including the imports it makes on first use (a task pays them).
    """
    conn_id = "offers_benchmark"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(endpoint.connection(spec["sandbox"]))
    from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator

    operator = SyncFallbackOffersOperator(
        task_id="sync_offers",
        offers=offers,
        catalog="benchmark",
        max_concurrency=spec["concurrency"],
        adobe_conn_id=conn_id,
    )

    def run() -> dict:
        result = operator.execute(context={})  # type: ignore[arg-type]
        if not isinstance(result, dict):
            return {"result": repr(result)[:200]}
        return {"result": {k: v for k, v in result.items() if k != "plan"}}

    return run


# -- (b) the hand-written loop ---------------------------------------------------------------


def sync_with_requests_loop(endpoint: Endpoint, spec: dict[str, Any], offers: list[dict]) -> Run:
    """One task: a fresh token, then per offer a look-up by name, then POST or PATCH.

    A careful user: one `requests.Session` (keep-alive), and no PATCH when nothing differs.
    """
    import requests

    return lambda: _requests_loop(requests, endpoint, spec["sandbox"], offers)


def _requests_loop(requests: Any, endpoint: Endpoint, sandbox: str, offers: list[dict]) -> dict:
    base = endpoint.url + DPS
    created = updated = 0
    with requests.Session() as session:
        token = session.post(endpoint.url + "/ims/token/v3", data=IMS_FORM)
        token.raise_for_status()
        headers = endpoint.gateway_headers(token.json()["access_token"], sandbox)
        for offer in offers:
            found = session.get(
                f"{base}/offers",
                params={**FALLBACK, "property": f"name=={offer['name']}"},
                headers=headers,
            )
            found.raise_for_status()
            results = found.json()["results"]
            if not results:
                session.post(
                    f"{base}/offers", params=FALLBACK, json=offer, headers=headers
                ).raise_for_status()
                created += 1
                continue
            operations = changed_fields(results[0], offer)
            if operations:
                session.patch(
                    f"{base}/offers/{results[0]['id']}",
                    params=FALLBACK,
                    json=operations,
                    headers=headers,
                ).raise_for_status()
                updated += 1
    return {"result": {"created": created, "updated": updated}}


# -- (c) the floor ---------------------------------------------------------------------------


def sync_at_the_floor(endpoint: Endpoint, spec: dict[str, Any], offers: list[dict]) -> Run:
    """The token is fetched before the clock starts."""
    import httpx

    token = httpx.post(endpoint.url + "/ims/token/v3", data=IMS_FORM).raise_for_status()
    headers = endpoint.gateway_headers(token.json()["access_token"], spec["sandbox"])

    def run() -> dict:
        created, updated = asyncio.run(_floor(endpoint, headers, offers, spec["concurrency"]))
        return {"result": {"created": created, "updated": updated}}

    return run


async def _floor(
    endpoint: Endpoint, headers: dict[str, str], offers: list[dict], concurrency: int
) -> tuple[int, int]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=endpoint.url, headers=headers, limits=limits, timeout=60
    ) as http:
        existing: dict[str, dict] = {}
        url: str | None = f"{DPS}/offers?offer-type=fallback&limit=100"
        while url:
            page = (await http.get(url)).raise_for_status().json()
            existing.update((item["name"], item) for item in page["results"])
            href = page.get("_links", {}).get("next", {}).get("href")
            url = None if not href else href if href.startswith(("http", DPS)) else DPS + href
        writes: list[tuple[str, str, Any]] = []
        for offer in offers:
            current = existing.get(offer["name"])
            if current is None:
                writes.append(("POST", f"{DPS}/offers", offer))
            elif operations := changed_fields(current, offer):
                writes.append(("PATCH", f"{DPS}/offers/{current['id']}", operations))
        queue = iter(writes)

        async def worker() -> None:
            for method, path, body in queue:
                response = await http.request(method, path, params=FALLBACK, json=body)
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    created = sum(1 for method, _, _ in writes if method == "POST")
    return created, len(writes) - created


# -- the hook's per-call overhead ------------------------------------------------------------


def hook_overhead(endpoint: Endpoint, spec: dict[str, Any], offers: list[dict]) -> Run:
    """Median time per `hook.get_offer(id)` vs the same GET with raw httpx, rounds interleaved.

    Both keep one connection open and one token; the hook also builds the request id,
    decodes the answer into a `FallbackOffer` and masks the token.
    """
    import httpx

    conn_id = "offers_benchmark"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(endpoint.connection(spec["sandbox"]))
    from airflow_provider_offers.hooks.offers import OfferLibraryHook

    offer_id = spec["offer_id"]
    token = httpx.post(endpoint.url + "/ims/token/v3", data=IMS_FORM).raise_for_status()
    headers = endpoint.gateway_headers(token.json()["access_token"], spec["sandbox"])
    hook = OfferLibraryHook(adobe_conn_id=conn_id)
    hook.get_offer(offer_id)  # warm: connection read, token, pool
    return lambda: _interleaved(hook, endpoint, headers, offer_id, spec)


def _interleaved(hook: Any, endpoint: Endpoint, headers: dict, offer_id: str, spec: dict) -> dict:
    import httpx

    calls = spec["calls"]
    raw_times, hook_times = [], []
    with httpx.Client(base_url=endpoint.url, headers=headers) as http:
        http.get(f"{DPS}/offers/{offer_id}", params=FALLBACK).raise_for_status()

        def raw_call() -> None:
            http.get(f"{DPS}/offers/{offer_id}", params=FALLBACK).raise_for_status().json()

        def hook_call() -> None:
            hook.get_offer(offer_id)

        pairs = [(raw_call, raw_times), (hook_call, hook_times)]
        for turn in range(spec["rounds"]):
            for call, times in pairs if turn % 2 == 0 else pairs[::-1]:  # alternate who is first
                started = time.perf_counter()
                for _ in range(calls):
                    call()
                times.append((time.perf_counter() - started) / calls)
    hook.close()
    raw, ours = statistics.median(raw_times), statistics.median(hook_times)
    return {"result": {"raw_ms": raw * 1000, "hook_ms": ours * 1000, "calls": calls}}


APPROACHES: dict[str, Callable[[Endpoint, dict[str, Any], list[dict]], Run]] = {
    "a": sync_with_operator,
    "b": sync_with_requests_loop,
    "c": sync_at_the_floor,
    "hook": hook_overhead,
}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    endpoint = Endpoint(**spec.pop("endpoint"))
    offers = json.loads(Path(spec["offers_file"]).read_text()) if spec.get("offers_file") else []
    run = APPROACHES[spec["approach"]](endpoint, spec, offers)
    rss_before = rss_mb()
    started = time.perf_counter()
    summary = run()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": rss_before,
                "summary": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
