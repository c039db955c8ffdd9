"""Models validate what we send before any request; read models keep Adobe's spelling."""

from __future__ import annotations

import pytest
from client_helpers import api_requests, offer_body, placement_body

from airflow_provider_offers.api.answers import Receipt
from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.json_patch import PatchOperation, parse_operations
from airflow_provider_offers.api.models import FallbackOffer, parse_input
from airflow_provider_offers.api.resources import FALLBACK_OFFERS, PLACEMENTS, TAGS, offer_resource


def _offer(**changes) -> dict:
    return {**offer_body("dps:offer-placement:1"), **changes}


@pytest.mark.parametrize(
    ("offer", "field", "problem"),
    [
        (_offer(name=""), "offer.name", "at least 1 character"),
        (_offer(status="live"), "offer.status", "'draft', 'approved' or 'archived'"),
        (
            _offer(
                representations=[
                    {
                        "channel": "web",
                        "placement": "p",
                        "components": [{"type": "imagelink", "deliveryUrl": "https://x"}],
                    }
                ]
            ),
            "offer.representations[0].components[0]",
            "unknown field(s) 'deliveryUrl'",
        ),
        (_offer(descripton="typo"), "offer", "unknown field(s) 'descripton'"),
        (
            _offer(selectionConstraint={"startDate": "2030-01-01T00:00:00"}),
            "offer.selectionConstraint.startDate",
            "timezone",
        ),
        (
            _offer(
                selectionConstraint={
                    "startDate": "2030-01-02T00:00:00Z",
                    "endDate": "2030-01-01T00:00:00Z",
                }
            ),
            "offer.selectionConstraint",
            "endDate must be after startDate",
        ),
        (_offer(rank={"priority": -1}), "offer.rank.priority", "greater than or equal to 0"),
        (
            _offer(representations=[{"channel": "web", "placement": "p", "components": [{}]}]),
            "offer.representations[0].components[0]",
            "`content` or `deliveryURL`",
        ),
        (
            _offer(
                representations=[
                    {"channel": "web", "placement": "p", "components": [{"content": "a"}]},
                    {"channel": "email", "placement": "p", "components": [{"content": "b"}]},
                ]
            ),
            "offer",
            "same placement",
        ),
        ("not a dict", "offer", "expected a dict or FallbackOffer"),
    ],
)
def test_invalid_offer_fails_before_any_request(emulator, client, offer, field, problem):
    with pytest.raises(InvalidInputError) as caught:
        client.create(FALLBACK_OFFERS, offer)

    assert caught.value.field == field
    assert problem in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert api_requests(emulator) == [] and emulator.tokens_issued == 0


@pytest.mark.parametrize(
    ("operations", "field", "problem"),
    [
        ([], "operations", "at least one operation"),
        ({"op": "replace", "path": "/name", "value": "x"}, "operations", "a list"),
        ([{"op": "replace", "path": "name", "value": "x"}], "operations[0]", "JSON Pointer"),
        ([{"op": "add", "path": "/a~2b", "value": 1}], "operations[0]", "JSON Pointer"),
        ([{"op": "replace", "path": "/name"}], "operations[0]", "needs a `value`"),
        ([{"op": "test", "path": "/etag"}], "operations[0]", "needs a `value`"),
        ([{"op": "copy", "path": "/a"}], "operations[0]", "needs `from`"),
        ([{"op": "move", "from": "a", "path": "/b"}], "operations[0]", "not a JSON Pointer"),
        ([{"op": "move", "from": "/a", "path": "/a/b"}], "operations[0]", "own children"),
        ([{"op": "merge", "path": "/a"}], "operations[0].op", "'add', 'remove'"),
        (
            [{"op": "remove", "path": "/a"}, {"op": "add", "path": "/b", "vale": 1}],
            "operations[1]",
            "unknown field(s) 'vale'",
        ),
    ],
)
def test_invalid_patch_fails_before_any_request(emulator, client, operations, field, problem):
    with pytest.raises(InvalidInputError) as caught:
        client.patch(TAGS, "dps:tag:1", operations)

    assert caught.value.field == field
    assert problem in str(caught.value)
    assert api_requests(emulator) == []


def test_patch_operations_dump_only_their_members(emulator, client):
    tag = client.create(TAGS, {"name": "t", "description": "d"})
    client.patch(
        TAGS,
        tag.id,
        [
            {"op": "test", "path": "/name", "value": "t"},
            {"op": "add", "path": "/description", "value": None, "from": "/ignored"},
            {"op": "copy", "from": "/name", "path": "/description", "value": "ignored"},
            PatchOperation(op="remove", path="/description"),
        ],
    )

    sent = next(r.json for r in api_requests(emulator) if r.method == "PATCH")
    assert sent == [
        {"op": "test", "path": "/name", "value": "t"},
        {"op": "add", "path": "/description", "value": None},
        {"op": "copy", "path": "/description", "from": "/name"},
        {"op": "remove", "path": "/description"},
    ]
    assert client.get(TAGS, tag.id).description is None


def test_models_and_dicts_are_interchangeable(emulator, client):
    placement = client.create(PLACEMENTS, placement_body())
    as_model = FallbackOffer.model_validate(offer_body(placement.id, "From a model"))

    receipt = client.create(FALLBACK_OFFERS, as_model)

    got = client.get(FALLBACK_OFFERS, receipt.id)
    sent = next(r.json for r in api_requests(emulator) if r.path.endswith("/offers"))
    assert sent == offer_body(placement.id, "From a model")  # Adobe's spelling, nothing added
    # A read model can be sent back as a new object: server fields are left out.
    copy = got.model_copy(update={"name": "Copy"})
    second = client.create(FALLBACK_OFFERS, copy)
    resent = [r.json for r in api_requests(emulator) if r.path.endswith("/offers")][1]
    assert second.id != receipt.id
    assert not {"id", "etag", "created", "modified", "schemas"} & set(resent)


def test_read_models_keep_unknown_fields_and_dates_in_adobes_format():
    offer = FallbackOffer.model_validate(
        {
            "name": "x",
            "etag": 3,
            "created": "2023-06-08T14:04:41.011+00:00",
            "modified": "2023-06-08T14:04:42.011Z",
            "someFutureField": {"a": 1},
            "selectionConstraint": {
                "startDate": "2022-06-10T00:30:00.000+00:00",
                "newKnob": True,
            },
        }
    )
    assert offer.someFutureField == {"a": 1}
    assert offer.modified > offer.created
    body = offer.to_body()
    assert body["selectionConstraint"] == {
        "startDate": "2022-06-10T00:30:00.000+00:00",
        "newKnob": True,
    }
    assert "etag" not in body and "created" not in body

    receipt = Receipt.model_validate(
        {"etag": 2, "id": "i", "createdDate": "2023-05-31T15:09:11.771Z", "datasetId": "d"}
    )
    assert receipt.createdDate.utcoffset().total_seconds() == 0


def test_parse_helpers_name_the_parameter():
    with pytest.raises(InvalidInputError) as caught:
        parse_input(FallbackOffer, {"name": 3}, "offer")
    assert caught.value.field == "offer.name"
    assert [op.op for op in parse_operations([{"op": "remove", "path": ""}])] == ["remove"]
    with pytest.raises(InvalidInputError) as caught:
        offer_resource("seasonal")
    assert caught.value.field == "offer_type"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.get(TAGS, ""), "id"),
        (lambda c: c.delete(TAGS, None), "id"),
        (lambda c: c.list_page(TAGS, limit=0), "limit"),
        (lambda c: c.list_page(TAGS, limit=True), "limit"),
        (lambda c: c.list_page(TAGS, orderby=[]), "orderby"),
        (lambda c: c.list_page(TAGS, filters=[""]), "filters[0]"),
        (lambda c: c.list(TAGS, filters=[3]), "filters[0]"),
        (lambda c: c.find_by_name(TAGS, ""), "name"),
        (lambda c: c.create("campaigns", {"name": "x"}), "resource"),
    ],
)
def test_bad_arguments_fail_before_any_request(emulator, client, call, field):
    with pytest.raises(InvalidInputError) as caught:
        call(client)
    assert caught.value.field == field
    assert api_requests(emulator) == []


def test_write_rules_never_refuse_what_the_server_sends():
    """Strict on write, lenient on read: an offer made elsewhere that breaks our write rules
    (no representation, a relative image URL, more tags than the guardrail) is still read."""
    made_elsewhere = {
        **_offer(representations=[], tags=[f"dps:tag:{i}" for i in range(25)]),
        "id": "dps:fallback-offer:1",
        "etag": 1,
    }
    offer = FallbackOffer.model_validate(made_elsewhere)
    assert offer.representations == [] and len(offer.tags) == 25
    component = {"type": "imagelink", "deliveryURL": "/relative.png", "linkURL": "shop now"}
    read = FallbackOffer.model_validate(
        {**made_elsewhere, "representations": [{"placement": "p", "components": [component]}]}
    )
    assert read.representations[0].components[0].deliveryURL == "/relative.png"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"base_url": "HTTPS://Platform.adobe.io/"}, ("base_url", "HTTPS://Platform.adobe.io")),
        ({"base_url": "localhost:8080"}, ("base_url", "https://localhost:8080")),
        ({"ims_url": "http://127.0.0.1:8080"}, ("ims_url", "http://127.0.0.1:8080")),
        ({"sandbox_name": " dev_2-eu "}, ("sandbox_name", "dev_2-eu")),
        ({"org_id": "0123456789ABCDEF01234567@AdobeOrg"}, ("org_id", None)),
    ],
)
def test_the_settings_people_use_are_accepted(fields, expected):
    from airflow_provider_offers.api.config import ClientConfig

    settings = {"client_id": "c", "client_secrets": ("s",), "org_id": "ORG@AdobeOrg", **fields}
    config = ClientConfig(**settings)
    name, value = expected
    assert getattr(config, name) == (value if value is not None else fields[name])


def test_an_unknown_field_offers_the_closest_one_and_lists_only_what_a_user_may_send():
    with pytest.raises(InvalidInputError) as caught:
        parse_input(FallbackOffer, _offer(descripton="typo"), "offer")
    message = str(caught.value)
    assert message.startswith(
        "offer: unknown field(s) 'descripton' (did you mean 'description'?); expected some of ["
    )
    listed = message.split("expected some of ", 1)[1]
    assert "'representations'" in listed and "'name'" in listed
    for assigned in ("'id'", "'etag'", "'createdBy'", "'modified'", "'sandboxId'"):
        assert assigned not in listed


def test_a_decision_criterion_without_option_selection_is_refused_before_any_request(
    emulator, client
):
    from airflow_provider_offers.api.resources import OFFER_DECISIONS

    decision = {
        "name": "Homepage",
        "status": "draft",
        "fallback": "dps:fallback-offer:1",
        "criteria": [{"placements": ["dps:offer-placement:1"], "rank": {"priority": 0}}],
    }
    with pytest.raises(InvalidInputError) as caught:
        client.create(OFFER_DECISIONS, decision)
    assert str(caught.value).startswith(
        "decision.criteria[0]: a criterion needs optionSelection, the offers it picks from"
    )
    assert api_requests(emulator) == []
