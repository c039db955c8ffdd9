"""`python -m airflow_provider_offers.emulator`: run the emulator in the foreground.

Prints one line with the URL once it listens; stops on Ctrl-C or SIGTERM. The answer-style
flags (`--answer-style adobe-examples`, or one style at a time) are described in
docs/emulator.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
import sys
from typing import Any

from .config import (
    ANSWER_STYLES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORG_ID,
    NEXT_LINK_FORMS,
    EmulatorConfig,
)
from .faults import FAULT_KINDS

#: Finds the URL in the line printed once the emulator listens (for programs that start it).
LISTENING = re.compile(r"listening on (http://\S+)")

#: Answer-style flags: EmulatorConfig field -> (argparse options, help).
_STYLE_FLAGS: dict[str, tuple[dict[str, Any], str]] = {
    "create_status": ({"type": int, "choices": (200, 201)}, "status of a successful create"),
    "normalise_dates": (
        {"action": argparse.BooleanOptionalAction},
        "dates as 2022-06-10T00:30:00.000+00:00 (representations, stored date members)",
    ),
    "next_link_form": ({"choices": NEXT_LINK_FORMS}, "form of _links hrefs"),
    "extra_members": (
        {"action": argparse.BooleanOptionalAction},
        "representations carry members no client knows",
    ),
    "string_etags": ({"action": argparse.BooleanOptionalAction}, 'etags as "3", not 3'),
    "start_as_sort_value": (
        {"action": argparse.BooleanOptionalAction},
        "list links' start is the sort value where the next page begins (Adobe's form)",
    ),
    "documented_decisioning_prefixes": (
        {"action": argparse.BooleanOptionalAction},
        "decisioning answers use dps:activity:, dps:placement:, ... ids",
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_offers.emulator",
        description="A local Adobe Offer Library: IMS token endpoint, DPS and decisioning. "
        "Fill the Airflow connection with the client id, secret and org shown as defaults here.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="accepted client id")
    parser.add_argument(
        "--client-secret",
        action="append",
        dest="client_secrets",
        default=argparse.SUPPRESS,  # help names the default itself
        help=f"accepted client secret; repeat to accept several (rotation) "
        f"(default: {DEFAULT_CLIENT_SECRET})",
    )
    parser.add_argument("--org-id", default=DEFAULT_ORG_ID, help="IMS org the client belongs to")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        dest="latency_seconds",
        help="seconds added before every answer, to stand in for the network",
    )
    faults = parser.add_argument_group(
        "random faults", f"kinds: {', '.join(FAULT_KINDS)} (docs/emulator.md says what each does)"
    )
    faults.add_argument(
        "--fault-rate",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="share of API requests that get this fault, e.g. unavailable=0.05; repeatable",
    )
    faults.add_argument(
        "--fault-seed", type=int, default=None, help="seed of the random faults (default: random)"
    )
    faults.add_argument(
        "--slow-seconds",
        type=float,
        default=2.0,
        help="how long the slow_before_commit and slow_after_commit faults hold a request",
    )
    styles = parser.add_argument_group(
        "answer styles", "forms Adobe's pages disagree on; a single flag wins over the style"
    )
    styles.add_argument(
        "--answer-style",
        choices=tuple(ANSWER_STYLES),
        default="strict",
        help="every style at once: strict (default) or as Adobe's examples look",
    )
    for name, (options, help_text) in _STYLE_FLAGS.items():
        styles.add_argument("--" + name.replace("_", "-"), dest=name, help=help_text, **options)
    return parser.parse_args(argv)


def _fault_rates(pairs: list[str]) -> dict[str, float]:
    """`["unavailable=0.05", ...]` as `{"unavailable": 0.05}`; ValueError names a bad pair."""
    rates = {}
    for pair in pairs:
        kind, _, rate = pair.partition("=")
        try:
            rates[kind.strip()] = float(rate)
        except ValueError:
            raise ValueError(f"--fault-rate {pair!r}: expected KIND=RATE") from None
    return rates


def reachable_from_network(host: str) -> bool:
    """Whether binding `host` lets other machines connect: anything but loopback addresses
    (`0.0.0.0` and `""` mean every interface)."""
    if not host:
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET)}
    except OSError:
        return True  # unknown: say so (the bind will tell the rest)
    return not all(ipaddress.ip_address(a).is_loopback for a in addresses)


def network_warning(host: str) -> str:
    return (
        f"warning: the emulator is reachable from the network ({host}): anyone who can reach "
        "the port can get tokens with the client secret (printed by --help unless given), "
        "read the request log and reset or reconfigure it through /_emulator/; "
        "use --host 127.0.0.1 unless other machines must reach it"
    )


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The settings the flags ask for: the answer style, then any single style flag given."""
    return EmulatorConfig.from_options(
        answer_style=args.answer_style,
        client_id=args.client_id,
        client_secrets=tuple(getattr(args, "client_secrets", None) or (DEFAULT_CLIENT_SECRET,)),
        org_id=args.org_id,
        latency_seconds=args.latency_seconds,
        fault_rates=_fault_rates(args.fault_rate),
        fault_seed=args.fault_seed,
        slow_seconds=args.slow_seconds,
        **{name: getattr(args, name) for name in _STYLE_FLAGS if getattr(args, name) is not None},
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .server import EmulatorServer

    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    server = EmulatorServer(config, host=args.host, port=args.port)

    def ready(url: str) -> None:
        print(f"Offer Library emulator listening on {url}", flush=True)
        if reachable_from_network(args.host):
            print(network_warning(args.host), file=sys.stderr, flush=True)
        if config.fault_rates:
            print(f"Random faults {config.fault_rates}, seed {server.fault_seed}", flush=True)

    try:
        started = server.serve(ready)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0 if started else 1


if __name__ == "__main__":
    sys.exit(main())
