"""`python -m airflow_provider_offers.emulator`: run the emulator in the foreground.

Prints one line with the URL once it listens; stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import re
import sys

from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID

#: Finds the URL in the line printed once the emulator listens (for programs that start it).
LISTENING = re.compile(r"listening on (http://\S+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_offers.emulator",
        description="A local Adobe Offer Library: IMS token endpoint, DPS and decisioning.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="accepted client id")
    parser.add_argument(
        "--client-secret",
        action="append",
        dest="client_secrets",
        help="accepted client secret; repeat to accept several (rotation)",
    )
    parser.add_argument("--org-id", default=DEFAULT_ORG_ID, help="IMS org the client belongs to")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import uvicorn

    from .backend import OfferLibraryBackend
    from .config import EmulatorConfig
    from .responses import create_app

    config = EmulatorConfig(
        client_id=args.client_id,
        client_secrets=tuple(args.client_secrets or (DEFAULT_CLIENT_SECRET,)),
        org_id=args.org_id,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(OfferLibraryBackend(config)),
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    original_startup = server.startup

    async def startup(sockets=None) -> None:
        await original_startup(sockets=sockets)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            print(f"Offer Library emulator listening on http://{args.host}:{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
