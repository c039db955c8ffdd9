"""The emulator's state and Adobe's rules, with no HTTP framework in sight (moto's `models.py`).

`OfferLibraryBackend` holds the IMS tokens, one store per (org, sandbox), the fault queue and
the request log. It takes typed arguments: `responses.py` parses requests, checks media types
and builds links. Every refusal is an `EmulatorError` carrying the status and body to send.
"""

from __future__ import annotations

import copy
import hashlib
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonpatch
import jsonpointer

from .config import EmulatorConfig
from .controls import IMS_TOKEN_PATH, Fault, RecordedRequest, faults_of_kind
from .models.entities import Validator, parse_datetime
from .exceptions import gateway_error, oauth_error, problem
from .models.kinds import KINDS, SERVER_FIELDS, Kind, references
from .models.listing import Expression, Page, page_of, sort_documents
from .models.workloads import WorkloadBook

JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")
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


# --------------------------------------------------------------------------------------------
# Stored objects
# --------------------------------------------------------------------------------------------
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
    org_id: str
    name: str
    records: dict[str, dict[str, Record]] = field(default_factory=lambda: {k: {} for k in KINDS})
    last_moment: datetime | None = None
    #: Bumped by every write; the sorted listings below are only valid for one generation.
    generation: int = 0
    #: (kind, filters, order) -> (generation, config, sorted pairs): the pages of one listing
    #: are cut from one sort instead of filtering and sorting every object again per page.
    listings: dict[tuple[str, str, str], tuple[int, Any, list]] = field(default_factory=dict)

    def changed(self) -> None:
        self.generation += 1
        self.listings.clear()

    @property
    def sandbox_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"adobe-sandbox:{self.org_id}/{self.name}"))

    def find(self, kind: str, ident: str) -> dict[str, Any] | None:
        record = self.records[kind].get(ident)
        return record.entity if record else None


@dataclass
class Interlude:
    """Someone else's doing (`action`), run once just before the `nth` request to exactly
    `method` and `path` (and, if given, with `query_has` in its query string) is handled: an
    edit between two pages of a listing, a namesake created just before a create. The action
    may call the emulator over HTTP."""

    method: str
    path: str
    action: Callable[[], Any]
    nth: int = 1
    query_has: str | None = None
    error: BaseException | None = None


@dataclass
class Token:
    client_id: str
    expires_at: float


# --------------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------------
class OfferLibraryBackend:
    """All state of one emulator; thread-safe (the server thread and the test thread share it)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.initial_config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything: objects, tokens, faults, the request log, config overrides."""
        with self.lock:
            self.config = self.initial_config
            self.stores: dict[tuple[str, str], SandboxStore] = {}
            self.tokens: dict[str, Token] = {}
            self.tokens_issued = 0
            self.issued_tokens: list[str] = []  # every one, revoked or not (secrets scans)
            self.faults: list[Fault] = []
            self.interludes: list[Interlude] = []
            self.requests: list[RecordedRequest] = []
            self.fault_counts: dict[str, int] = {}
            self.workloads = WorkloadBook()  # batch decisioning (workloads.py)
            self._seed_faults()

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings until the next reset; `answer_style=` sets every style at once.

        Setting `fault_seed` or `fault_rates` starts the random faults' sequence afresh.
        """
        with self.lock:
            self.config = self.config.with_changes(**changes)
            if {"fault_seed", "fault_rates"} & set(changes):
                self._seed_faults()
            return self.config

    def _seed_faults(self) -> None:
        seed = self.config.fault_seed
        self.fault_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._fault_draws = random.Random(self.fault_seed)

    # -- faults and log -----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault for this request: the first injected one that matches, else a random
        one (API requests only, at the configured rates), else None."""
        with self.lock:
            fault: Fault | None
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    break
            else:
                fault = self._random_fault(method, path)
            if fault is not None and fault.kind:
                self.fault_counts[fault.kind] = self.fault_counts.get(fault.kind, 0) + 1
            return fault

    def _random_fault(self, method: str, path: str) -> Fault | None:
        rates = self.config.fault_rates
        if not rates or path.startswith(IMS_TOKEN_PATH):
            return None
        draw = self._fault_draws.random()
        for kind in sorted(rates):
            draw -= rates[kind]
            if draw < 0:
                first, *then = faults_of_kind(
                    kind, method, path, slow_seconds=self.config.slow_seconds
                )
                self.faults.extend(then)
                return first
        return None

    def add_interlude(self, interlude: Interlude) -> None:
        with self.lock:
            self.interludes.append(interlude)

    def take_interlude(self, method: str, path: str, query: str = "") -> Interlude | None:
        """The interlude due before this request (counted by exact method and path), if any."""
        with self.lock:
            for interlude in self.interludes:
                wanted = interlude.query_has is None or interlude.query_has in query
                if interlude.method == method.upper() and interlude.path == path and wanted:
                    interlude.nth -= 1
                    if interlude.nth == 0:
                        self.interludes.remove(interlude)
                        return interlude
            return None

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    # -- IMS ------------------------------------------------------------------------------
    def issue_token(
        self,
        *,
        grant_type: str | None,
        client_id: str | None,
        client_secret: str | None,
        scope: str | None,
    ) -> dict[str, Any]:
        """`POST /ims/token/v3` with the client-credentials grant (parameters as sent)."""
        config = self.config

        def required(name: str, value: str | None) -> str:
            if not value:
                raise oauth_error(400, "invalid_request", f"missing {name} parameter")
            return value

        grant = required("grant_type", grant_type)
        if grant != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
        if required("client_id", client_id) != config.client_id:
            raise oauth_error(400, "invalid_client", "invalid client_id parameter")
        secret = required("client_secret", client_secret)
        if not any(secrets.compare_digest(secret, s) for s in config.client_secrets):
            raise oauth_error(400, "invalid_client", "invalid client_secret parameter")
        scope = required("scope", scope)
        requested = [s.strip() for s in scope.split(",")]
        unknown = [s for s in requested if s not in config.allowed_scopes]
        if unknown or not all(requested):
            raise oauth_error(400, "invalid_scope", f"invalid scope: {','.join(unknown) or scope}")
        token = "emu-" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(
                config.client_id, time.time() + config.token_lifetime_seconds
            )
            self.tokens_issued += 1
            self.issued_tokens.append(token)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": config.token_lifetime_seconds,
        }

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (the next call gets 401 401013)."""
        with self.lock:
            self.tokens.clear()

    # -- gateway --------------------------------------------------------------------------
    def authenticate(
        self,
        *,
        authorization: str | None,
        api_key: str | None,
        org_id: str | None,
        sandbox: str | None,
    ) -> Identity:
        """The Adobe I/O gateway's header checks, in the order it makes them."""
        config = self.config
        if not authorization:
            raise gateway_error(403, "403010", "Oauth token is missing.")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            known = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if known is None or known.expires_at <= time.time():
            raise gateway_error(401, "401013", "Oauth token is not valid")
        if not api_key:
            raise gateway_error(403, "403000", "Api Key is required")
        if api_key != known.client_id:
            raise gateway_error(403, "403003", "Api Key is invalid")
        if not org_id:
            raise gateway_error(400, "400003", "Missing header")
        if not org_id.endswith("@AdobeOrg"):
            raise gateway_error(403, "403027", "User region is missing")
        if org_id != config.org_id:
            raise gateway_error(403, "403025", "Profile is not valid")
        return Identity(known.client_id, org_id, sandbox or config.default_sandbox)

    def store(self, identity: Identity) -> SandboxStore:
        with self.lock:
            key = (identity.org_id, identity.sandbox)
            if key not in self.stores:
                self.stores[key] = SandboxStore(identity.org_id, identity.sandbox)
            return self.stores[key]

    def _tick(self, store: SandboxStore) -> datetime:
        moment = self.config.clock()
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if (
            self.config.strictly_increasing_timestamps
            and store.last_moment is not None
            and moment <= store.last_moment
        ):
            moment = store.last_moment + timedelta(milliseconds=1)
        store.last_moment = moment
        return moment

    def _get_record(self, store: SandboxStore, kind: Kind, ident: str) -> Record:
        record = store.records[kind.name].get(ident)
        if record is None:
            raise problem(
                404,
                f"id: no {kind.label} with id {ident!r} in sandbox {store.name!r}",
                code=1004,
            )
        return record

    def _validate(self, store: SandboxStore, kind: Kind, entity: Any, status: int) -> None:
        """Adobe's rules for the kind; then date members in the configured form."""
        validator = Validator(self.config, store.find, status=status)
        validator.validate(kind, entity)
        if self.config.normalise_dates:
            for parent, key in validator.dates:
                parent[key] = adobe_date(parent[key])

    # -- DPS CRUD -------------------------------------------------------------------------
    def create(self, identity: Identity, kind: Kind, body: Any) -> dict[str, Any]:
        with self.lock:
            store = self.store(identity)
            body = copy.deepcopy(body)
            self._validate(store, kind, body, 400)
            moment = self._tick(store)
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
            store.records[kind.name][ident] = record
            store.changed()
            return record.receipt(self.config, store.sandbox_id, update=False)

    def get(self, identity: Identity, kind: Kind, ident: str) -> dict[str, Any]:
        with self.lock:
            record = self._get_record(self.store(identity), kind, ident)
            return record.representation(self.config)

    def delete(self, identity: Identity, kind: Kind, ident: str) -> None:
        with self.lock:
            store = self.store(identity)
            self._get_record(store, kind, ident)
            if self.config.referential_integrity_on_delete:
                users = [
                    record.id
                    for records in store.records.values()
                    for record in records.values()
                    if (kind.name, ident) in references(record.kind.name, record.entity)
                ]
                if users:
                    raise problem(
                        409, f"id: {ident!r} is still referenced by {', '.join(users)}", code=1009
                    )
            del store.records[kind.name][ident]
            store.changed()

    def patch(self, identity: Identity, kind: Kind, ident: str, operations: Any) -> dict[str, Any]:
        """RFC 6902 on the representation as answered (so `test` sees what GET shows)."""
        with self.lock:
            store = self.store(identity)
            record = self._get_record(store, kind, ident)
            read_only = SERVER_FIELDS + (EXTRA_MEMBERS if self.config.extra_members else ())
            _check_patch_document(operations, read_only)
            document = record.representation(self.config)
            try:
                patched = jsonpatch.JsonPatch(operations).apply(document)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise problem(409, f"test operation failed: {exc}", code=1005) from exc
            except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
                raise problem(409, f"patch cannot be applied: {exc}", code=1005) from exc
            except jsonpatch.JsonPatchException as exc:
                raise problem(400, f"patch: {exc}", code=1005) from exc
            entity = {k: v for k, v in patched.items() if k not in read_only}
            self._validate(store, kind, entity, 422)
            record.entity = entity
            record.etag += 1
            record.modified = self._tick(store)
            record.modified_by = identity.user_id
            record.modified_by_client = identity.client_id
            store.changed()
            return record.receipt(self.config, store.sandbox_id, update=True)

    def write_unchecked(
        self, sandbox: str, kind_name: str, ident: str, members: dict[str, Any]
    ) -> dict[str, Any]:
        """Set members of a stored object past the rules this emulator enforces, as a write
        like any other (new etag and `modified`): an object as another client or a newer API
        version may leave it, outside what a client's read models expect. A test control."""
        with self.lock:
            store = self.store(Identity(self.config.client_id, self.config.org_id, sandbox))
            record = self._get_record(store, KINDS[kind_name], ident)
            record.entity = {**record.entity, **copy.deepcopy(members)}
            record.etag += 1
            record.modified = self._tick(store)
            store.changed()
            return record.representation(self.config)

    def list(
        self,
        identity: Identity,
        kind: Kind,
        *,
        filters: list[Expression],
        order: list[tuple[str, bool]],
        limit: int,
        start: str | None,
    ) -> Page:
        """`GET /{resource}`: filter and sort the plain representations, then page them.

        Filters and sort keys see integer etags and no extra members, whatever the style.
        """
        with self.lock:
            config = self.config
            store = self.store(identity)
            records = store.records[kind.name]
            listing = (kind.name, repr(filters), repr(order))
            cached = store.listings.get(listing)
            if cached is not None and cached[0] == store.generation and cached[1] is config:
                keyed = cached[2]
            else:
                documents = _filtered(records.values(), filters, config)
                keyed = sort_documents(documents, order)
                if len(store.listings) >= 32:  # look-ups by name each add one; keep a few
                    store.listings.pop(next(iter(store.listings)))
                store.listings[listing] = (store.generation, config, keyed)
            page = page_of(keyed, order, limit, start)
            page.results = [records[d["id"]].representation(config) for d in page.results]
            return page

    # -- decisioning ----------------------------------------------------------------------
    def decide(self, identity: Identity, request: Any) -> dict[str, Any]:
        from .models.decisioning import decide

        with self.lock:
            return decide(self.store(identity), self.config, request)


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


def _check_patch_document(operations: Any, read_only: tuple[str, ...]) -> None:
    """RFC 6902 structure, plus our read-only fields; nothing is applied if any op is bad."""
    if not isinstance(operations, list) or not operations:
        raise problem(400, "body: a JSON Patch must be a non-empty array of operations", code=1005)
    for i, op in enumerate(operations):
        where = f"[{i}]"
        if not isinstance(op, dict):
            raise problem(400, f"{where}: each operation must be a JSON object", code=1005)
        name = op.get("op")
        if name not in JSON_PATCH_OPS:
            raise problem(400, f"{where}.op: must be one of {', '.join(JSON_PATCH_OPS)}", code=1005)
        pointers = ["path"] + (["from"] if name in ("move", "copy") else [])
        for key in pointers:
            pointer = op.get(key)
            if not isinstance(pointer, str):
                raise problem(400, f"{where}.{key}: is required for {name}", code=1005)
            if pointer and not pointer.startswith("/"):
                raise problem(400, f"{where}.{key}: {pointer!r} is not a JSON Pointer", code=1005)
        if name in ("add", "replace", "test") and "value" not in op:
            raise problem(400, f"{where}.value: is required for {name}", code=1005)
        if name == "test":
            continue
        written = ["path"] + (["from"] if name == "move" else [])
        for key in written:
            pointer = op[key]
            if pointer == "" or pointer.split("/")[1] in read_only:
                raise problem(422, f"{where}.{key}: {pointer or '/'!r} is read-only", code=1006)
