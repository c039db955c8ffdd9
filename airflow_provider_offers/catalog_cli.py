"""`offers-catalog`: the whole-setup catalog from a shell, for pull-request checks and for
people who work outside Airflow.

- `offers-catalog validate PATH`: offline (no network, no Airflow metadata database): the
  document's shapes, names, references and Adobe's per-object limits.
- `offers-catalog export DEST`, `offers-catalog plan PATH [--out PLAN]` and
  `offers-catalog apply PATH --plan PLAN`: against the sandbox of an Airflow connection
  (`--conn-id`, default `adobe_offers_default`, read by Airflow as a task reads it, so an
  `AIRFLOW_CONN_...` environment variable serves).

Exit codes: 0 done (valid, planned, applied); 1 refused before any write (bad document, drift
from the approved plan, a name that exists nowhere); 2 bad usage; 3 some writes failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REFUSED, USAGE, PARTLY_WRITTEN = 1, 2, 3


class _Usage(Exception):
    """A command line that cannot run (exit code 2)."""


def _setup(path: str, catalog: str) -> Any:
    from airflow_provider_offers.api.catalog import document, source

    root: Any = Path(path)
    if not root.exists():
        raise _Usage(f"{path}: no such file or directory")
    return document.parse_setup(source.read_document(root), catalog, "PATH")


def _validate(args: argparse.Namespace) -> int:
    from airflow_provider_offers.api.catalog import document
    from airflow_provider_offers.api.catalog.kinds import KINDS, name_of_reference, reference_sites

    setup = _setup(args.path, args.catalog)
    problems = document.serving_problems(setup, document.Sandbox.of({}))
    if problems:
        return _fail(REFUSED, "; ".join(problems))
    outside = sorted(
        {
            f"{site.target} {name!r}"
            for kind in KINDS
            for body in setup[kind.key]
            for site in reference_sites(kind, body)
            if (name := name_of_reference(site.value)) is not None
            and name not in {b["name"] for b in setup[site.target]}
        }
    )
    counts = ", ".join(f"{len(setup[kind.key])} {kind.key}" for kind in KINDS if setup[kind.key])
    print(f"{args.path}: valid ({counts or 'empty'})")
    if outside:
        print("Must already exist in the sandbox: " + ", ".join(outside))
    return 0


def _client(args: argparse.Namespace) -> Any:
    from airflow_provider_offers.hooks.offers import OfferLibraryHook

    return OfferLibraryHook(args.conn_id).aget_conn()


def _export(args: argparse.Namespace) -> int:
    from airflow_provider_offers.api.catalog import export, graph
    from airflow_provider_offers.operators._catalog_io import write_whole

    async def read() -> Any:
        async with await _client(args) as client:
            return await graph.read_sandbox(client)

    exported = export.export_setup(asyncio.run(read()), kinds=args.kinds, decisions=args.decisions)
    write_whole(args.dest, exported)
    print(f"Exported to {args.dest}: " + json.dumps({k: len(v) for k, v in exported.items()}))
    return 0


def _plan_or_apply(args: argparse.Namespace) -> int:
    from airflow_provider_offers.api import catalog
    from airflow_provider_offers.api.catalog import graph

    setup = _setup(args.path, args.catalog)
    expected = json.loads(Path(args.plan).read_text()) if getattr(args, "plan", None) else None

    async def run() -> int:
        async with await _client(args) as client:
            plan = await graph.plan_setup(client, setup, catalog=args.catalog, prune=args.prune)
            print(catalog.plan_table(plan.entries))
            if args.command == "plan":
                if args.out:
                    Path(args.out).write_text(json.dumps(plan.entries, indent=2) + "\n")
                return 0
            catalog.check_plan(plan, expected=expected)
            counts = await graph.apply_setup(client, plan, gate=catalog.BackoffGate())
            print(f"Applied: {json.dumps(counts)}")
            return 0

    return asyncio.run(run())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offers-catalog", description="The Offer Library's whole setup as a catalog."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a document offline")
    export = commands.add_parser("export", help="write a sandbox's setup as a document")
    plan = commands.add_parser("plan", help="show what applying a document would change")
    apply = commands.add_parser("apply", help="apply a document, exactly as a plan approved")
    for command in (validate, plan, apply):
        command.add_argument("path", help="a JSON or YAML document, or a folder of them")
        command.add_argument("--catalog", default="offers-catalog", help="the catalog's name")
    for command in (export, plan, apply):
        command.add_argument("--conn-id", default="adobe_offers_default")
    for command in (plan, apply):
        command.add_argument("--prune", action="store_true", help="delete offers no longer listed")
    export.add_argument("dest", help="a file (.json, .yaml) or an object storage URL")
    export.add_argument("--kinds", nargs="+", help="only these kinds")
    export.add_argument("--decisions", nargs="+", help="only these decisions and what they need")
    plan.add_argument("--out", help="write the plan (JSON) here, for review and `apply --plan`")
    apply.add_argument("--plan", required=True, help="the approved plan (`plan --out`)")
    return parser


def _fail(code: int, message: str) -> int:
    print(f"offers-catalog: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from airflow_provider_offers.api.catalog import ApplyError, CatalogError
    from airflow_provider_offers.api.errors import InvalidInputError

    args = _parser().parse_args(argv)
    run = {"validate": _validate, "export": _export}.get(args.command, _plan_or_apply)
    try:
        return run(args)
    except (InvalidInputError, CatalogError) as error:
        return _fail(REFUSED, f"{error}")
    except ApplyError as error:
        return _fail(PARTLY_WRITTEN, f"{error}")
    except _Usage as error:
        return _fail(USAGE, f"{error}")


if __name__ == "__main__":
    raise SystemExit(main())
