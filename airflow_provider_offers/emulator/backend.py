"""The emulator's state and Adobe's rules, with no HTTP framework in sight (moto's `models.py`).

`OfferLibraryBackend` holds the IMS tokens, one store per (org, sandbox), the fault queue and
the request log. `responses.py` turns HTTP into calls on it; every refusal is an
`EmulatorError` carrying the status and the exact body to send.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jsonpatch
import jsonpointer

from .config import EmulatorConfig
from .entities import KINDS, SERVER_FIELDS, Kind, Validator, references
from .errors import content_type_error, gateway_error, oauth_error, problem
from .listing import paginate, parse_filters, parse_orderby

JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def iso(moment: datetime) -> str:
    """Adobe's timestamp style: milliseconds, UTC, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# Request log and fault injection
# --------------------------------------------------------------------------------------------
@dataclass
class RecordedRequest:
    """One request as the emulator received it (tests assert on what the server saw)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] | None = None
    text: str = ""
    status: int | None = None
    client_port: int | None = None  # tells which requests shared one connection

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    """Answer the next `times` matching requests differently (see CONTRACTS.md)."""

    method: str
    path_prefix: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    times: int = 1
    retry_after: float | int | str | None = None
    drop_after_commit: bool = False
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("times: must be >= 1")
        if self.status is not None and self.drop_after_commit:
            raise ValueError("status and drop_after_commit: choose one")

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and path.startswith(self.path_prefix)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers or {})
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


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

    def representation(self) -> dict[str, Any]:
        return {
            "created": iso(self.created),
            "modified": iso(self.modified),
            "etag": self.etag,
            "schemas": [self.kind.schema],
            "createdBy": self.created_by,
            "lastModifiedBy": self.modified_by,
            "id": self.id,
            **copy.deepcopy(self.entity),
        }

    def receipt(self, sandbox_id: str) -> dict[str, Any]:
        return {
            "etag": self.etag,
            "id": self.id,
            "sandboxId": sandbox_id,
            "createdDate": iso(self.created),
            "lastModifiedDate": iso(self.modified),
            "createdBy": self.created_by,
            "lastModifiedBy": self.modified_by,
            "createdByClientId": self.created_by_client,
            "lastModifiedByClientId": self.modified_by_client,
        }


@dataclass
class SandboxStore:
    org_id: str
    name: str
    records: dict[str, dict[str, Record]] = field(default_factory=lambda: {k: {} for k in KINDS})
    last_moment: datetime | None = None

    @property
    def sandbox_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"adobe-sandbox:{self.org_id}/{self.name}"))

    def find(self, kind: str, ident: str) -> dict[str, Any] | None:
        record = self.records[kind].get(ident)
        return record.entity if record else None


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
            self.faults: list[Fault] = []
            self.requests: list[RecordedRequest] = []

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings until the next reset (a test that needs a lenient or tiny limit)."""
        with self.lock:
            self.config = self.config.with_changes(**changes)
            return self.config

    # -- faults and log -----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    # -- IMS ------------------------------------------------------------------------------
    def issue_token(
        self, content_type: str | None, form: dict[str, list[str]], query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """`POST /ims/token/v3` with the client-credentials grant."""
        config = self.config
        if _media_type(content_type) != "application/x-www-form-urlencoded":
            raise oauth_error(
                400, "invalid_request", "body must be application/x-www-form-urlencoded"
            )
        if config.reject_query_credentials:
            for name in ("client_id", "client_secret", "grant_type", "scope"):
                if name in query:
                    raise oauth_error(
                        400,
                        "invalid_request",
                        f"{name} must be sent in the form body, not in the query string",
                    )
        params = {k: v[-1] for k, v in {**query, **form}.items() if v}

        def required(name: str) -> str:
            if not params.get(name):
                raise oauth_error(400, "invalid_request", f"missing {name} parameter")
            return params[name]

        grant = required("grant_type")
        if grant != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
        client_id = required("client_id")
        if client_id != config.client_id:
            raise oauth_error(400, "invalid_client", "invalid client_id parameter")
        secret = required("client_secret")
        if not any(secrets.compare_digest(secret, s) for s in config.client_secrets):
            raise oauth_error(400, "invalid_client", "invalid client_secret parameter")
        scope = required("scope")
        requested = [s.strip() for s in scope.split(",")]
        unknown = [s for s in requested if s not in config.allowed_scopes]
        if unknown or not all(requested):
            raise oauth_error(400, "invalid_scope", f"invalid scope: {','.join(unknown) or scope}")
        token = "emu-" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = Token(client_id, time.time() + config.token_lifetime_seconds)
            self.tokens_issued += 1
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
        self, method: str, headers: dict[str, str], *, body_media_type: str | None = None
    ) -> Identity:
        """The Adobe I/O gateway's checks, in the order issue 2 lists them."""
        config = self.config
        authorization = headers.get("authorization")
        if not authorization:
            raise gateway_error(403, "403010", "Oauth token is missing.")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            known = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if known is None or known.expires_at <= time.time():
            raise gateway_error(401, "401013", "Oauth token is not valid")
        api_key = headers.get("x-api-key")
        if not api_key:
            raise gateway_error(403, "403000", "Api Key is required")
        if api_key != known.client_id:
            raise gateway_error(403, "403003", "Api Key is invalid")
        org = headers.get("x-gw-ims-org-id")
        if not org:
            raise gateway_error(400, "400003", "Missing header")
        if not org.endswith("@AdobeOrg"):
            raise gateway_error(403, "403027", "User region is missing")
        if org != config.org_id:
            raise gateway_error(403, "403025", "Profile is not valid")
        if method in ("POST", "PUT", "PATCH"):
            wanted = body_media_type or "application/json"
            if not media_type_matches(headers.get("content-type"), wanted):
                raise content_type_error()
        sandbox = headers.get("x-sandbox-name") or config.default_sandbox
        return Identity(known.client_id, org, sandbox)

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

    # -- DPS CRUD -------------------------------------------------------------------------
    def create(self, identity: Identity, kind: Kind, body: Any) -> dict[str, Any]:
        with self.lock:
            store = self.store(identity)
            Validator(self.config, store.find).validate(kind, body)
            moment = self._tick(store)
            ident = f"dps:{kind.id_kind}:{secrets.token_hex(8)}"
            record = Record(
                kind=kind,
                id=ident,
                entity=copy.deepcopy(body),
                etag=1,
                created=moment,
                modified=moment,
                created_by=identity.user_id,
                created_by_client=identity.client_id,
                modified_by=identity.user_id,
                modified_by_client=identity.client_id,
            )
            store.records[kind.name][ident] = record
            return record.receipt(store.sandbox_id)

    def get(self, identity: Identity, kind: Kind, ident: str) -> dict[str, Any]:
        with self.lock:
            return self._get_record(self.store(identity), kind, ident).representation()

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

    def patch(self, identity: Identity, kind: Kind, ident: str, operations: Any) -> dict[str, Any]:
        with self.lock:
            store = self.store(identity)
            record = self._get_record(store, kind, ident)
            _check_patch_document(operations)
            document = record.representation()
            try:
                patched = jsonpatch.JsonPatch(operations).apply(document)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise problem(409, f"test operation failed: {exc}", code=1005) from exc
            except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
                raise problem(409, f"patch cannot be applied: {exc}", code=1005) from exc
            except jsonpatch.JsonPatchException as exc:
                raise problem(400, f"patch: {exc}", code=1005) from exc
            entity = {k: v for k, v in patched.items() if k not in SERVER_FIELDS}
            Validator(self.config, store.find, status=422).validate(kind, entity)
            record.entity = entity
            record.etag += 1
            record.modified = self._tick(store)
            record.modified_by = identity.user_id
            record.modified_by_client = identity.client_id
            return record.receipt(store.sandbox_id)

    def list(
        self, identity: Identity, kind: Kind, query: dict[str, list[str]], extra_params: list
    ) -> dict[str, Any]:
        """`GET /{resource}`: filter, sort, page; links relative to the DPS base."""
        config = self.config
        allowed = {"property", "orderby", "orderBy", "limit", "start"} | {
            n for n, _ in extra_params
        }
        _check_query(query, allowed, config)
        orderby_values = query.get("orderby", []) + query.get("orderBy", [])
        if len(orderby_values) > 1:
            raise problem(400, "orderby: give it once (a comma-separated list)", code=1002)
        orderby = orderby_values[0] if orderby_values else "-modified"
        order = parse_orderby(orderby)
        limit_values = query.get("limit", [])
        limit = config.list_default_limit
        if limit_values:
            try:
                limit = int(limit_values[-1])
            except ValueError as exc:
                raise problem(400, "limit: must be an integer", code=1002) from exc
            if not 1 <= limit <= config.list_max_limit:
                raise problem(
                    400, f"limit: must be between 1 and {config.list_max_limit}", code=1002
                )
        filters = parse_filters(query.get("property", []), config.regex_full_match)
        start = query.get("start", [None])[-1]
        with self.lock:
            store = self.store(identity)
            documents = [r.representation() for r in store.records[kind.name].values()]
        documents = [d for d in documents if all(f.matches(d) for f in filters)]
        page = paginate(documents, order, limit, start)

        def href(start_value: str | None) -> dict[str, str]:
            params: list[tuple[str, str]] = [("orderby", orderby), ("limit", str(limit))]
            params += [("property", p) for p in query.get("property", [])]
            if start_value:
                params.append(("start", start_value))
            params += extra_params
            return {"href": f"/{kind.resource}?{_urlencode(params)}", "type": "application/json"}

        links = {"self": href(start)}
        if page.next_start is not None:
            links["next"] = href(page.next_start)
        if page.prev_start is not None:
            links["prev"] = href(page.prev_start or None)
        return {
            "results": page.results,
            "count": len(page.results),
            "total": page.total,
            "_links": links,
        }

    # -- decisioning ----------------------------------------------------------------------
    def decide(self, identity: Identity, request: Any) -> dict[str, Any]:
        from .decisioning import decide

        with self.lock:
            return decide(self.store(identity), self.config, request)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def split_unquoted(text: str, separator: str) -> list[str]:
    """Split on `separator` outside double quotes (XDM schema parameters contain `;`)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _media_params(content_type: str) -> dict[str, str]:
    params = {}
    for part in split_unquoted(content_type, ";")[1:]:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return params


def media_type_matches(content_type: str | None, wanted: str) -> bool:
    """`wanted` may carry parameters (the XDM schema); those must match, others are ignored."""
    if _media_type(content_type) != _media_type(wanted):
        return False
    have = _media_params(content_type or "")
    return all(have.get(k) == v for k, v in _media_params(wanted).items())


def _check_query(query: dict[str, list[str]], allowed: set[str], config: EmulatorConfig) -> None:
    if config.reject_unknown_query_params:
        for name in query:
            if name not in allowed:
                raise problem(400, f"{name}: unknown query parameter", code=1002)


def _urlencode(params: list[tuple[str, str]]) -> str:
    from urllib.parse import quote

    return "&".join(f"{quote(k, safe='-')}={quote(v, safe='-,.:')}" for k, v in params)


def _check_patch_document(operations: Any) -> None:
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
            if pointer == "" or pointer.split("/")[1] in SERVER_FIELDS:
                raise problem(422, f"{where}.{key}: {pointer or '/'!r} is read-only", code=1006)
