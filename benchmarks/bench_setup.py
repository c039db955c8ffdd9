"""The whole-setup sync against its floor, measured in the same run.

    .venv/bin/python benchmarks/bench_setup.py [--scale 1.0] [--latency 0.02] [--concurrency 8]

At `--scale 1` the setup is the one issue 25 names: 1,000 placements, tags and rules, 10,000
offers (9,000 personalized, 1,000 fallback), 500 collections and 1,000 decisions, every
reference by name. Two measurements, each in a fresh sandbox of one emulator process with
`--latency` seconds before every answer:

- the first sync into an empty sandbox (everything created), and
- an unchanged re-sync (only listings),

each for (a) `SyncOfferLibraryOperator.execute()` and (c) the floor: raw `httpx`, a token
fetched before the clock starts, the same concurrency, only the necessary requests (one paged
listing of every collection, then the creates kind by kind, ids filled in from the answers).
Prints a Markdown table with the ratios (a)/(c). Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import httpx
from harness import DPS, IMS_FORM, WEB, emulator_process, log

#: (document key, collection path, query) in the order a setup is created.
ORDER = (
    ("placements", "/placements", {}),
    ("tags", "/tags", {}),
    ("rules", "/offer-rules", {}),
    ("ranking_formulas", "/ranking-formulas", {}),
    ("personalized_offers", "/offers", {"offer-type": "personalized"}),
    ("fallback_offers", "/offers", {"offer-type": "fallback"}),
    ("collections", "/offer-collections", {}),
    ("decisions", "/offer-decisions", {}),
)


def setup_document(scale: float) -> dict[str, list[dict]]:
    """Every kind, references by name: a decision's fallback covers its one placement."""
    p, t, r = (max(1, round(1000 * scale)) for _ in range(3))
    fallbacks, personalized = max(1, round(1000 * scale)), max(1, round(9000 * scale))
    c, d = max(1, round(500 * scale)), max(1, round(1000 * scale))

    def offer(name: str, placement: int, **fields: Any) -> dict:
        component = {"type": "html", "format": "text/html", "content": f"<p>{name}</p>"}
        representation = {"channel": WEB, "placement": {"name": f"P{placement}"}}
        return {
            "name": name,
            "status": "approved",
            "representations": [{**representation, "components": [component]}],
            **fields,
        }

    rule = {"type": "PQL", "format": "pql/text", "value": 'profile.tier = "gold"'}
    return {
        "placements": [
            {"name": f"P{i}", "componentType": "html", "channel": WEB} for i in range(p)
        ],
        "tags": [{"name": f"T{i}"} for i in range(t)],
        "rules": [{"name": f"R{i}", "condition": rule} for i in range(r)],
        "personalized_offers": [
            offer(
                f"O{i}",
                i % p,
                tags=[{"name": f"T{i % t}"}],
                selectionConstraint={
                    "profileConstraintType": "eligibilityRule",
                    "eligibilityRule": {"name": f"R{i % r}"},
                },
            )
            for i in range(personalized)
        ],
        "fallback_offers": [offer(f"F{i}", i % p) for i in range(fallbacks)],
        "collections": [
            {"name": f"C{i}", "filterType": "any-tags", "ids": [{"name": f"T{i % t}"}]}
            for i in range(c)
        ],
        "decisions": [
            {
                "name": f"D{i}",
                "status": "draft",
                "fallback": {"name": f"F{i % fallbacks}"},
                "criteria": [
                    {
                        "placements": [{"name": f"P{(i % fallbacks) % p}"}],
                        "profileConstraint": {"profileConstraintType": "none"},
                        "optionSelection": {"filter": {"name": f"C{i % c}"}},
                    }
                ],
            }
            for i in range(d)
        ],
    }


def with_operator(emulator: Any, sandbox: str, document: dict, concurrency: int) -> float:
    conn_id = f"bench_{sandbox}"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(emulator.connection(sandbox))
    from airflow_provider_offers.operators.catalog import SyncOfferLibraryOperator

    operator = SyncOfferLibraryOperator(
        task_id="sync",
        objects=document,
        catalog="bench",
        max_concurrency=concurrency,
        adobe_conn_id=conn_id,
    )
    started = time.perf_counter()
    operator.execute(context={})  # type: ignore[arg-type]
    return time.perf_counter() - started


async def _floor(emulator: Any, headers: dict, document: dict, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=emulator.url, headers=headers, limits=limits, timeout=120
    ) as http:

        async def listing(path: str, query: dict) -> dict[str, str]:
            found: dict[str, str] = {}
            url: str | None = path
            params: dict | None = {**query, "limit": "100", "orderby": "id"}
            while url:
                page = (await http.get(DPS + url, params=params)).raise_for_status().json()
                found.update((item["name"], item["id"]) for item in page["results"])
                href = page.get("_links", {}).get("next", {}).get("href")
                url, params = (href.removeprefix(DPS) if href else None), None
            return found

        listed = await asyncio.gather(*(listing(path, query) for _, path, query in ORDER))
        ids = {key: found for (key, _, _), found in zip(ORDER, listed, strict=True)}
        # The member holding a reference -> the kind it names (this document's references).
        kinds = {
            "tags": "tags",
            "ids": "tags",
            "placement": "placements",
            "placements": "placements",
            "eligibilityRule": "rules",
            "fallback": "fallback_offers",
            "filter": "collections",
        }

        def fill(value: Any, member: str | None = None) -> Any:
            if isinstance(value, dict) and list(value) == ["name"] and member in kinds:
                return ids[kinds[member]][value["name"]]
            if isinstance(value, dict):
                return {k: fill(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(item, member) for item in value]
            return value

        async def create_missing(key: str, path: str, query: dict) -> None:
            todo = iter([body for body in document.get(key, ()) if body["name"] not in ids[key]])

            async def worker() -> None:
                for body in todo:
                    answer = await http.post(DPS + path, params=query, json=fill(body))
                    ids[key][body["name"]] = answer.raise_for_status().json()["id"]

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        for key, path, query in ORDER:
            await create_missing(key, path, query)


def at_the_floor(emulator: Any, sandbox: str, document: dict, concurrency: int) -> float:
    token = httpx.post(emulator.url + "/ims/token/v3", data=IMS_FORM).raise_for_status().json()
    headers = emulator.gateway_headers(token["access_token"], sandbox)
    started = time.perf_counter()
    asyncio.run(_floor(emulator, headers, document, concurrency))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    document = setup_document(args.scale)
    objects = sum(len(v) for v in document.values())
    rows = []
    with emulator_process(args.latency) as emulator:
        for scenario in ("first sync (creates)", "unchanged re-sync"):
            measured = {}
            for name, approach in (("a", with_operator), ("c", at_the_floor)):
                sandbox = f"bench-{name}"
                log(f"{scenario}: ({name}) into {sandbox} ...")
                measured[name] = approach(emulator, sandbox, document, args.concurrency)
            rows.append((scenario, measured["a"], measured["c"]))
    print(
        f"Whole setup: {objects:,} objects, latency {args.latency * 1000:.0f} ms, "
        f"concurrency {args.concurrency}\n"
    )
    print("| scenario | (a) SyncOfferLibraryOperator | (c) raw httpx floor | (a)/(c) |")
    print("| --- | --- | --- | --- |")
    for scenario, a, c in rows:
        print(f"| {scenario} | {a:.2f} s | {c:.2f} s | {a / c:.2f}x |")


if __name__ == "__main__":
    main()
