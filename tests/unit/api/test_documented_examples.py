"""Adobe's documented requests pass the client's input rules, and it reads the documented answers.

The examples are tests/data/adobe_documented_examples.json (each with its page and commit);
tests/emulator/test_documented_examples.py replays the same requests against the emulator.
Here no request is sent: `Calls` builds each call as the client would, after its input rules.
"""

from __future__ import annotations

import pytest
from adobe_documented_examples import EXAMPLES

from airflow_provider_offers.api.calls import Call, Calls
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.resources import resolve_resource

CALLS = Calls(ClientConfig(client_id="c", client_secrets=("s",), org_id="ORG@AdobeOrg"))


def _accepted(entry: dict) -> bool:
    return entry.get("client_input", "accepted") == "accepted"


def _cases(operations: tuple[str, ...], accepted: bool | None = None):
    chosen = [
        entry
        for entry in EXAMPLES
        if entry["operation"] in operations and accepted in (None, _accepted(entry))
    ]
    return pytest.mark.parametrize("entry", chosen, ids=lambda entry: entry["id"])


def _call(entry: dict) -> Call:
    """The client's call for a documented request (its input rules applied first)."""
    kind, body = entry["kind"], entry["body"]
    ident = entry["path"].rsplit("/", 1)[-1]
    if entry["operation"] == "create":
        return CALLS.create(kind, body)
    if entry["operation"] == "update" and entry["method"] == "PUT":
        return CALLS.replace(kind, ident, body)
    if entry["operation"] == "update":
        return CALLS.patch(kind, ident, body)
    if entry["operation"] == "lookup":
        return CALLS.get(kind, ident)
    if entry["operation"] == "delete":
        return CALLS.delete(kind, ident)
    query = entry["query"]
    return CALLS.list_first(kind, filters=query.get("property"), limit=int(query["limit"]))


@_cases(("create", "update", "lookup", "list", "delete"), accepted=True)
def test_documented_request_is_built_as_the_page_shows_it(entry):
    call = _call(entry)
    assert call.method == entry["method"]
    assert call.url == CALLS.dps + entry["path"]
    assert sorted(call.params) == sorted(entry["query"].items())
    assert call.body == entry["body"]  # sent exactly as documented, nothing added or dropped


@_cases(("create", "update"), accepted=False)
def test_experience_decisioning_bodies_are_refused_naming_the_flag(entry):
    """Experience Decisioning's formulas (`exdFunction: true`) share /ranking-formulas; the
    client writes Decision Management's only, so its look-ups by name can leave them out."""
    noun = resolve_resource(entry["kind"]).noun
    with pytest.raises(InvalidInputError) as refused:
        _call(entry)
    assert refused.value.field == f"{noun}.{entry['client_refuses']}"
    without_flag = {k: v for k, v in entry["body"].items() if k != entry["client_refuses"]}
    assert _call({**entry, "body": without_flag}).body == without_flag


@_cases(("create", "update", "lookup", "list"))
def test_documented_answer_is_read_by_the_client(entry):
    built = _call({**entry, "body": _readable_body(entry)})
    answer = built.decode(entry["response"])
    if entry["operation"] == "lookup":
        assert answer.id == entry["response"]["id"]
        assert answer.raw_json() == entry["response"]
    elif entry["operation"] == "list":
        assert [item.id for item in answer.results] == [
            item["id"] for item in entry["response"]["results"]
        ]
        assert answer.count == entry["response"]["count"]
    else:
        assert answer.etag == entry["response"]["etag"]


def _readable_body(entry: dict):
    """Any body the client accepts for that call: only the answer is read here."""
    if _accepted(entry) or entry["body"] is None:
        return entry["body"]
    return {k: v for k, v in entry["body"].items() if k != entry["client_refuses"]}
