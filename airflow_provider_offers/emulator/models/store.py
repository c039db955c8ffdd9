"""One sandbox's objects and the DPS rules for writing and reading them (moto's `models.py`).

`SandboxStore` takes typed arguments and raises `EmulatorError`s; it knows no HTTP, tokens or
faults. The caller holds the emulator's lock (`backend.OfferLibraryBackend`) around each call.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonpatch
import jsonpointer

from ..config import EmulatorConfig
from ..exceptions import problem
from . import guardrails
from .entities import Validator, parse_datetime
from .kinds import KINDS, SERVER_FIELDS, Kind, references
from .listing import Expression, Page, page_of, sort_documents

#: Members the `extra_members` style adds to representations: names Adobe's pages show on
#: other forms of the same objects (legacy `repo:*` receipts, the `_repo`/`_experience`
#: dataset fields). Read-only, like the server fields.
EXTRA_MEMBERS = ("repo:createdDate", "repo:lastModifiedDate", "_repo", "_experience")


def iso(moment: datetime, offset: str = "Z") -> str:
    """Adobe's timestamp style: milliseconds, then `Z` (receipts) or `+00:00` (examples)."""
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + offset


def adobe_date(value: str) -> str:
    """A valid ISO-8601 date member in the form of Adobe's examples (UTC, ms, `+00:00`)."""
    moment = parse_datetime(value)
    if moment is None:  # validated before it is stored; kept as sent otherwise
        return value
    return iso(moment.astimezone(timezone.utc), "+00:00")


def read_only_members(config: EmulatorConfig) -> tuple[str, ...]:
    """Top-level members a client may not write: the server's, and the style's extras."""
    return SERVER_FIELDS + (EXTRA_MEMBERS if config.extra_members else ())


@dataclass
class Identity:
    """Who is calling, after the gateway let the request through."""

    client_id: str
    org_id: str
    sandbox: str

    @property
    def user_id(self) -> str:
        digest = hashlib.sha1(self.client_id.encode()).hexdigest()[:24].upper()
        return f"{digest}@AdobeID"


@dataclass
class Record:
    kind: Kind
    id: str
    entity: dict[str, Any]
    etag: int
    created: datetime
    modified: datetime
    created_by: str
    created_by_client: str
    modified_by: str
    modified_by_client: str

    def representation(
        self, config: EmulatorConfig, *, styled: bool = True, shared: bool = False
    ) -> dict[str, Any]:
        """`GET /{resource}/{id}`; `styled=False` keeps the etag an integer and no extras.

        `shared=True` shares the stored members instead of copying them: only for reading
        (a list filters and sorts every object of a kind; copying each made that slow).
        """
        offset = "+00:00" if config.normalise_dates else "Z"
        document = {
            "created": iso(self.created, offset),
            "modified": iso(self.modified, offset),
            "etag": self.etag,
            "schemas": [self.kind.schema],
            "createdBy": self.created_by,
            "lastModifiedBy": self.modified_by,
            "id": self.id,
            **(self.entity if shared else copy.deepcopy(self.entity)),
        }
        if styled and config.string_etags:
            document["etag"] = str(self.etag)
        if styled and config.extra_members:
            document.update(
                {
                    "repo:createdDate": document["created"],
                    "repo:lastModifiedDate": document["modified"],
                    "_repo": {"etag": str(self.etag)},
                    "_experience": {"decisioning": {"id": self.id, "name": self.entity["name"]}},
                }
            )
        return document

    def receipt(self, config: EmulatorConfig, sandbox_id: str, *, update: bool) -> dict[str, Any]:
        """What create and update answer (Adobe's receipt examples end timestamps in `Z`)."""
        receipt: dict[str, Any] = {
            "etag": str(self.etag) if config.string_etags else self.etag,
            "id": self.id,
            "sandboxId": sandbox_id,
            "createdDate": iso(self.created),
            "lastModifiedDate": iso(self.modified),
            "createdBy": self.created_by,
            "lastModifiedBy": self.modified_by,
            "createdByClientId": self.created_by_client,
            "lastModifiedByClientId": self.modified_by_client,
        }
        if update and config.extra_members:
            receipt["datasetId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataset:{sandbox_id}"))
        return receipt


@dataclass
class SandboxStore:
    """The objects of one (org, sandbox), and the DPS rules for changing them."""

    org_id: str
    name: str
    records: dict[str, dict[str, Record]] = field(default_factory=lambda: {k: {} for k in KINDS})
    last_moment: datetime | None = None
    #: Bumped by every write: what was sorted for a listing is valid for one generation.
    generation: int = 0

    @property
    def sandbox_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"adobe-sandbox:{self.org_id}/{self.name}"))

    def find(self, kind: str, ident: str) -> dict[str, Any] | None:
        record = self.records[kind].get(ident)
        return record.entity if record else None

    def record(self, kind: Kind, ident: str) -> Record:
        """The stored object, or Adobe's 404."""
        record = self.records[kind.name].get(ident)
        if record is None:
            raise problem(
                404, f"id: no {kind.label} with id {ident!r} in sandbox {self.name!r}", code=1004
            )
        return record

    def _tick(self, config: EmulatorConfig) -> datetime:
        """The moment of a write: the clock to the millisecond (strictly later, if configured)."""
        self.generation += 1
        moment = config.clock()
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if (
            config.strictly_increasing_timestamps
            and self.last_moment is not None
            and moment <= self.last_moment
        ):
            moment = self.last_moment + timedelta(milliseconds=1)
        self.last_moment = moment
        return moment

    def _validate(
        self,
        config: EmulatorConfig,
        kind: Kind,
        entity: Any,
        status: int,
        before: dict[str, Any] | None = None,
    ) -> None:
        """Adobe's rules for the kind and its per-sandbox totals (`before`: the stored entity
        a patch changes); then date members in the configured form."""
        validator = Validator(config, self.find, status=status)
        validator.validate(kind, entity)
        guardrails.check_totals(config, self.records, kind.name, entity, before, validator.fail)
        if config.normalise_dates:
            for parent, key in validator.dates:
                parent[key] = adobe_date(parent[key])

    def create(
        self, config: EmulatorConfig, identity: Identity, kind: Kind, body: Any
    ) -> dict[str, Any]:
        body = copy.deepcopy(body)
        self._validate(config, kind, body, 400)
        moment = self._tick(config)
        ident = f"dps:{kind.id_kind}:{secrets.token_hex(8)}"
        record = Record(
            kind=kind,
            id=ident,
            entity=body,
            etag=1,
            created=moment,
            modified=moment,
            created_by=identity.user_id,
            created_by_client=identity.client_id,
            modified_by=identity.user_id,
            modified_by_client=identity.client_id,
        )
        self.records[kind.name][ident] = record
        return record.receipt(config, self.sandbox_id, update=False)

    def delete(self, config: EmulatorConfig, kind: Kind, ident: str) -> None:
        self.record(kind, ident)
        if config.referential_integrity_on_delete:
            users = [
                record.id
                for records in self.records.values()
                for record in records.values()
                if (kind.name, ident) in references(record.kind.name, record.entity)
            ]
            if users:
                raise problem(
                    409, f"id: {ident!r} is still referenced by {', '.join(users)}", code=1009
                )
        del self.records[kind.name][ident]
        self.generation += 1

    def patch(
        self, config: EmulatorConfig, identity: Identity, kind: Kind, ident: str, operations: Any
    ) -> dict[str, Any]:
        """RFC 6902 on the representation as answered (so `test` sees what GET shows); the
        document's shape is checked before (`responses.check_patch_document`)."""
        record = self.record(kind, ident)
        document = record.representation(config)
        try:
            patched = jsonpatch.JsonPatch(operations).apply(document)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise problem(409, f"test operation failed: {exc}", code=1005) from exc
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
            raise problem(409, f"patch cannot be applied: {exc}", code=1005) from exc
        except jsonpatch.JsonPatchException as exc:
            raise problem(400, f"patch: {exc}", code=1005) from exc
        return self._update(config, identity, record, patched, 422)

    def replace(
        self, config: EmulatorConfig, identity: Identity, kind: Kind, ident: str, body: Any
    ) -> dict[str, Any]:
        """`PUT`: the whole object anew (ranking formulas' documented update), checked as a
        create is; server members in the body are ignored. Like PATCH: etag + 1, no If-Match."""
        return self._update(config, identity, self.record(kind, ident), copy.deepcopy(body), 400)

    def _update(
        self, config: EmulatorConfig, identity: Identity, record: Record, body: Any, status: int
    ) -> dict[str, Any]:
        """Store `body` (its read-only members dropped) as the record's new entity, once it
        passes the kind's rules (`status` if not): etag + 1, a new `modified`."""
        read_only = read_only_members(config)
        entity = body
        if isinstance(body, dict):
            entity = {k: v for k, v in body.items() if k not in read_only}
        self._validate(config, record.kind, entity, status, before=record.entity)
        record.entity = entity
        record.etag += 1
        record.modified = self._tick(config)
        record.modified_by = identity.user_id
        record.modified_by_client = identity.client_id
        return record.receipt(config, self.sandbox_id, update=True)

    def write_unchecked(
        self, config: EmulatorConfig, kind: Kind, ident: str, members: dict[str, Any]
    ) -> dict[str, Any]:
        """Set members past the rules, as a write like any other (new etag and `modified`)."""
        record = self.record(kind, ident)
        record.entity = {**record.entity, **copy.deepcopy(members)}
        record.etag += 1
        record.modified = self._tick(config)
        return record.representation(config)

    def sorted(
        self, config: EmulatorConfig, kind: Kind, filters: list[Expression], order: list
    ) -> list[tuple[list, dict]]:
        """The plain representations the filters match, with their sort keys, in order.

        Filters and sort keys see integer etags and no extra members, whatever the style.
        """
        return sort_documents(_filtered(self.records[kind.name].values(), filters, config), order)

    def page(
        self,
        config: EmulatorConfig,
        kind: Kind,
        keyed: list[tuple[list, dict]],
        order: list[tuple[str, bool]],
        limit: int,
        start: str | None,
    ) -> Page:
        """One page of a sorted listing, its objects represented in the configured style."""
        page = page_of(keyed, order, limit, start, config.start_as_sort_value)
        records = self.records[kind.name]
        page.results = [records[d["id"]].representation(config) for d in page.results]
        return page


def _filtered(records: Iterable[Record], filters: list[Expression], config: EmulatorConfig):
    """The plain representations of the records the filters match.

    A filter on an entity member sees the same values in the stored entity as in the
    representation (server fields never enter an entity), so those are tried on the entity
    first and only the matches are represented: a look-up by name stays cheap in a big sandbox.
    """
    if all(f.path[0] not in SERVER_FIELDS for f in filters):
        chosen = [r for r in records if all(f.matches(r.entity) for f in filters)]
        return [r.representation(config, styled=False, shared=True) for r in chosen]
    documents = [r.representation(config, styled=False, shared=True) for r in records]
    return [d for d in documents if all(f.matches(d) for f in filters)]
