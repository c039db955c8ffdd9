"""Malformed input, row by row, through the real operators, sensor, hook and connection.

Each row runs one task's `execute()` (or one hook call) with a real hook against the emulator
over loopback, and asserts what a user sees and what the Offer Library saw:

- the error names the problem: the field and what is wrong with it (the task's failure
  exception, which Airflow prints in the task log);
- where the input alone is wrong, NO request reached the emulator, not even for a token;
  where only Adobe can tell (an unknown placement id, a wrong secret), only the requests
  the row names did;
- nothing is half-written: every sandbox's objects are exactly as before.

`test_offer_operators.test_bad_input_fails_before_any_request` shows the same refusals
through `dag.test()` and the task log; here the table is wide and cheap.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from yaml_bombs import ALIAS_BOMB

from airflow_provider_offers._compat import AirflowFailException, AirflowNotFoundException
from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    ReceiptMissingError,
    RequestValidationError,
)
from airflow_provider_offers.hooks.offers import OfferLibraryHook
from airflow_provider_offers.operators.collections import (
    CreateOfferCollectionOperator,
    CreateTagOperator,
)
from airflow_provider_offers.operators.decisions import DecisionRequestOperator
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    CreateOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
    SyncFallbackOffersOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator
from airflow_provider_offers.sensors.offers import OfferChangeSensor

IMS = "/ims/token/v3"
DPS = "/data/core/dps"
NOTHING_SENT = "invalid input, nothing was sent: "


def edited(target: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`target` with `changes` set in it; a change to None deletes the member."""
    for key, value in changes.items():
        if value is None:
            target.pop(key)
        else:
            target[key] = value
    return target


@dataclass
class World:
    """What a row may use: an existing placement and offer, and a way to add connections."""

    emulator: Any
    dps: Any
    placement: str
    offer_id: str
    monkeypatch: pytest.MonkeyPatch
    files: Any  # a folder for catalog files

    def file(self, name: str, text: str) -> str:
        """A catalog file with this text; its absolute path."""
        path = self.files / name
        path.write_text(text)
        return str(path)

    def offer(self, **changes: Any) -> dict[str, Any]:
        """A valid fallback offer (the `dps` fixture's) with `changes` (None deletes a member)."""
        return edited(self.dps.offer_body("Bad input row", self.placement), changes)

    def representation(self, **changes: Any) -> dict[str, Any]:
        """`offer()` whose only representation carries `changes`."""
        body = self.offer()
        edited(body["representations"][0], changes)
        return body

    def component(self, **changes: Any) -> dict[str, Any]:
        """`offer()` whose only component carries `changes`."""
        body = self.offer()
        edited(body["representations"][0]["components"][0], changes)
        return body

    def connection(self, conn_id: str, **changes: Any) -> str:
        """A connection to the emulator, with `changes` to its fields or (`extra_*`) extras."""
        extra = {
            "org_id": self.emulator.org_id,
            "sandbox_name": "prod",
            "ims_url": self.emulator.url,
        }
        conn = {
            "conn_type": "adobe_offers",
            "host": self.emulator.url,
            "login": self.emulator.client_id,
            "password": self.emulator.client_secret,
        }
        for key, value in changes.items():
            target, key = (extra, key[6:]) if key.startswith("extra_") else (conn, key)
            target[key] = value
        self.monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({**conn, "extra": extra})
        )
        return conn_id


@dataclass(frozen=True)
class Row:
    """One malformed input: how to try it, what the error must say, what may be sent."""

    id: str
    attempt: Callable[[World], Any]
    says: tuple[str, ...]
    raises: type[BaseException] = AirflowFailException
    reaches: tuple[str, ...] = ()  # path prefixes a request may go to; () = none at all


def create(offer: Callable[[World], Any], **kwargs: Any) -> Callable[[World], Any]:
    return lambda w: CreateFallbackOfferOperator(task_id="t", offer=offer(w), **kwargs).execute({})


def patch(operations: Any, **kwargs: Any) -> Callable[[World], Any]:
    def attempt(w: World) -> Any:
        kwargs.setdefault("offer_id", w.offer_id)
        return PatchFallbackOfferOperator(task_id="t", operations=operations, **kwargs).execute({})

    return attempt


def sense(**kwargs: Any) -> Callable[[World], Any]:
    def attempt(w: World) -> Any:
        kwargs.setdefault("offer_id", w.offer_id)
        return OfferChangeSensor(task_id="t", poke_interval=0.1, timeout=5, **kwargs).execute({})

    return attempt


def decide(**kwargs: Any) -> Callable[[World], Any]:
    def attempt(w: World) -> Any:
        options = {"decision_id": "dps:offer-activity:1", "placement_id": w.placement}
        options.update({"profile_id": "visitor-1", **kwargs})
        return DecisionRequestOperator(task_id="t", **options).execute({})

    return attempt


def hook(call: Callable[[OfferLibraryHook, World], Any]) -> Callable[[World], Any]:
    def attempt(w: World) -> Any:
        result = call(OfferLibraryHook(), w)
        return list(result) if hasattr(result, "__next__") else result

    return attempt


def with_connection(**changes: Any) -> Callable[[World], Any]:
    """Create a valid offer through a connection with `changes`."""

    def attempt(w: World) -> Any:
        conn_id = w.connection("adobe_bad_input", **changes)
        return CreateFallbackOfferOperator(
            task_id="t", offer=w.offer(), adobe_conn_id=conn_id
        ).execute({})

    return attempt


def sync(**kwargs: Any) -> Callable[[World], Any]:
    """A catalog sync; `offers` / `offers_file` may be functions of the world."""

    def attempt(w: World) -> Any:
        given = {key: value(w) if callable(value) else value for key, value in kwargs.items()}
        return SyncFallbackOffersOperator(task_id="t", catalog="bad", **given).execute({})

    return attempt


def answered_with_a_string(w: World) -> Any:
    """A write answered 200 with a JSON string, not a receipt (the fault answers instead of
    the API, so nothing was applied). A write, not a read: a read would be asked again."""
    path = f"{DPS}/offers/{w.offer_id}"
    w.emulator.inject_fault("PATCH", path, status=200, body="<html>Done</html>")
    return OfferLibraryHook().patch_offer(w.offer_id, [{"op": "remove", "path": "/description"}])


def two_capping_rules_too_many(w: World) -> Any:
    caps = [{"enabled": True, "limit": 1, "scope": "global", "entity": "offer"}] * 11
    offer = w.offer(frequencyCappingConstraints=caps)
    return CreateOfferOperator(task_id="t", offer=offer, offer_type="personalized").execute({})


ROWS = [
    # -- offers: the body -------------------------------------------------------------------
    Row(
        "offer-name-missing", create(lambda w: w.offer(name=None)), ("offer.name: Field required",)
    ),
    Row(
        "offer-name-blank",
        create(lambda w: w.offer(name="   ")),
        ("offer.name", "at least 1 character"),
    ),
    Row(
        "offer-name-not-a-string",
        create(lambda w: w.offer(name=123)),
        ("offer.name", "valid string"),
    ),
    Row(
        "offer-status-unknown",
        create(lambda w: w.offer(status="live")),
        ("offer.status", "'draft', 'approved' or 'archived'"),
    ),
    Row(
        "offer-field-typo",
        create(
            lambda w: w.component(deliveryURL=None, deliveryUrl="https://cdn.example.com/a.png")
        ),
        ("offer.representations[0].components[0]", "unknown field(s) 'deliveryUrl'"),
    ),
    Row(
        "offer-representations-empty",
        create(lambda w: w.offer(representations=[])),
        ("offer.representations: at least one representation is required",),
    ),
    Row(
        "offer-representations-not-a-list",
        create(lambda w: w.offer(representations={"placement": w.placement})),
        ("offer.representations", "valid list"),
    ),
    Row(
        "offer-placement-missing",
        create(lambda w: w.representation(placement=None)),
        ("offer.representations[0]", "needs a `placement` id"),
    ),
    Row(
        "offer-channel-missing",
        create(lambda w: w.representation(channel=None)),
        ("offer.representations[0]", "needs a `channel`"),
    ),
    Row(
        "offer-components-empty",
        create(lambda w: w.representation(components=[])),
        ("offer.representations[0]", "at least one component"),
    ),
    Row(
        "offer-component-without-content",
        create(lambda w: w.component(deliveryURL=None)),
        ("offer.representations[0].components[0]", "needs `content` or `deliveryURL`"),
    ),
    Row(
        "offer-placement-used-twice",
        create(lambda w: w.offer(representations=w.offer()["representations"] * 2)),
        ("offer", "two representations use the same placement"),
    ),
    Row(
        "offer-placement-unknown",
        create(lambda w: w.representation(placement="dps:offer-placement:no-such-placement")),
        ("HTTP 400", "representations[0].placement", "no-such-placement"),
        raises=RequestValidationError,
        reaches=(IMS, f"{DPS}/offers"),
    ),
    Row(
        "offer-delivery-url-not-a-url",
        create(lambda w: w.component(deliveryURL="not a url")),
        ("offer.representations[0].components[0].deliveryURL: 'not a url' is not an http(s) URL",),
    ),
    Row(
        "offer-delivery-url-without-scheme",
        create(lambda w: w.component(deliveryURL="cdn.example.com/a.png")),
        ("components[0].deliveryURL: 'cdn.example.com/a.png' is not an http(s) URL",),
    ),
    Row(
        "offer-link-url-with-blank",
        create(lambda w: w.component(linkURL="https://shop.example.com/spring sale")),
        ("components[0].linkURL: 'https://shop.example.com/spring sale' is not an absolute URL",),
    ),
    Row(
        "offer-priority-negative",
        create(lambda w: w.offer(rank={"priority": -1})),
        ("offer.rank.priority", "greater than or equal to 0"),
    ),
    Row(
        "offer-priority-not-a-number",
        create(lambda w: w.offer(rank={"priority": "high"})),
        ("offer.rank.priority", "valid integer"),
    ),
    Row(
        "offer-characteristic-not-a-string",
        create(lambda w: w.offer(characteristics={"tier": 1})),
        ("offer.characteristics.tier", "valid string"),
    ),
    Row(
        "offer-tags-not-a-list",
        create(lambda w: w.offer(tags="summer")),
        ("offer.tags", "valid list"),
    ),
    Row(
        "offer-too-many-tags",
        create(lambda w: w.offer(tags=[f"dps:tag:{i}" for i in range(21)])),
        (
            "offer.tags: offer 'Bad input row' has 21 collection qualifiers;",
            "Adobe allows at most 20 collection qualifiers per offer or collection",
            "decision-management-guardrails",
        ),
    ),
    Row(
        "offer-too-many-capping-rules",
        two_capping_rules_too_many,
        (
            "offer.frequencyCappingConstraints: offer 'Bad input row' has 11 capping rules;",
            "Adobe allows at most 10 capping rules per offer",
            "decision-management-guardrails",
        ),
    ),
    Row(
        "offer-ends-before-it-starts",
        create(
            lambda w: w.offer(
                selectionConstraint={
                    "startDate": "2026-06-01T00:00:00Z",
                    "endDate": "2026-05-01T00:00:00Z",
                }
            )
        ),
        ("offer.selectionConstraint", "endDate must be after startDate"),
    ),
    Row(
        "offer-date-without-offset",
        create(lambda w: w.offer(selectionConstraint={"startDate": "2026-06-01T00:00:00"})),
        ("offer.selectionConstraint.startDate", "timezone"),
    ),
    Row("offer-not-json", create(lambda w: '{"name": "cut off'), ("offer: not valid JSON",)),
    Row(
        "offer-a-list", create(lambda w: [w.offer()]), ("offer: expected a dict or FallbackOffer",)
    ),
    Row(
        "offer-type-unknown",
        lambda w: CreateOfferOperator(task_id="t", offer=w.offer(), offer_type="seasonal").execute(
            {}
        ),
        ("offer_type: 'seasonal' is not an offer type",),
    ),
    Row(
        "if-exists-unknown",
        create(lambda w: w.offer(), if_exists="replace"),
        ("if_exists: 'replace' is not one of update, skip, fail",),
    ),
    # -- JSON Patch ---------------------------------------------------------------------------
    Row(
        "patch-op-unknown",
        patch([{"op": "merge", "path": "/name", "value": "x"}]),
        ("operations[0].op", "'add', 'remove', 'replace', 'move', 'copy' or 'test'"),
    ),
    Row(
        "patch-path-not-a-pointer",
        patch([{"op": "replace", "path": "name", "value": "x"}]),
        ("operations[0]: path 'name' is not a JSON Pointer",),
    ),
    Row(
        "patch-path-bad-escape",
        patch([{"op": "remove", "path": "/a~2b"}]),
        ("operations[0]: path '/a~2b' is not a JSON Pointer",),
    ),
    Row(
        "patch-path-missing",
        patch([{"op": "remove"}]),
        ("operations[0].path: Field required",),
    ),
    Row(
        "patch-replace-without-value",
        patch([{"op": "replace", "path": "/name"}]),
        ("operations[0]: op 'replace' needs a `value`",),
    ),
    Row(
        "patch-move-without-from",
        patch([{"op": "move", "path": "/description"}]),
        ("operations[0]: op 'move' needs `from`",),
    ),
    Row(
        "patch-move-into-its-own-child",
        patch([{"op": "move", "from": "/rank", "path": "/rank/priority"}]),
        ("operations[0]: cannot move a value into one of its own children",),
    ),
    Row("patch-no-operations", patch([]), ("operations: at least one operation is required",)),
    Row(
        "patch-one-operation-not-a-list",
        patch({"op": "remove", "path": "/description"}),
        ("operations: expected a list of JSON Patch operations",),
    ),
    Row("patch-operations-not-json", patch('[{"op": "remove"'), ("operations: not valid JSON",)),
    Row(
        "patch-operation-member-unknown",
        patch([{"op": "remove", "path": "/description", "values": 1}]),
        ("operations[0]", "unknown field(s) 'values'"),
    ),
    Row(
        "patch-offer-id-blank",
        patch([{"op": "remove", "path": "/description"}], offer_id="  "),
        ("offer_id: '  ' is not an id",),
    ),
    Row(
        "patch-offer-id-not-a-string",
        patch([{"op": "remove", "path": "/description"}], offer_id=42),
        ("offer_id: 42 is not an id",),
    ),
    Row(
        "etag-a-word",
        patch([{"op": "remove", "path": "/description"}], expected_etag="latest"),
        ("expected_etag: 'latest' is not an etag",),
    ),
    Row(
        "etag-negative",
        patch([{"op": "remove", "path": "/description"}], expected_etag=-1),
        ("expected_etag: -1 is not an etag",),
    ),
    Row(
        "etag-rendered-none",
        patch([{"op": "remove", "path": "/description"}], expected_etag="None"),
        ("expected_etag: 'None' is not an etag", "XCom that does not exist"),
    ),
    Row(
        "etag-a-boolean",
        patch([{"op": "remove", "path": "/description"}], expected_etag=True),
        ("expected_etag: True is not an etag",),
    ),
    Row(
        "etag-a-fraction",
        patch([{"op": "remove", "path": "/description"}], expected_etag="1.5"),
        ("expected_etag: '1.5' is not an etag",),
    ),
    Row(
        "etag-stale",
        patch([{"op": "replace", "path": "/name", "value": "x"}], expected_etag=7),
        ("expected etag 7", "1"),
        reaches=(IMS, f"{DPS}/offers/"),
    ),
    Row(
        "patch-does-not-apply",
        patch([{"op": "remove", "path": "/no-such-member"}], expected_etag=1),
        ("do not apply", "non-existent object 'no-such-member'", "nothing was written"),
        reaches=(IMS, f"{DPS}/offers/"),
    ),
    Row(
        "patch-offer-missing",
        patch([{"op": "remove", "path": "/description"}], offer_id="dps:fallback-offer:gone"),
        (
            "PATCH /data/core/dps/offers/dps:fallback-offer:gone",
            "HTTP 404",
            "'dps:fallback-offer:gone'",
        ),
        raises=NotFoundError,
        reaches=(IMS, f"{DPS}/offers/"),
    ),
    Row(
        "delete-offer-id-blank",
        lambda w: DeleteFallbackOfferOperator(task_id="t", offer_id="").execute({}),
        ("offer_id: '' is not an id",),
    ),
    # -- placements, tags, collections, decisions ---------------------------------------------
    Row(
        "placement-field-typo",
        lambda w: CreatePlacementOperator(
            task_id="t", placement={"name": "P", "channel": "web", "componentTyp": "html"}
        ).execute({}),
        ("placement", "unknown field(s) 'componentTyp'"),
    ),
    Row(
        "placement-item-count-zero",
        lambda w: CreatePlacementOperator(
            task_id="t", placement={"name": "P", "componentType": "html", "itemCount": 0}
        ).execute({}),
        ("placement.itemCount", "greater than or equal to 1"),
    ),
    Row(
        "tag-without-name",
        lambda w: CreateTagOperator(task_id="t", tag={}).execute({}),
        ("tag.name: Field required",),
    ),
    Row(
        "collection-too-many-offers",
        lambda w: CreateOfferCollectionOperator(
            task_id="t",
            collection={
                "name": "Too big",
                "filterType": "offers",
                "ids": [f"dps:personalized-offer:{i}" for i in range(501)],
            },
        ).execute({}),
        (
            "collection.ids: collection 'Too big' has 501 offers; Adobe allows at most 500",
            "decision-management-guardrails",
        ),
    ),
    Row(
        "decision-item-count-31", decide(item_count=31), ("item_count: 31 is not between 1 and 30",)
    ),
    Row(
        "decision-item-count-a-word",
        decide(item_count="many"),
        ("item_count: 'many' is not a whole number",),
    ),
    Row(
        "decision-profile-twice",
        decide(identity_map={"Email": ["a@example.com"]}),
        ("profile_id: give exactly one of profile_id or identity_map",),
    ),
    Row(
        "decision-no-profile",
        decide(profile_id=None),
        ("profile_id: give exactly one of profile_id or identity_map",),
    ),
    Row("decision-id-blank", decide(decision_id=" "), ("decision_id: ' ' is not an id",)),
    # -- catalog syncs ------------------------------------------------------------------------
    Row(
        "sync-duplicate-names",
        sync(offers=lambda w: [w.offer(), w.offer(description="again")]),
        ("offers: ", "the name 'Bad input row' is used 2 times (offers[0], offers[1])"),
    ),
    Row(
        "sync-one-bad-offer-among-good",
        sync(offers=lambda w: [w.offer(name="Good"), w.offer(status="live")]),
        ("offers[1] ('Bad input row').status", "'draft', 'approved' or 'archived'"),
    ),
    Row(
        "sync-yaml-not-a-list",
        sync(
            offers_file=lambda w: w.file("catalog.yaml", "just some words\n"),
            allow_outside_dag_folder=True,
        ),
        ("offers_file: ", "catalog.yaml: expected a list of offers, got str"),
    ),
    Row(
        "sync-yaml-broken",
        sync(
            offers_file=lambda w: w.file("catalog.yaml", "- name: [unclosed\n"),
            allow_outside_dag_folder=True,
        ),
        ("offers_file: ", "catalog.yaml: not valid YAML"),
    ),
    Row(
        "sync-json-broken",
        sync(
            offers_file=lambda w: w.file("catalog.json", '[{"name": "x",]'),
            allow_outside_dag_folder=True,
        ),
        ("offers_file: ", "catalog.json: not valid JSON"),
    ),
    Row(
        "sync-file-missing",
        sync(offers_file="/nonexistent/catalog.yaml", allow_outside_dag_folder=True),
        ("offers_file: '/nonexistent/catalog.yaml': no such file or directory",),
    ),
    Row(
        "sync-file-absolute",
        sync(offers_file=lambda w: w.file("catalog.yaml", "[]\n")),
        ("offers_file: ", "is not relative to the DAG's folder", "allow_outside_dag_folder=True"),
    ),
    Row(
        "sync-file-escapes-the-folder",
        sync(offers_file="../victim/config.yaml"),
        ("offers_file: '../victim/config.yaml' leads outside the DAG's folder",),
    ),
    Row(
        "sync-file-url-of-a-local-file",
        sync(offers_file="file:///etc/passwd"),
        ("offers_file: 'file:///etc/passwd' is not relative to the DAG's folder",),
    ),
    Row(
        "sync-yaml-alias-bomb",
        sync(offers_file=lambda w: w.file("bomb.yaml", ALIAS_BOMB), allow_outside_dag_folder=True),
        ("offers_file: ", "bomb.yaml: expands to more than 2,000,000 values"),
    ),
    Row(
        "sync-value-not-given",
        sync(
            offers_file=lambda w: w.file("v.yaml", "- name: x\n  description: {$value: nope}\n"),
            allow_outside_dag_folder=True,
            values={"placement": "p"},
        ),
        ("values: ", "/0/description asks for the value 'nope'", "('placement')"),
    ),
    Row(
        "sync-prune-an-empty-catalog",
        sync(
            offers_file=lambda w: w.file("empty.yaml", ""),
            prune=True,
            allow_outside_dag_folder=True,
        ),
        ("offers_file: ", "holds no offers", "allow_empty=True"),
    ),
    Row(
        "sync-prune-not-yes-or-no",
        sync(offers=lambda w: [w.offer()], prune="maybe"),
        ("prune: 'maybe' is not a yes/no value",),
    ),
    Row(
        "sync-expected-plan-rendered-empty",
        sync(offers=lambda w: [w.offer()], expected_plan="None"),
        ("expected_plan: 'None': it was given but is empty",),
    ),
    Row(
        "sync-offers-and-file",
        sync(offers=[], offers_file="catalog.yaml"),
        ("offers: give exactly one of offers and offers_file",),
    ),
    Row(
        "sync-concurrency-zero",
        sync(offers=lambda w: [w.offer()], max_concurrency=0),
        ("max_concurrency: 0 is less than 1",),
    ),
    Row(
        "sync-placement-unknown",
        sync(offers=lambda w: [w.representation(placement="dps:offer-placement:nowhere")]),
        ("dps:offer-placement:nowhere", "nothing was written"),
        reaches=(IMS, f"{DPS}/offers", f"{DPS}/placements"),
    ),
    # -- the sensor ---------------------------------------------------------------------------
    Row("sensor-offer-id-blank", sense(offer_id=""), ("offer_id: '' is not an id",)),
    Row("sensor-offer-type-unknown", sense(offer_type="seasonal"), ("offer_type: 'seasonal'",)),
    Row("sensor-etag-a-word", sense(since_etag="abc"), ("since_etag: 'abc' is not an etag",)),
    Row(
        "sensor-time-without-offset",
        sense(since_modified="2026-01-01T00:00:00"),
        ("since_modified", "has no UTC offset"),
    ),
    Row(
        "sensor-time-a-word",
        sense(since_modified="yesterday"),
        ("since_modified: 'yesterday' is not an ISO-8601 date-time",),
    ),
    # -- the hook -----------------------------------------------------------------------------
    Row(
        "hook-page-size-zero",
        hook(lambda h, w: h.list_offers(limit=0)),
        ("limit: expected a positive integer",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-filter-blank",
        hook(lambda h, w: h.list_offers(filters=[""])),
        ("filters[0]: expected a non-empty string",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-find-blank-name",
        hook(lambda h, w: h.find_offer_by_name("")),
        ("name: expected a non-empty string",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-unknown-resource",
        hook(lambda h, w: h.create_resource("widgets", {"name": "w"})),
        ("resource: expected one of",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-offer-id-none",
        hook(lambda h, w: h.get_offer(None)),
        ("id: None is not an id",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-offer-type-unknown",
        hook(lambda h, w: h.create_offer(w.offer(), offer_type="Seasonal")),
        ("offer_type: 'Seasonal' is not an offer type",),
        raises=InvalidInputError,
    ),
    Row(
        "hook-async-offer-id-blank",
        hook(lambda h, w: asyncio.run(h.aget_offer(""))),
        ("id: '' is not an id",),
        raises=InvalidInputError,
    ),
    Row(
        "answer-not-a-receipt",
        answered_with_a_string,
        ("PATCH /data/core/dps/offers/", "HTTP 200 but the answer is not the documented body"),
        raises=ReceiptMissingError,
        reaches=(IMS, f"{DPS}/offers/"),
    ),
    # -- the connection: see CONNECTION_ROWS below ---------------------------------------------
    Row(
        "connection-missing",
        lambda w: CreateFallbackOfferOperator(
            task_id="t", offer=w.offer(), adobe_conn_id="adobe_no_such_connection"
        ).execute({}),
        ("adobe_no_such_connection",),
        raises=AirflowNotFoundException,
    ),
    Row(
        "connection-secret-refused",
        with_connection(password="not-the-secret"),
        ("/ims/token/v3 failed with HTTP 400 [invalid_client]: invalid client_secret",),
        raises=AuthenticationError,
        reaches=(IMS,),
    ),
]

#: (id, changes to the emulator's connection (`extra_*`: an extra), what the error says).
CONNECTION_ROWS = [
    (
        "without-client-id",
        {"login": ""},
        "client_id: connection 'adobe_bad_input' has no Client ID",
    ),
    ("without-secret", {"password": None}, "client_secret: connection 'adobe_bad_input' has no"),
    ("without-org-id", {"extra_org_id": ""}, "org_id: connection 'adobe_bad_input' has no IMS Org"),
    (
        "org-id-malformed",
        {"extra_org_id": "0123456789ABCDEF01234567"},
        "org_id: '0123456789ABCDEF01234567' is not an IMS org id: expected letters and digits",
    ),
    (
        "sandbox-with-a-blank",
        {"extra_sandbox_name": "dev sandbox"},
        "sandbox_name: 'dev sandbox' is not a sandbox technical name: lower-case",
    ),
    (
        "sandbox-title-not-name",
        {"extra_sandbox_name": "Prod"},
        "sandbox_name: 'Prod' is not a sandbox technical name (sandbox technical names are lower",
    ),
    (
        "host-not-http",
        {"host": "ftp://platform.adobe.io"},
        "host: 'ftp://platform.adobe.io' is not an http(s) URL",
    ),
    (
        "host-with-a-blank",
        {"host": "platform adobe io"},
        "host: 'https://platform adobe io' is not an http(s) URL",
    ),
    (
        "host-without-a-name",
        {"host": "https://:8443"},
        "host: 'https://:8443' is not an http(s) URL with a host name",
    ),
    (
        "port-not-a-number",
        {"host": "https://platform.adobe.io:https"},
        "host: 'https://platform.adobe.io:https' is not an http(s) URL",
    ),
    (
        "ims-url-not-a-url",
        {"extra_ims_url": "ims na1 adobelogin com"},
        "ims_url: 'https://ims na1 adobelogin com' is not an http(s) URL",
    ),
    ("scopes-empty", {"extra_scopes": " , ,"}, "scopes: no scope given"),
]
ROWS += [
    Row(
        f"connection-{name}",
        with_connection(**changes),
        (says, "connection 'adobe_bad_input'"),
    )
    for name, changes, says in CONNECTION_ROWS
]


def state(emulator) -> dict:
    """Every object in every sandbox, with its etag (sandboxes with nothing in them omitted)."""
    with emulator.backend.lock:
        return {
            key: {
                kind: {ident: (r.etag, copy.deepcopy(r.entity)) for ident, r in records.items()}
                for kind, records in store.records.items()
                if records
            }
            for key, store in emulator.backend.stores.items()
            if any(store.records.values())
        }


@pytest.fixture
def world(offer_library_emulator, adobe_connection, dps, monkeypatch, tmp_path) -> World:
    ImsTokenSource.reset_cache()  # a row that may send must not lean on an earlier row's token
    placement = dps.create_placement("Homepage banner")
    offer = dps.create_offer(dps.offer_body("Existing offer", placement))
    return World(offer_library_emulator, dps, placement, offer["id"], monkeypatch, tmp_path)


def test_the_table_is_wide():
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_is_refused_clearly_and_writes_nothing(row: Row, world: World):
    emulator = world.emulator
    before, logged = state(emulator), len(emulator.requests)

    with pytest.raises(row.raises) as caught:
        row.attempt(world)

    message = str(caught.value)
    if row.raises is AirflowFailException and not row.reaches:
        assert message.startswith(NOTHING_SENT), message
    for part in row.says:
        assert part in message, f"{part!r} not in {message!r}"
    sent = [f"{r.method} {r.path}" for r in emulator.requests[logged:]]
    if row.reaches:
        assert sent, "the row was meant to reach the server"
    assert [s for s in sent if not s.split(" ", 1)[1].startswith(row.reaches or ("\0",))] == []
    assert state(emulator) == before
    assert emulator.client_secret not in message
