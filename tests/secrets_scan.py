"""Look for credentials everywhere they must never be; reusable by any test (examples, chaos).

    scan = SecretsScan.for_emulator(emulator, "a-wrong-secret-we-tried")  # after the runs
    scan.text("task output", task_output())
    scan.airflow_metadata()              # every XCom and rendered template field in the DB
    scan.files(airflow_home)             # every file below it: task logs, the metadata DB, ...
    scan.objects("hook", hook, hook.client, hook.config)   # repr() and str() of each
    scan.exception("create", error)      # str, repr, the traceback with its causes
    scan.emulator_log(emulator)          # the request log as the emulator prints it
    scan.assert_clean()                  # fails listing each hit: where, which secret, context

The secrets are the emulator's accepted client secrets, every access token it issued since its
last reset (`EmulatorServer.issued_tokens`, so build the scan after the runs) and any extra
value given (a wrong secret a test tried). A hit's context shows the text around the secret
with the secret itself replaced by its name, so the failure message leaks nothing either.

An emulator in another process hands out no token, only each one's SHA-256
(`GET /_emulator/tokens`): `SecretsScan(secrets, token_digests={name: digest})` hashes every
string shaped like an emulator token (`controls.ACCESS_TOKEN_SHAPE`) and reports the known ones.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_offers.emulator.controls import ACCESS_TOKEN_SHAPE, token_digest

_CONTEXT = 60


@dataclass(frozen=True)
class Hit:
    """One secret found: where, which one (by name, never its value), and the text around it."""

    place: str
    secret: str
    context: str


@dataclass
class SecretsScan:
    """Collects texts from many places and finds the given secrets in them (`name -> value`)."""

    secrets: Mapping[str, str]
    token_digests: Mapping[str, str] = field(default_factory=dict)  # name -> SHA-256 (hex)
    hits: list[Hit] = field(default_factory=list)
    places: dict[str, int] = field(default_factory=dict)  # kind of place -> how many scanned

    @classmethod
    def for_emulator(cls, emulator: Any, *extra_secrets: str) -> SecretsScan:
        """The emulator's client secrets, every token it issued so far, and `extra_secrets`."""
        secrets = {
            f"client secret {i + 1}": s for i, s in enumerate(emulator.config.client_secrets)
        }
        secrets.update({f"access token {i + 1}": t for i, t in enumerate(emulator.issued_tokens)})
        secrets.update({f"extra secret {i + 1}": s for i, s in enumerate(extra_secrets)})
        return cls(secrets)

    # -- what to scan -----------------------------------------------------------------------
    def text(self, place: str, text: str | bytes, kind: str | None = None) -> SecretsScan:
        """Scan one text (bytes are read as Latin-1: every byte is one character)."""
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        kind = kind or place
        self.places[kind] = self.places.get(kind, 0) + 1
        for name, secret in self.secrets.items():
            start = text.find(secret)
            while start >= 0:
                self.hits.append(Hit(place, name, self._context(text, start, secret)))
                start = text.find(secret, start + 1)
        by_digest = {digest: name for name, digest in self.token_digests.items()}
        for match in ACCESS_TOKEN_SHAPE.finditer(text) if by_digest else ():
            name = by_digest.get(token_digest(match.group()))
            if name is not None:
                context = self._context(text, match.start(), match.group(), name)
                self.hits.append(Hit(place, name, ACCESS_TOKEN_SHAPE.sub("<token>", context)))
        return self

    def objects(self, place: str, *objects: Any) -> SecretsScan:
        """`repr()` and `str()` of each object (hooks, clients, configs, token sources)."""
        for obj in objects:
            self.text(f"{place}: {type(obj).__name__}", f"{obj!r}\n{obj}", kind="repr")
        return self

    def exception(self, place: str, error: BaseException) -> SecretsScan:
        """An error's str, repr and formatted traceback (its causes and context included)."""
        formatted = "".join(traceback.format_exception(error))
        return self.text(place, f"{error}\n{error!r}\n{formatted}", kind="exception")

    def files(self, root: Path, skip: Iterable[str] = ()) -> SecretsScan:
        """Every file below `root` (task logs, the SQLite metadata DB, written DAGs, ...)."""
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not any(part in skip for part in path.parts):
                self.text(f"file {path.relative_to(root)}", path.read_bytes(), kind="file")
        return self

    def airflow_metadata(self) -> SecretsScan:
        """Every XCom value and rendered template field in Airflow's metadata DB, and the
        audit log's extras."""
        from airflow.models.log import Log
        from airflow.models.renderedtifields import RenderedTaskInstanceFields
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            for xcom in session.query(XComModel).all():
                place = f"xcom {xcom.dag_id}/{xcom.task_id}[{xcom.map_index}] {xcom.key}"
                self.text(place, _as_text(xcom.value), kind="xcom")
            for fields in session.query(RenderedTaskInstanceFields).all():
                place = f"rendered fields {fields.dag_id}/{fields.task_id}[{fields.map_index}]"
                self.text(place, _as_text(fields.rendered_fields), kind="rendered fields")
            for entry in session.query(Log).all():
                self.text(f"audit log {entry.event}", _as_text(entry.extra), kind="audit log")
        return self

    def emulator_log(self, emulator: Any) -> SecretsScan:
        """The emulator's request log as it prints it: each request's repr and the JSON its
        `GET /_emulator/requests` control answers."""
        requests = emulator.requests
        self.text("emulator request log (repr)", "\n".join(map(repr, requests)))
        printed = json.dumps([r.to_dict() for r in requests])
        return self.text("emulator request log (JSON)", printed)

    # -- the verdict ------------------------------------------------------------------------
    def assert_clean(self) -> None:
        """Fail listing every hit (place, secret name, context), never a secret's value."""
        assert self.secrets or self.token_digests, "nothing to look for: build it after the runs"
        assert not self.hits, "secrets found:\n" + "\n".join(
            f"- {hit.secret} in {hit.place}: ...{hit.context}..." for hit in self.hits
        )

    def summary(self) -> str:
        """One line for a test's printed figures: what was scanned and what was found."""
        scanned = ", ".join(f"{count} {kind}" for kind, count in sorted(self.places.items()))
        count = len(self.secrets) + len(self.token_digests)
        return f"secrets scan: {count} secrets in {scanned}: {len(self.hits)} hits"

    def _context(self, text: str, start: int, secret: str, name: str | None = None) -> str:
        before = text[max(0, start - _CONTEXT) : start]
        after = text[start + len(secret) : start + len(secret) + _CONTEXT]
        around = f"{before}<{name or self._name(secret)}>{after}"
        for name, value in self.secrets.items():
            around = around.replace(value, f"<{name}>")
        return around.replace("\n", " ")

    def _name(self, secret: str) -> str:
        return next(name for name, value in self.secrets.items() if value == secret)


def _as_text(value: Any) -> str:
    if isinstance(value, str | bytes):
        return value.decode("latin-1") if isinstance(value, bytes) else value
    return json.dumps(value, default=repr)
