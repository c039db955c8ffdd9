"""A local Offer Library: IMS token endpoint, DPS CRUD and the hub Decisioning API.

(The full table of strict choices follows.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, EmulatorConfig

if TYPE_CHECKING:
    from .server import EmulatorServer, run_emulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_ORG_ID",
    "EmulatorConfig",
    "EmulatorServer",
    "run_emulator",
]


def __getattr__(name: str) -> Any:
    """Import the server (FastAPI, uvicorn) only when asked for: keeps this package cheap."""
    if name in ("EmulatorServer", "run_emulator"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
