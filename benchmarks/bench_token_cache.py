"""Ratio benchmark: our client (one cached IMS token) vs. minting a token for every call.

The second approach is what ad-hoc scripts do (and what Adobe asks integrations not to do:
IMS may throttle clients that mint too many tokens). Both run against the in-process emulator,
in the same process and run, with one keep-alive HTTP connection each, so the difference is the
token round trip. On the real service IMS is a remote host, so the real gap is larger than
this local one. Prints the ratio measured now; it asserts nothing. `benchmarks/run.py` calls
`measure` against its emulator process (with its per-request latency) for the summary table.

    .venv/bin/python benchmarks/bench_token_cache.py [--calls 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.client import OfferLibraryClient
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.resources import TAGS
from airflow_provider_offers.emulator.server import run_emulator


def with_our_client(emulator, calls: int) -> float:
    ImsTokenSource.reset_cache()
    config = ClientConfig(
        client_id=emulator.client_id,
        client_secrets=(emulator.client_secret,),
        org_id=emulator.org_id,
        base_url=emulator.url,
        ims_url=emulator.url,
        token_cache="process",  # this process's cache only: no token left over from a round
    )
    started = time.perf_counter()
    with OfferLibraryClient(config) as client:
        for _ in range(calls):
            client.list_page(TAGS, limit=1)
    return time.perf_counter() - started


def with_a_token_per_call(emulator, calls: int) -> float:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "scope": "openid,AdobeID,read_organizations,additional_info.projectedProductContext",
    }
    started = time.perf_counter()
    with httpx.Client(base_url=emulator.url) as http:
        for _ in range(calls):
            token = http.post("/ims/token/v3", data=form).json()["access_token"]
            response = http.get(
                "/data/core/dps/tags",
                params={"limit": 1},
                headers={
                    "Authorization": f"Bearer {token}",
                    "x-api-key": emulator.client_id,
                    "x-gw-ims-org-id": emulator.org_id,
                    "x-sandbox-name": "prod",
                },
            )
            response.raise_for_status()
    return time.perf_counter() - started


def measure(emulator, calls: int, rounds: int) -> dict[str, float]:
    """Medians over `rounds`; `emulator` has url, credentials, `reset()` and `tokens_issued`."""
    ours, naive, tokens = [], [], []
    for _ in range(rounds):
        emulator.reset()
        ours.append(with_our_client(emulator, calls))
        tokens_ours = emulator.tokens_issued
        naive.append(with_a_token_per_call(emulator, calls))
        tokens.append((tokens_ours, emulator.tokens_issued - tokens_ours))
    return {
        "calls": calls,
        "ours_s": statistics.median(ours),
        "naive_s": statistics.median(naive),
        "tokens_ours": tokens[-1][0],
        "tokens_naive": tokens[-1][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with run_emulator() as emulator:
        figures = measure(emulator, args.calls, args.rounds)
    ours_s, naive_s = figures["ours_s"], figures["naive_s"]
    print(f"{args.calls} list calls per approach, median of {args.rounds} rounds")
    print(f"  our client (cached token):  {ours_s:.3f} s, tokens minted {figures['tokens_ours']}")
    print(f"  a token per call:           {naive_s:.3f} s, tokens minted {figures['tokens_naive']}")
    print(f"  ratio (token per call / ours): {naive_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
