"""The client's decision requests against Adobe's own schema (`decision-request-v1.0`).

The schema's constraints are transcribed in `adobe_decisioning_schema.py` (commit and path
cited there); `scripts/check_adobe_schema.py` checks that transcription against Adobe's file.
"""

from __future__ import annotations

import pytest
from adobe_decisioning_schema import schema_for
from jsonschema import Draft4Validator
from pydantic import ValidationError

from airflow_provider_offers.api.calls import Calls
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.decisioning import DecisionRequest
from airflow_provider_offers.api.errors import InvalidInputError

REQUEST = Draft4Validator(schema_for("decision-request-v1.0"))
CONTEXT = {
    "@type": "_xdm.context.additionalParameters;version=1",
    "xdm:data": {"xdm:weather": "hot"},
}
#: Every kind of request body the client builds (scope: decision and placement ids).
OPTIONS = {
    "profile id": {"profile_id": "0123456789"},
    "identity map": {"identity_map": {"Email": ["a@b.c", {"id": "d@e.f", "primary": True}]}},
    "every option": {
        "profile_id": "v",
        "identity_namespace": "CRMID",
        "item_count": 30,
        "include_content": False,
        "include_metadata": True,
        "decision_request_id": "dr-1",
        "context_data": [CONTEXT, {**CONTEXT, "extra": "allowed: context items are open"}],
    },
}


def _calls() -> Calls:
    return Calls(ClientConfig(client_id="c", client_secrets=("s",), org_id="ORG@AdobeOrg"))


def _problems(body) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in REQUEST.iter_errors(body)]


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_every_request_body_the_client_builds_validates_against_adobes_schema(options):
    body = _calls().decision("dps:offer-activity:1a", "dps:offer-placement:2b", **options).body
    assert _problems(body) == []


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"xdm:data": {}}, "context_data[0].@type"),
        ({"@type": "https://ns.adobe.com/xdm/context/device"}, "context_data[0].xdm:data"),
        ({"@type": "x", "xdm:data": "hot"}, "context_data[0].xdm:data"),
        ("weather=hot", "context_data[0]"),
    ],
)
def test_context_items_without_type_or_data_are_refused_before_sending(item, field):
    # Adobe's schema refuses the same items: the rule is Adobe's, not ours.
    good = _calls().decision("d", "p", profile_id="v").body
    good["xdm:profiles"][0]["xdm:contextData"] = [item]
    assert _problems(good) != []
    with pytest.raises(InvalidInputError) as raised:
        _calls().decision("d", "p", profile_id="v", context_data=[item])
    assert raised.value.field == field


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body["xdm:profiles"][0].update({"xdm:segments": ["s1"]}),
        lambda body: body["xdm:propositionRequests"][0].update({"xdm:scope": "x"}),
        lambda body: body["xdm:responseFormat"].update({"xdm:includeScore": True}),
        lambda body: body["xdm:responseFormat"].update(
            {"xdm:includeMetadata": {"xdm:option": ["rank"]}}
        ),
        lambda body: body.update({"xdm:propositionRequests": body["xdm:propositionRequests"] * 31}),
        lambda body: body["xdm:propositionRequests"][0].update({"xdm:itemCount": 31}),
        lambda body: body.update({"xdm:profiles": body["xdm:profiles"] * 2}),
    ],
    ids=[
        "profile member",
        "proposition member",
        "format member",
        "metadata value",
        "31 propositions",
        "31 items",
        "two profiles",
    ],
)
def test_the_request_model_refuses_what_adobes_schema_refuses(change):
    body = _calls().decision("d", "p", profile_id="v", include_metadata=True).body
    change(body)
    assert _problems(body) != []
    with pytest.raises(ValidationError):
        DecisionRequest.model_validate(body)
