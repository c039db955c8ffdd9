"""The route table (moto's `urls.py`): which handler answers which method and path.

API handlers are in `responses.py`, `/_emulator/` control handlers in `controls.py`; the
recording and fault middleware (`faults.py`) wraps them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import controls, responses
from .backend import OfferLibraryBackend
from .controls import CONTROL_PREFIX
from .exceptions import EmulatorError
from .faults import IMS_TOKEN_PATH, RecordAndFault
from .responses import DPS, WORKLOADS

Handler = Callable[[Request], Awaitable[Response]]

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", IMS_TOKEN_PATH, responses.ims_token),
    ("POST", DPS + "/{resource}", responses.create),
    ("GET", DPS + "/{resource}", responses.list_),
    ("GET", DPS + "/{resource}/{entity_id}", responses.get),
    ("PATCH", DPS + "/{resource}/{entity_id}", responses.patch),
    ("PUT", DPS + "/{resource}/{entity_id}", responses.put),
    ("DELETE", DPS + "/{resource}/{entity_id}", responses.delete),
    ("POST", "/data/core/ods/decisions", responses.decisions),
    ("POST", WORKLOADS, responses.start_workload),
    ("GET", WORKLOADS + "/{workload_id}", responses.get_workload),
    ("GET", CONTROL_PREFIX + "health", controls.health),
    ("POST", CONTROL_PREFIX + "reset", controls.reset),
    ("POST", CONTROL_PREFIX + "revoke-tokens", controls.revoke),
    ("POST", CONTROL_PREFIX + "faults", controls.add_faults),
    ("GET", CONTROL_PREFIX + "faults", controls.fault_counts),
    ("GET", CONTROL_PREFIX + "config", controls.config),
    ("POST", CONTROL_PREFIX + "configure", controls.configure),
    ("GET", CONTROL_PREFIX + "requests", controls.requests),
    ("GET", CONTROL_PREFIX + "tokens", controls.tokens),
)


def create_app(backend: OfferLibraryBackend) -> Any:
    """The ASGI application: the routes over `backend`, in the recording/fault middleware."""
    app = FastAPI(
        title="Offer Library emulator",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        exception_handlers={
            EmulatorError: responses.refusal,
            StarletteHTTPException: responses.http_error,
        },
    )
    app.state.backend = backend
    for method, path, handler in ROUTES:
        app.add_api_route(path, handler, methods=[method])
    return RecordAndFault(app, backend)
