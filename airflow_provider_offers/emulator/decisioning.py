"""The hub Decisioning API (`POST /data/core/ods/decisions`)."""

from __future__ import annotations

from typing import Any

from .errors import problem


def decide(store: Any, config: Any, request: Any) -> dict[str, Any]:
    raise problem(501, "decisioning: not implemented yet", service="ODE")
