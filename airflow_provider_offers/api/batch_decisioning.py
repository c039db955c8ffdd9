"""Adobe's Batch Decisioning API (offer-library-api.md 16.3): decide for a whole audience into a
dataset, as a workload started once and then polled.

`parse_batch_request` checks what a caller gives (one audience, one output dataset, 1-30
propositions each naming a decision and a placement, `item_count` by `inputs.parse_item_count`)
before anything is sent; `start_call` / `status_call` describe the two requests for the
clients; `judge` is the one status rule the operator, the sensor and the trigger share.

Adobe's page says nothing about `x-request-id` deduplicating a start, nor of a way to find a
workload by it: the start is not re-sent when its outcome is unknown (`resend_safe=False`), and
the id it carried is kept so a deliberate re-send reuses it (see docs/batch-decisioning.md).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_offers.api.calls import Call
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import parse_bool, parse_item_count

__all__ = [
    "MAX_PROPOSITIONS",
    "WORKLOADS_PATH",
    "BatchRequest",
    "PropositionRequest",
    "Verdict",
    "Workload",
    "judge",
    "parse_batch_request",
    "parse_request_id",
    "parse_workload_id",
    "start_call",
    "status_call",
]

log = logging.getLogger("airflow_provider_offers.api")

WORKLOADS_PATH = "/data/core/dwm/workloads/decisions"
#: The page documents no limit on `xdm:propositionRequests`; we keep to the per-scope item limit.
MAX_PROPOSITIONS = 30
WAITING_STATUSES = frozenset({"QUEUED", "PROCESSING", "INGESTING"})
DONE_STATUS = "COMPLETED"
FAILED_STATUS = "ERROR"

# Id shapes as Adobe's pages show them: audiences (segment definitions) and workloads are
# UUIDs, datasets 24 hex digits, decisions and placements `<repo>:offer-activity:<hex>` /
# `<repo>:offer-placement:<hex>` (`xcore:` in the batch page, `dps:` from the Offer Library).
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DATASET_ID = re.compile(r"[0-9a-fA-F]{24}")
_DECISION_ID = re.compile(r"(?:xcore|dps):offer-activity:[0-9a-fA-F]+")
_PLACEMENT_ID = re.compile(r"(?:xcore|dps):offer-placement:[0-9a-fA-F]+")
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # one visible-ASCII header token


def _shaped(value: Any, pattern: re.Pattern[str], field: str, shape: str) -> str:
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not pattern.fullmatch(text):
        raise InvalidInputError(field, f"{value!r} is not {shape}")
    return text


def parse_audience_id(value: Any, field: str = "audience_id") -> str:
    """Exactly one audience (segment definition) id, a UUID; a list of one is taken too."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 1:
            raise InvalidInputError(
                field, f"{len(value)} audiences given: a batch decides for exactly one"
            )
        value = value[0]
    return _shaped(value, _UUID, field, "an audience id (a UUID such as 609028e4-e66c-...)")


def parse_dataset_id(value: Any, field: str = "dataset_id") -> str:
    """The output dataset's id: 24 hex digits (`6196b4a1a63bd118dafe093c`)."""
    return _shaped(value, _DATASET_ID, field, "a Platform dataset id (24 hex digits)")


def parse_workload_id(value: Any, field: str = "workload_id") -> str:
    """A batch workload's id, the UUID Adobe answered the start with."""
    return _shaped(value, _UUID, field, "a workload id (a UUID)")


def parse_request_id(value: Any, field: str = "request_id") -> str:
    """An `x-request-id`: one header token (visible ASCII, no blanks, at most 128 characters)."""
    return _shaped(value, _REQUEST_ID, field, "an x-request-id (visible ASCII, no blanks)")


@dataclass(frozen=True)
class PropositionRequest:
    decision_id: str
    placement_id: str
    item_count: int = 1

    def to_body(self) -> dict[str, Any]:
        return {
            "xdm:activityId": self.decision_id,
            "xdm:placementId": self.placement_id,
            "xdm:itemCount": self.item_count,
        }


@dataclass(frozen=True)
class BatchRequest:
    """A checked batch decisioning request; `to_body()` is what is POSTed."""

    audience_id: str
    dataset_id: str
    propositions: tuple[PropositionRequest, ...]
    include_content: bool = False

    def to_body(self) -> dict[str, Any]:
        return {
            "xdm:segmentIds": [self.audience_id],
            "xdm:dataSetId": self.dataset_id,
            "xdm:propositionRequests": [p.to_body() for p in self.propositions],
            "xdm:includeContent": self.include_content,
        }


def _proposition(value: Any, field: str) -> PropositionRequest:
    if not isinstance(value, Mapping):
        raise InvalidInputError(field, "expected {'decision': ..., 'placement': ..., 'item_count'}")
    unknown = sorted(set(value) - {"decision", "placement", "item_count"})
    if unknown:
        raise InvalidInputError(field, f"unknown key(s) {', '.join(map(repr, unknown))}")
    return PropositionRequest(
        decision_id=_shaped(
            value.get("decision"),
            _DECISION_ID,
            f"{field}.decision",
            "a decision id (xcore:offer-activity:<hex> or dps:offer-activity:<hex>)",
        ),
        placement_id=_shaped(
            value.get("placement"),
            _PLACEMENT_ID,
            f"{field}.placement",
            "a placement id (xcore:offer-placement:<hex> or dps:offer-placement:<hex>)",
        ),
        item_count=parse_item_count(value.get("item_count", 1), f"{field}.item_count"),
    )


def parse_batch_request(
    audience_id: Any, dataset_id: Any, propositions: Any, include_content: bool = False
) -> BatchRequest:
    """Every rule of a batch start, checked before anything is sent (`InvalidInputError`)."""
    if isinstance(propositions, Mapping):
        propositions = [propositions]
    if not isinstance(propositions, Sequence) or isinstance(propositions, str):
        raise InvalidInputError("propositions", "expected a list of {decision, placement}")
    if not 1 <= len(propositions) <= MAX_PROPOSITIONS:
        raise InvalidInputError(
            "propositions", f"{len(propositions)} given: expected 1 to {MAX_PROPOSITIONS}"
        )
    return BatchRequest(
        audience_id=parse_audience_id(audience_id),
        dataset_id=parse_dataset_id(dataset_id),
        propositions=tuple(
            _proposition(item, f"propositions[{i}]") for i, item in enumerate(propositions)
        ),
        include_content=parse_bool(include_content, "include_content"),
    )


class Workload(BaseModel):
    """A workload as the start and the status answers show it; read leniently."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(alias="@id")
    org_id: str | None = Field(default=None, alias="xdm:imsOrgId")
    create_date: int | float | str | None = Field(default=None, alias="ode:createDate")
    status: str | None = Field(default=None, alias="ode:status")
    status_detail: Any = Field(default=None, alias="ode:statusDetail")

    @property
    def created(self) -> str | None:
        """`ode:createDate` (epoch milliseconds) as ISO-8601 UTC; other forms as sent."""
        value = self.create_date
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value / 1000, tz=timezone.utc)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return None if value is None else str(value)

    @property
    def detail(self) -> str | None:
        """`ode:statusDetail` as text (the page shows no shape: a string or an object)."""
        detail = self.status_detail
        if detail is None or isinstance(detail, str):
            return detail
        import json

        return json.dumps(detail, sort_keys=True, default=str)


State = Literal["waiting", "done", "failed"]


@dataclass(frozen=True)
class Verdict:
    state: State
    status: str
    detail: str | None


def judge(workload: Workload) -> Verdict:
    """The one status rule: QUEUED/PROCESSING/INGESTING wait, COMPLETED is done, ERROR failed
    (with `ode:statusDetail`); a status the page does not name is waited on, and logged."""
    status = (workload.status or "").strip().upper()
    if status == DONE_STATUS:
        return Verdict("done", status, workload.detail)
    if status == FAILED_STATUS:
        return Verdict("failed", status, workload.detail or "(Adobe gave no ode:statusDetail)")
    if status not in WAITING_STATUSES:
        log.warning(
            "Workload %s has status %r, which Adobe's page does not name; waiting on it",
            workload.id,
            workload.status,
        )
    return Verdict("waiting", status or "UNKNOWN", workload.detail)


def _workload(data: Any) -> Workload:
    if data is None:
        raise ValueError("empty body")
    return Workload.model_validate(data)


def start_call(base_url: str, request: BatchRequest, request_id: str) -> Call[Workload]:
    """The start: never re-sent once it may have reached Adobe (a second workload)."""
    return Call(
        "POST",
        base_url + WORKLOADS_PATH,
        _workload,
        body=request.to_body(),
        resend_safe=False,
        request_id=parse_request_id(request_id),
    )


def status_call(base_url: str, workload_id: str) -> Call[Workload]:
    return Call(
        "GET",
        f"{base_url}{WORKLOADS_PATH}/{quote(parse_workload_id(workload_id), safe='')}",
        _workload,
    )


def new_request_id() -> str:
    return str(uuid.uuid4())
