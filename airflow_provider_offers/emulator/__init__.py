"""A local Offer Library: IMS token endpoint, DPS CRUD and the hub Decisioning API.

One base URL serves `POST /ims/token/v3`, `/data/core/dps/...` and `POST /data/core/ods/decisions`
from memory, following Adobe's documentation, never our client (it imports nothing of ours
outside this package).

Use it in-process (`with run_emulator(**config) as emulator:`; the pytest fixtures
`offer_library_emulator` and `offer_library_emulator_styles`) or as a process
(`python -m airflow_provider_offers.emulator --port 8080`). `answer_style="adobe-examples"`
answers in the forms Adobe's examples show; the default is `strict`.

docs/emulator.md has the layout, every behaviour where Adobe is silent (with the
`EmulatorConfig` field that changes it), the answer styles and the test controls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import (
    ANSWER_STYLES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORG_ID,
    EmulatorConfig,
)

if TYPE_CHECKING:
    from .server import EmulatorServer, run_emulator

__all__ = [
    "ANSWER_STYLES",
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
