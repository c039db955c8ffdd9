"""Benchmarks of the offer-catalog sync, against baselines measured in the same run.

    .venv/bin/python benchmarks/run.py [--latency 0.02] [--offers 2000] [--large 10000]

Prints a Markdown table on stdout (progress on stderr). The emulator runs in its own process
with `--latency` seconds added before every answer (standing in for the network); each sync
runs in a fresh worker process (see workers.py for the three approaches). Request counts are
what the emulator logged (`/_emulator/requests`). Nothing here asserts a timing: the figures
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_token_cache import measure as measure_token_cache
from harness import (
    DPS,
    IMS_FORM,
    EmulatorProcess,
    RequestCounts,
    WorkerResult,
    catalog,
    emulator_process,
    log,
    run_worker,
)

APPROACHES = {
    "a": "(a) SyncFallbackOffersOperator",
    "b": "(b) sequential `requests` loop",
    "c": "(c) raw httpx floor",
}
RESYNC_CHANGED_EVERY = 20  # 5% of the offers change between the first sync and the re-sync


@dataclass
class Measured:
    """One approach on one scenario: time (extrapolated when measured on a sample) and requests."""

    approach: str
    seconds: float
    requests: RequestCounts
    worker: WorkerResult
    sample: int | None = None  # measured on this many offers, time scaled to the full catalog
    runs: int = 1  # the median of this many series

    def cell(self) -> str:
        median = f" (median of {self.runs})" if self.runs > 1 else ""
        if self.sample is None:
            return f"{self.seconds:.2f} s{median} · {self.requests.total:,} req"
        return f"≈{self.seconds:.1f} s · {self.requests.total:,} req on {self.sample:,} (scaled)"


def operator_available() -> bool:
    """Whether the sync operator exists in this checkout (without importing Airflow here)."""
    probe = "from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def measure(
    emulator: EmulatorProcess, approach: str, sandbox: str, offers: list[dict], **spec: Any
) -> tuple[WorkerResult, RequestCounts]:
    """Run one approach in a worker on `offers`; what it took and what the emulator received."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(offers, file)
    try:
        before = emulator.request_count()
        result = run_worker(
            approach, emulator.endpoint, sandbox=sandbox, offers_file=file.name, **spec
        )
        counts = RequestCounts.of(emulator.request_log()[before:])
    finally:
        Path(file.name).unlink()
    log(
        f"  {approach} {sandbox}: {result.seconds:.2f} s, {counts.describe()}; "
        f"{json.dumps(result.summary.get('result'))}"
    )
    return result, counts


SCENARIOS = ("empty", "changed", "unchanged")


def sync_scenarios(
    emulator: EmulatorProcess,
    approaches: list[str],
    size: int,
    sample: int,
    concurrency: int,
    repeat: int,
) -> dict[str, dict[str, Measured]]:
    """Empty sandbox, re-sync with 5% changed, re-sync unchanged, in a new sandbox per series.

    (a) and (c) run `repeat` series, alternating, and report each scenario's median; the slow
    baseline (b) runs one series (on `sample` offers if fewer than `size`).
    """
    runs: dict[str, dict[str, list[Measured]]] = {s: {} for s in SCENARIOS}
    for series in range(repeat):
        for approach in approaches:
            if approach == "b" and series > 0:
                continue
            emulator.reset()  # bounds the request log; every worker starts without a token
            sandbox = f"bench-{approach}-{size}-{series}"
            placement = emulator.placement(sandbox)
            count = sample if approach == "b" and sample < size else size
            first = catalog(count, placement)
            changed = catalog(count, placement, changed_every=RESYNC_CHANGED_EVERY, version=2)
            log(f"{APPROACHES[approach]}, {count:,} offers, series {series + 1}")
            for scenario, offers in zip(SCENARIOS, (first, changed, changed), strict=True):
                result, counts = measure(
                    emulator, approach, sandbox, offers, concurrency=concurrency
                )
                scaled = count < size
                runs[scenario].setdefault(approach, []).append(
                    Measured(
                        approach,
                        result.seconds * size / count if scaled else result.seconds,
                        counts,
                        result,
                        sample=count if scaled else None,
                    )
                )
    return {s: {a: median(m) for a, m in by_approach.items()} for s, by_approach in runs.items()}


def median(runs: list[Measured]) -> Measured:
    """The run with the median time (the lower middle one of an even number), and how many."""
    chosen = sorted(runs, key=lambda m: m.seconds)[(len(runs) - 1) // 2]
    chosen.runs = len(runs)
    return chosen


def large_sync(
    emulator: EmulatorProcess, approaches: list[str], size: int, concurrency: int
) -> dict[str, Measured]:
    measured = {}
    for approach in approaches:
        emulator.reset()
        sandbox = f"bench-{approach}-{size}"
        offers = catalog(size, emulator.placement(sandbox))
        log(f"{APPROACHES[approach]}, {size:,} offers into an empty sandbox")
        result, counts = measure(emulator, approach, sandbox, offers, concurrency=concurrency)
        measured[approach] = Measured(approach, result.seconds, counts, result)
    return measured


def hook_overhead(emulator: EmulatorProcess, calls: int, rounds: int) -> dict[str, Any]:
    """The hook's GET of one offer vs raw httpx's, with no added latency."""
    emulator.reset()
    emulator.configure(latency_seconds=0)
    sandbox = "bench-hook"
    offer = catalog(1, emulator.placement(sandbox))[0]
    token = emulator.http.post("/ims/token/v3", data=IMS_FORM).raise_for_status().json()
    created = emulator.http.post(
        f"{DPS}/offers",
        params={"offer-type": "fallback"},
        json=offer,
        headers=emulator.endpoint.gateway_headers(token["access_token"], sandbox),
    )
    offer_id = created.raise_for_status().json()["id"]
    log(f"hook overhead: {calls} GETs x {rounds} rounds each, interleaved, no added latency")
    result, counts = measure(
        emulator, "hook", sandbox, [], offer_id=offer_id, calls=calls, rounds=rounds
    )
    emulator.reset()  # back to the configured latency
    return {**result.summary["result"], "requests": counts}


IMPORT_PROBE = """
import time
import airflow.sdk
started = time.perf_counter()
import airflow_provider_offers.operators.offers
print(time.perf_counter() - started)
"""
SDK_PROBE = """
import time
started = time.perf_counter()
import airflow.sdk
print(time.perf_counter() - started)
"""


def import_cost(runs: int) -> dict[str, float]:
    """Median seconds over `runs` fresh processes: the operators module after airflow.sdk."""

    def median_of(probe: str) -> float:
        times = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            )
            times.append(float(done.stdout.strip().splitlines()[-1]))
        return statistics.median(times)

    log(f"import cost: {runs} fresh processes each")
    return {"operators": median_of(IMPORT_PROBE), "sdk": median_of(SDK_PROBE)}


# -- the report --------------------------------------------------------------------------------


def ratio(numerator: Measured | None, denominator: Measured | None) -> str:
    if numerator is None or denominator is None:
        return "-"
    return f"{numerator.seconds / denominator.seconds:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    from importlib.metadata import version

    return (
        f"{platform.system()} {platform.machine()}, {_nproc()} CPU(s) ({cpu}), "
        f"Python {platform.python_version()}, Airflow {version('apache-airflow')}, "
        f"httpx {version('httpx')}"
    )


def _nproc() -> str:
    return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or "?"


def report(
    args: argparse.Namespace,
    scenarios: dict[str, dict[str, Measured]],
    large: dict[str, Measured],
    hook: dict[str, Any] | None,
    tokens: dict[str, float] | None,
    imports: dict[str, float] | None,
    started: float,
) -> str:
    n, big = f"{args.offers:,}", f"{args.large:,}"
    titles = {
        "empty": f"{n} offers into an empty sandbox",
        "changed": f"re-sync of {n}, 5% changed",
        "unchanged": f"re-sync of {n}, unchanged",
    }
    lines = [
        f"Emulator latency {args.latency * 1000:g} ms per request, max_concurrency "
        f"{args.concurrency}; time · requests the emulator received.",
        "",
        f"| scenario | {APPROACHES['a']} | {APPROACHES['b']} | {APPROACHES['c']} | a/b | a/c |",
        "|---|---|---|---|---|---|",
    ]

    def cells(row: dict[str, Measured]) -> list[str]:
        return [row[k].cell() if k in row else "pending" for k in ("a", "b", "c")]

    for key, title in titles.items():
        row = scenarios.get(key, {})
        a, b, c = (row.get(k) for k in "abc")
        lines.append(f"| {title} | {' | '.join(cells(row))} | {ratio(a, b)} | {ratio(a, c)} |")
    if large:
        a, c = large.get("a"), large.get("c")
        memory = ""
        if a:
            grew = a.worker.peak_rss_mb - a.worker.rss_before_mb
            memory = f" (peak RSS {a.worker.peak_rss_mb:.0f} MB, +{grew:.0f} MB during the sync)"
        lines.append(
            f"| {big} offers into an empty sandbox | {cells(large)[0]}{memory} | not run "
            f"| {cells(large)[2]} | - | {ratio(a, c)} |"
        )
    lines += [
        "",
        "Requests by kind (token, list page, look-up by name, GET/POST/PATCH/DELETE of an offer):",
        "",
    ]
    lines += ["| scenario | approach | requests |", "|---|---|---|"]
    for key, title in titles.items():
        for approach, measured in scenarios.get(key, {}).items():
            sample = f" (on {measured.sample:,} offers)" if measured.sample else ""
            lines.append(f"| {title} | {approach} | {measured.requests.describe()}{sample} |")
    for approach, measured in large.items():
        lines.append(f"| {big} offers, empty | {approach} | {measured.requests.describe()} |")

    lines += ["", "| other figure | measured |", "|---|---|"]
    if hook:
        lines.append(
            f"| hook `get_offer` vs raw httpx GET, no added latency, median of "
            f"{args.rounds} x {hook['calls']} calls | {hook['hook_ms']:.2f} ms vs "
            f"{hook['raw_ms']:.2f} ms per call: {hook['hook_ms'] / hook['raw_ms']:.2f}x |"
        )
    if tokens:
        lines.append(
            f"| token cache: {tokens['calls']} list calls, our client vs a token per call "
            f"(latency {args.latency * 1000:g} ms) | {tokens['ours_s']:.2f} s "
            f"({tokens['tokens_ours']} token) vs {tokens['naive_s']:.2f} s "
            f"({tokens['tokens_naive']} tokens): {tokens['naive_s'] / tokens['ours_s']:.2f}x |"
        )
    if imports:
        lines.append(
            f"| import `airflow_provider_offers.operators.offers` after `airflow.sdk`, "
            f"median of {args.import_runs} fresh processes | {imports['operators'] * 1000:.1f} ms "
            f"(`airflow.sdk` itself: {imports['sdk'] * 1000:.0f} ms) |"
        )
    lines += ["", "Targets:", "", "| target | measured | met |", "|---|---|---|"]
    lines += targets(args, scenarios, large, hook, imports)
    lines += [
        "",
        f"Machine: {machine()}. One run, {time.time() - started:.0f} s in all, load average "
        f"{os.getloadavg()[1]:.1f} over its last 5 minutes: the cores were shared with other "
        "work, so the figures are noisy.",
        "",
        f"Command: `{' '.join(['.venv/bin/python benchmarks/run.py', *sys.argv[1:]])}`",
    ]
    return "\n".join(lines)


def targets(
    args: argparse.Namespace,
    scenarios: dict[str, dict[str, Measured]],
    large: dict[str, Measured],
    hook: dict[str, Any] | None,
    imports: dict[str, float] | None,
) -> list[str]:
    rows = []

    def row(target: str, measured: str, met: bool | None) -> None:
        rows.append(
            f"| {target} | {measured} | {'pending' if met is None else 'yes' if met else 'no'} |"
        )

    empty = scenarios.get("empty", {})
    if "a" in empty and "b" in empty:
        speedups = [
            s[key]["b"].seconds / s[key]["a"].seconds
            for key, s in ((k, scenarios) for k in ("empty", "changed", "unchanged"))
            if "a" in s.get(key, {}) and "b" in s.get(key, {})
        ]
        row(
            "(a) at least 10x faster than (b)",
            ", ".join(f"{x:.1f}x" for x in speedups),
            min(speedups) >= 10,
        )
    else:
        row("(a) at least 10x faster than (b)", "-", None)
    at_size = [scenarios.get(key, {}) for key in SCENARIOS]
    sizes = [(f"{args.offers:,}", at_size)] + ([(f"{args.large:,}", [large])] if args.large else [])
    for label, rows_at_size in sizes:
        ratios = [r["a"].seconds / r["c"].seconds for r in rows_at_size if "a" in r and "c" in r]
        target = f"(a) within 1.25x of (c) at {label} offers"
        if ratios:
            row(target, ", ".join(f"{x:.2f}x" for x in ratios), max(ratios) <= 1.25)
        else:
            row(target, "-", None)
    unchanged = scenarios.get("unchanged", {}).get("a")
    if unchanged:
        by_kind = unchanged.requests.by_kind
        only_lists = all(kind == "token" or kind.endswith("list") for kind in by_kind)
        row("unchanged re-sync sends only list requests", unchanged.requests.describe(), only_lists)
    else:
        row("unchanged re-sync sends only list requests", "-", None)
    if not args.large:
        pass
    elif "a" in large:
        peak = large["a"].worker.peak_rss_mb
        row(
            f"peak memory at {args.large:,} offers under 200 MB",
            f"{peak:.0f} MB (worker process peak RSS)",
            peak < 200,
        )
    else:
        row(f"peak memory at {args.large:,} offers under 200 MB", "-", None)
    if hook:
        value = hook["hook_ms"] / hook["raw_ms"]
        row("hook overhead within 1.15x of raw httpx", f"{value:.2f}x", value <= 1.15)
    if imports:
        row(
            "importing the operators module adds under 50 ms",
            f"{imports['operators'] * 1000:.1f} ms",
            imports["operators"] < 0.05,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request (network)")
    parser.add_argument("--offers", type=int, default=2000, help="catalog size of the 3 scenarios")
    parser.add_argument("--large", type=int, default=10000, help="the large sync (0: skip)")
    parser.add_argument("--concurrency", type=int, default=8, help="max_concurrency of (a), (c)")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=0,
        help="run (b) on this many offers only and scale its time (0: the full catalog)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="series of (a) and (c) (median reported)"
    )
    parser.add_argument("--hook-calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the hook benchmark")
    parser.add_argument("--token-calls", type=int, default=100)
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument(
        "--only", default="a,b,c", help="approaches to run (comma-separated: a, b, c)"
    )
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    started = time.time()
    approaches = [a for a in ("c", "a", "b") if a in args.only.split(",")]
    if "a" in approaches and not operator_available():
        log("SyncFallbackOffersOperator is not in this checkout: (a) is reported as pending")
        approaches.remove("a")
    sample = args.baseline_sample or args.offers
    with emulator_process(args.latency) as emulator:
        log(f"emulator at {emulator.url}, latency {args.latency} s")
        scenarios = sync_scenarios(
            emulator, approaches, args.offers, sample, args.concurrency, args.repeat
        )
        large = (
            large_sync(emulator, [a for a in approaches if a != "b"], args.large, args.concurrency)
            if args.large
            else {}
        )
        hook = hook_overhead(emulator, args.hook_calls, args.rounds)
        log(f"token cache: {args.token_calls} calls x 3 rounds")
        tokens = measure_token_cache(emulator, args.token_calls, 3)
    imports = import_cost(args.import_runs)
    table = report(args, scenarios, large, hook, tokens, imports, started)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")


if __name__ == "__main__":
    main()
