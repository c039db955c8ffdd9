"""One emulator's state, and one lock over it: the Offer Library (`models/`), IMS tokens, the
fault queue, interludes and the request log.

`OfferLibraryBackend` takes typed arguments: `responses.py` parses requests, checks media
types and builds links. Every refusal is an `EmulatorError` carrying the status and body to send.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .auth import Ims, Token
from .config import EmulatorConfig
from .controls import RecordedRequest
from .faults import FaultQueue
from .models.decisioning import decide
from .models.kinds import KINDS, Kind
from .models.listing import Expression, Page
from .models.store import Identity, SandboxStore
from .models.workloads import WorkloadBook


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
            self.ims = Ims(self.lock)  # tokens issued, and the gateway's checks (auth.py)
            self.faults = FaultQueue(self.config)  # injected and random faults (faults.py)
            self.interludes: list[Interlude] = []
            self.requests: list[RecordedRequest] = []
            self.workloads = WorkloadBook()  # batch decisioning (models/workloads.py)
            self.listings = ListingCache()

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings until the next reset; `answer_style=` sets every style at once.

        Setting `fault_seed` or `fault_rates` starts the random faults' sequence afresh.
        """
        with self.lock:
            self.config = self.config.with_changes(**changes)
            if {"fault_seed", "fault_rates"} & set(changes):
                self.faults.reseed(self.config)
            return self.config

    # -- interludes and log ---------------------------------------------------------------
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

    @property
    def tokens(self) -> dict[str, Token]:
        return self.ims.tokens

    def store(self, identity: Identity) -> SandboxStore:
        with self.lock:
            key = (identity.org_id, identity.sandbox)
            if key not in self.stores:
                self.stores[key] = SandboxStore(identity.org_id, identity.sandbox)
            return self.stores[key]

    # -- DPS: the store's rules under the lock --------------------------------------------
    def create(self, identity: Identity, kind: Kind, body: Any) -> dict[str, Any]:
        with self.lock:
            return self.store(identity).create(self.config, identity, kind, body)

    def get(self, identity: Identity, kind: Kind, ident: str) -> dict[str, Any]:
        with self.lock:
            return self.store(identity).record(kind, ident).representation(self.config)

    def delete(self, identity: Identity, kind: Kind, ident: str) -> None:
        with self.lock:
            self.store(identity).delete(self.config, kind, ident)

    def patch(self, identity: Identity, kind: Kind, ident: str, operations: Any) -> dict[str, Any]:
        with self.lock:
            return self.store(identity).patch(self.config, identity, kind, ident, operations)

    def replace(self, identity: Identity, kind: Kind, ident: str, body: Any) -> dict[str, Any]:
        with self.lock:
            return self.store(identity).replace(self.config, identity, kind, ident, body)

    def write_unchecked(
        self, sandbox: str, kind_name: str, ident: str, members: dict[str, Any]
    ) -> dict[str, Any]:
        """Set members of a stored object past the rules this emulator enforces, as a write
        like any other (new etag and `modified`): an object as another client or a newer API
        version may leave it, outside what a client's read models expect. A test control."""
        with self.lock:
            store = self.store(Identity(self.config.client_id, self.config.org_id, sandbox))
            return store.write_unchecked(self.config, KINDS[kind_name], ident, members)

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
        """`GET /{resource}`: filter and sort (or reuse the sort of an earlier page), then page."""
        with self.lock:
            store = self.store(identity)
            keyed = self.listings.sorted(store, self.config, kind, filters, order)
            return store.page(self.config, kind, keyed, order, limit, start)

    # -- decisioning ----------------------------------------------------------------------
    def decide(self, identity: Identity, request: Any) -> dict[str, Any]:
        with self.lock:
            return decide(self.store(identity), self.config, request)


class ListingCache:
    """The sorted listings of recent queries: the pages of one listing are cut from one sort
    instead of filtering and sorting every object again per page. An entry holds for one
    generation of its store and one config."""

    SIZE = 32  # look-ups by name each add one; keep a few

    def __init__(self) -> None:
        self.entries: dict[tuple, tuple[int, EmulatorConfig, list]] = {}

    def sorted(
        self,
        store: SandboxStore,
        config: EmulatorConfig,
        kind: Kind,
        filters: list[Expression],
        order: list[tuple[str, bool]],
    ) -> list[tuple[list, dict]]:
        key = (store.org_id, store.name, kind.name, repr(filters), repr(order))
        cached = self.entries.get(key)
        if cached is not None and cached[0] == store.generation and cached[1] is config:
            return cached[2]
        keyed = store.sorted(config, kind, filters, order)
        self.entries.pop(key, None)
        if len(self.entries) >= self.SIZE:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = (store.generation, config, keyed)
        return keyed
