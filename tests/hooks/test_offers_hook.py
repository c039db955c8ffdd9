"""OfferLibraryHook from an Airflow connection (AIRFLOW_CONN_* env var) against the emulator."""

from __future__ import annotations

import inspect
import json

import pytest
from airflow.sdk.log import redact
from airflow_compat import forget_masked_secrets

from airflow_provider_offers import DEFAULT_API_URL, DEFAULT_IMS_URL
from airflow_provider_offers.api.answers import Receipt
from airflow_provider_offers.api.auth import ImsTokenSource
from airflow_provider_offers.api.errors import (
    ConflictError,
    ConnectionFailedError,
    InvalidInputError,
    NotFoundError,
    ServerError,
)
from airflow_provider_offers.api.models import (
    FallbackOffer,
    OfferCollection,
    OfferDecision,
    OfferRule,
    Placement,
    Tag,
)
from airflow_provider_offers.api.resources import (
    OFFER_COLLECTIONS,
    OFFER_DECISIONS,
    OFFER_RULES,
    PLACEMENTS,
    TAGS,
)
from airflow_provider_offers.hooks.offers import OfferLibraryHook

WEB = "https://ns.adobe.com/xdm/channel-types/web"
BANNER = {"name": "Banner", "componentType": "html", "channel": WEB}


@pytest.fixture(autouse=True)
def fresh_token_cache():
    ImsTokenSource.reset_cache()
    yield
    ImsTokenSource.reset_cache()


@pytest.fixture
def fresh_masker():
    """A secrets masker of this test's own: the masker is process-global, so an assertion that
    something is masked could otherwise pass thanks to an earlier test."""
    forget_masked_secrets()
    yield
    forget_masked_secrets()


def set_connection(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def emulator_connection(emulator, **changes) -> dict:
    conn = {
        "conn_type": "adobe_offers",
        "host": emulator.url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {"org_id": emulator.org_id, "sandbox_name": "prod", "ims_url": emulator.url},
    }
    conn.update(changes)
    return conn


def offer(placement_id: str, name: str = "Default offer") -> dict:
    return {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": WEB,
                "placement": placement_id,
                "components": [{"type": "html", "format": "text/html", "content": "<p>hi</p>"}],
            }
        ],
    }


def api_requests(emulator) -> list:
    return [r for r in emulator.requests if r.path.startswith("/data/core/")]


def test_offer_operations_from_the_default_connection(
    etag, offer_library_emulator, adobe_connection
):
    emulator = offer_library_emulator
    hook = OfferLibraryHook()
    placement = hook.create_resource(PLACEMENTS, BANNER)

    receipt = hook.create_offer(offer(placement.id, "Spring default"))

    assert isinstance(receipt, Receipt) and receipt.etag == etag(1)
    got = hook.get_offer(receipt.id)
    assert isinstance(got, FallbackOffer) and got.name == "Spring default"
    patched = hook.patch_offer(
        receipt.id, [{"op": "replace", "path": "/name", "value": "Summer default"}]
    )
    assert patched.etag == etag(2)
    assert [o.id for o in hook.list_offers(filters={"name": "Summer default"})] == [receipt.id]
    assert hook.find_offer_by_name("Summer default").etag == etag(2)
    assert hook.find_offer_by_name("Spring default") is None
    hook.delete_offer(receipt.id)
    with pytest.raises(NotFoundError):
        hook.get_offer(receipt.id)

    assert hook.sandbox_name == "prod"
    assert emulator.tokens_issued == 1
    for request in api_requests(emulator):
        assert request.headers["x-sandbox-name"] == "prod"
        assert request.headers["x-api-key"] == emulator.client_id
        assert request.headers["user-agent"].startswith("airflow-provider-offers/")
        assert "apache-airflow/" in request.headers["user-agent"]


def test_sandbox_override(offer_library_emulator, adobe_connection):
    dev = OfferLibraryHook(sandbox_name="dev")
    tag = dev.create_resource(TAGS, {"name": "Only in dev"})

    assert dev.sandbox_name == "dev"
    assert dev.get_resource(TAGS, tag.id).name == "Only in dev"
    with pytest.raises(NotFoundError):
        OfferLibraryHook().get_resource("tags", tag.id)  # sandboxes are isolated
    sandboxes = [r.headers["x-sandbox-name"] for r in api_requests(offer_library_emulator)]
    assert sandboxes == ["dev", "dev", "prod"]


def test_offer_type_personalized(offer_library_emulator, adobe_connection):
    hook = OfferLibraryHook()
    placement = hook.create_resource(PLACEMENTS, BANNER)
    receipt = hook.create_offer(offer(placement.id), offer_type="personalized")

    assert hook.get_offer(receipt.id, offer_type="personalized").id == receipt.id
    with pytest.raises(NotFoundError):
        hook.get_offer(receipt.id)  # a fallback offer with that id does not exist
    with pytest.raises(InvalidInputError) as caught:
        hook.get_offer(receipt.id, offer_type="seasonal")
    assert caught.value.field == "offer_type"


def test_find_offer_by_name_lists_the_ids_of_duplicates(offer_library_emulator, adobe_connection):
    hook = OfferLibraryHook()
    placement = hook.create_resource(PLACEMENTS, BANNER)
    first = hook.create_offer(offer(placement.id, "Twin"))
    second = hook.create_offer(offer(placement.id, "Twin"))

    with pytest.raises(ConflictError) as caught:
        hook.find_offer_by_name("Twin")

    assert set(caught.value.conflicting_ids) == {first.id, second.id}
    assert first.id in str(caught.value) and second.id in str(caught.value)
    lookups = [r for r in api_requests(offer_library_emulator) if r.method == "GET"]
    assert lookups[-1].query["property"] == ["name==Twin"]


def test_the_other_resource_families(etag, offer_library_emulator, adobe_connection):
    hook = OfferLibraryHook()
    placement = hook.create_resource(PLACEMENTS, BANNER)
    tag = hook.create_resource(TAGS, {"name": "Spring"})
    rule = hook.create_resource(
        OFFER_RULES,
        {"name": "All", "condition": {"type": "PQL", "format": "pql/text", "value": "true"}},
    )
    fallback = hook.create_offer(offer(placement.id))
    collection = hook.create_resource(
        OFFER_COLLECTIONS, {"name": "Spring offers", "filterType": "any-tags", "ids": [tag.id]}
    )
    decision = hook.create_resource(
        OFFER_DECISIONS,
        {
            "name": "Homepage",
            "status": "live",
            "fallback": fallback.id,
            "criteria": [
                {"placements": [placement.id], "optionSelection": {"filter": collection.id}}
            ],
        },
    )
    families = [
        (PLACEMENTS, placement, "Banner", Placement),
        (TAGS, tag, "Spring", Tag),
        (OFFER_RULES, rule, "All", OfferRule),
        (OFFER_COLLECTIONS, collection, "Spring offers", OfferCollection),
        (OFFER_DECISIONS, decision, "Homepage", OfferDecision),
    ]
    for resource, receipt, name, model in families:
        got = hook.get_resource(resource, receipt.id)
        assert isinstance(got, model) and got.name == name
        assert [e.id for e in hook.list_resources(resource.kind)] == [receipt.id]
        assert hook.find_resource_by_name(resource, name).id == receipt.id
        add = [{"op": "add", "path": "/description", "value": "d"}]
        assert hook.patch_resource(resource, receipt.id, add).etag == etag(2)

    answer = hook.request_decision(decision.id, placement.id, profile_id="ecid-1")
    # The Decisioning API may name it with another prefix: the unique part is the offer's.
    assert answer.propositions[0].fallback.id.rsplit(":", 1)[1] == fallback.id.rsplit(":", 1)[1]

    for resource, receipt, _, _ in reversed(families):
        hook.delete_resource(resource, receipt.id)
    assert list(hook.list_resources(PLACEMENTS)) == []


async def test_async_methods_for_triggers(etag, offer_library_emulator, adobe_connection):
    setup = OfferLibraryHook()
    placement = setup.create_resource(PLACEMENTS, BANNER)
    hook = OfferLibraryHook()  # a fresh hook: the connection is fetched the async way

    receipt = await hook.acreate_offer(offer(placement.id, "Async"))
    got = await hook.aget_offer(receipt.id)
    patched = await hook.apatch_offer(
        receipt.id, [{"op": "add", "path": "/description", "value": "d"}]
    )
    listed = [o.id async for o in hook.alist_offers(limit=1)]
    found = await hook.afind_offer_by_name("Async")
    decision_placements = [p.id async for p in hook.alist_resources(PLACEMENTS)]
    await hook.adelete_offer(receipt.id)

    assert (got.name, patched.etag, listed, found.id) == (
        "Async",
        etag(2),
        [receipt.id],
        receipt.id,
    )
    assert decision_placements == [placement.id]
    with pytest.raises(NotFoundError):
        await hook.aget_offer(receipt.id)
    assert offer_library_emulator.tokens_issued == 1


async def test_asession_shares_one_connection_across_async_calls(
    offer_library_emulator, adobe_connection
):
    setup = OfferLibraryHook()
    placement = setup.create_resource(PLACEMENTS, BANNER)
    receipt = setup.create_offer(offer(placement.id, "Shared"))
    hook = OfferLibraryHook()
    before = len(offer_library_emulator.requests)

    async with hook.asession():
        await hook.aget_offer(receipt.id)
        listed = [o.id async for o in hook.alist_offers(limit=1)]
        await hook.afind_offer_by_name("Shared")

    calls = [r for r in offer_library_emulator.requests[before:] if r.path.startswith("/data/")]
    assert listed == [receipt.id]
    assert len(calls) == 3
    assert len({r.client_port for r in calls}) == 1


def test_access_token_and_secret_are_masked(offer_library_emulator, adobe_connection, fresh_masker):
    hook = OfferLibraryHook()
    hook.list_offers()  # lazy: nothing sent yet
    list(hook.list_offers())
    token = api_requests(offer_library_emulator)[0].headers["authorization"].split()[1]

    assert redact(f"token={token}") == "token=***"
    assert redact(f"secret={offer_library_emulator.client_secret}") == "secret=***"
    assert token not in repr(hook) and token not in repr(hook.config)
    assert offer_library_emulator.client_secret not in repr(hook.config)


def extra_secret_connection(monkeypatch, emulator, conn_id: str, secret: str) -> None:
    """A connection whose working secret is only in the `client_secrets` extra, which Airflow
    itself does not mask (it masks the password)."""
    emulator.configure(client_secrets=(secret,))
    extra = {"org_id": emulator.org_id, "ims_url": emulator.url, "client_secrets": [secret]}
    conn = emulator_connection(emulator, password="old-password-secret", extra=extra)
    set_connection(monkeypatch, conn_id, **conn)


def test_a_secret_only_in_the_client_secrets_extra_is_masked(
    offer_library_emulator, monkeypatch, fresh_masker
):
    extra_secret_connection(monkeypatch, offer_library_emulator, "adobe_extra", "extra-only-s3cret")
    hook = OfferLibraryHook(adobe_conn_id="adobe_extra")
    assert hook.connection.password == "old-password-secret"  # Airflow masks this one only
    assert redact("extra-only-s3cret") == "extra-only-s3cret"

    assert hook.config.client_secrets[-1] == "extra-only-s3cret"

    assert redact("key=extra-only-s3cret") == "key=***"


async def test_the_triggers_async_path_masks_its_token_and_secrets(
    offer_library_emulator, monkeypatch, fresh_masker, tmp_path
):
    emulator = offer_library_emulator
    extra_secret_connection(monkeypatch, emulator, "adobe_async", "async-extra-s3cret")
    setup = OfferLibraryHook(adobe_conn_id="adobe_async")
    receipt = setup.create_offer(offer(setup.create_resource(PLACEMENTS, BANNER).id))
    setup.close()
    # What the sync setup masked must not vouch for the async path: no token in this process,
    # nor in this machine's token cache.
    ImsTokenSource.reset_cache()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-machine"))
    forget_masked_secrets()
    before = len(emulator.requests)

    hook = OfferLibraryHook(adobe_conn_id="adobe_async")  # as the trigger builds it
    async with hook.asession():
        await hook.aget_offer(receipt.id)

    (call,) = [r for r in emulator.requests[before:] if r.path.startswith("/data/")]
    token = call.headers["authorization"].split()[1]
    # The password is refused (invalid_client), the extra's secret works: both on this path.
    assert [r.path for r in emulator.requests[before:]] == [*["/ims/token/v3"] * 2, call.path]
    assert redact(f"token={token}") == "token=***"
    assert redact("secret=async-extra-s3cret") == "secret=***"


def test_connection_is_read_lazily(monkeypatch):
    hook = OfferLibraryHook(adobe_conn_id="not_defined_anywhere")
    assert hook.adobe_conn_id == "not_defined_anywhere"  # constructing it reads nothing
    ok, reason = hook.test_connection()
    assert not ok and "not_defined_anywhere" in reason


@pytest.mark.parametrize(
    ("changes", "field", "where"),
    [
        ({"login": None}, "client_id", "login"),
        ({"password": ""}, "client_secret", "password"),
        ({"extra": {"sandbox_name": "prod"}}, "org_id", "org_id"),
        ({"extra": {"org_id": "", "sandbox_name": "prod"}}, "org_id", "org_id"),
    ],
)
def test_missing_required_field_is_named(
    offer_library_emulator, monkeypatch, changes, field, where
):
    set_connection(
        monkeypatch, "adobe_broken", **emulator_connection(offer_library_emulator, **changes)
    )
    hook = OfferLibraryHook(adobe_conn_id="adobe_broken")

    with pytest.raises(InvalidInputError) as caught:
        hook.get_offer("dps:fallback-offer:1")

    assert caught.value.field == field
    assert "adobe_broken" in str(caught.value) and where in str(caught.value)
    assert offer_library_emulator.requests == []
    ok, reason = hook.test_connection()
    assert not ok and field in reason


def test_legacy_extra_keys_and_empty_strings(offer_library_emulator, monkeypatch):
    emulator = offer_library_emulator
    set_connection(
        monkeypatch,
        "adobe_legacy",
        **emulator_connection(
            emulator,
            extra={
                "extra__adobe_offers__org_id": emulator.org_id,
                "extra__adobe_offers__ims_url": emulator.url,
                "sandbox_name": "",  # the UI saves empty fields as ""
                "scopes": "",
            },
        ),
    )
    hook = OfferLibraryHook(adobe_conn_id="adobe_legacy")

    assert hook.sandbox_name == "prod"
    assert hook.config.org_id == emulator.org_id
    assert hook.config.scopes.startswith("openid,AdobeID")
    ok, message = hook.test_connection()
    assert ok and "'prod'" in message


def test_client_secrets_extra_allows_rotation(offer_library_emulator, monkeypatch):
    emulator = offer_library_emulator
    emulator.configure(client_secrets=("rotated-secret-2",))
    extra = {"org_id": emulator.org_id, "ims_url": emulator.url}
    extra["client_secrets"] = ["rotated-secret-2"]
    set_connection(
        monkeypatch,
        "adobe_rotating",
        **emulator_connection(emulator, password="rotated-secret-1", extra=extra),
    )
    hook = OfferLibraryHook(adobe_conn_id="adobe_rotating")

    assert hook.test_connection()[0]
    tried = [r.form["client_secret"] for r in emulator.requests if r.path == "/ims/token/v3"]
    assert tried == ["rotated-secret-1", "rotated-secret-2"]
    assert redact("rotated-secret-2") == "***"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, DEFAULT_API_URL),
        ("", None, DEFAULT_API_URL),
        ("platform.adobe.io", None, "https://platform.adobe.io"),
        ("http://127.0.0.1:8080/", None, "http://127.0.0.1:8080"),
        ("localhost", 8081, "https://localhost:8081"),
        # The form asks for a port (Airflow 3.3.2's Test button needs one): the scheme's own
        # port, or the one the URL already names, changes nothing.
        ("https://platform.adobe.io", 443, DEFAULT_API_URL),
        ("http://127.0.0.1:8080", 8080, "http://127.0.0.1:8080"),
        ("https://platform.adobe.io/data/core/dps", None, "https://platform.adobe.io"),
    ],
)
def test_host_forms(monkeypatch, host, port, expected):
    set_connection(
        monkeypatch,
        "adobe_hosts",
        conn_type="adobe_offers",
        host=host,
        port=port,
        login="client",
        password="secret-value",
        # An API host on this machine without ims_url is refused (tests/hooks/
        # test_connection_errors.py): the IMS URL is given, these are about the host's forms.
        extra={"org_id": "ORG@AdobeOrg", "ims_url": "https://ims-na1.adobelogin.com"},
    )
    config = OfferLibraryHook(adobe_conn_id="adobe_hosts").config
    assert config.base_url == expected
    assert config.ims_url == DEFAULT_IMS_URL


def offer_reads(emulator) -> list[int | None]:
    """The statuses of the offer reads the emulator received (None: it never answered)."""
    return [
        r.status
        for r in emulator.requests
        if r.method == "GET" and r.path.startswith("/data/core/dps/offers/")
    ]


def test_timeout_and_max_attempts_extras_bound_every_request(offer_library_emulator, monkeypatch):
    emulator = offer_library_emulator
    extra = {"org_id": emulator.org_id, "ims_url": emulator.url}
    impatient = {**extra, "timeout": "0.3", "max_attempts": "1"}  # as the UI form saves them
    set_connection(monkeypatch, "adobe_impatient", **emulator_connection(emulator, extra=impatient))
    emulator.inject_fault("GET", "/data/core/dps/offers/", delay_seconds=1.5)

    with pytest.raises(ConnectionFailedError, match="ReadTimeout"):
        OfferLibraryHook(adobe_conn_id="adobe_impatient").get_offer("dps:fallback-offer:1")
    assert len(offer_reads(emulator)) == 1  # one attempt: not retried

    emulator.inject_fault("GET", "/data/core/dps/offers/", status=503)
    with pytest.raises(ServerError):
        OfferLibraryHook(adobe_conn_id="adobe_impatient").get_offer("dps:fallback-offer:1")
    assert offer_reads(emulator)[1:] == [503]

    # The hook's (the task's) settings win over the connection's: a second try, then the answer.
    emulator.inject_fault("GET", "/data/core/dps/offers/", status=503)
    hook = OfferLibraryHook(adobe_conn_id="adobe_impatient", timeout=10, max_attempts="2")
    with pytest.raises(NotFoundError):
        hook.get_offer("dps:fallback-offer:1")
    assert offer_reads(emulator)[2:] == [503, 404]


@pytest.mark.parametrize(
    ("extra", "hook_options", "field"),
    [
        ({"timeout": "soon"}, {}, "timeout"),
        ({"max_attempts": "0"}, {}, "max_attempts"),
        ({"max_attempts": 2.5}, {}, "max_attempts"),
        ({}, {"timeout": -1}, "timeout"),
        ({}, {"max_attempts": 0}, "max_attempts"),
    ],
)
def test_a_bad_timeout_or_max_attempts_is_named_before_any_request(
    offer_library_emulator, monkeypatch, extra, hook_options, field
):
    emulator = offer_library_emulator
    extra = {"org_id": emulator.org_id, "ims_url": emulator.url, **extra}
    set_connection(monkeypatch, "adobe_odd", **emulator_connection(emulator, extra=extra))
    hook = OfferLibraryHook(adobe_conn_id="adobe_odd", **hook_options)

    with pytest.raises(InvalidInputError) as caught:
        hook.get_offer("dps:fallback-offer:1")

    assert caught.value.field == field
    assert emulator.requests == []
    ok, reason = hook.test_connection()
    assert not ok and field in reason


def test_test_connection_reports_the_sandbox_or_the_reason(offer_library_emulator, monkeypatch):
    emulator = offer_library_emulator
    set_connection(monkeypatch, "adobe_good", **emulator_connection(emulator))
    set_connection(
        monkeypatch, "adobe_bad", **emulator_connection(emulator, password="not-the-secret")
    )

    ok, message = OfferLibraryHook(adobe_conn_id="adobe_good", sandbox_name="dev").test_connection()
    assert ok and "sandbox 'dev'" in message

    ok, reason = OfferLibraryHook(adobe_conn_id="adobe_bad").test_connection()
    assert not ok
    assert "AuthenticationError" in reason and "invalid_client" in reason
    assert "not-the-secret" not in reason


@pytest.mark.parametrize("org_id", ["not-an-org", "1234ABCD5678EF90"])
def test_an_org_id_that_cannot_work_is_named_by_the_test_button_before_any_request(
    offer_library_emulator, monkeypatch, org_id
):
    extra = {"org_id": org_id, "ims_url": offer_library_emulator.url}
    set_connection(
        monkeypatch, "adobe_org", **emulator_connection(offer_library_emulator, extra=extra)
    )
    hook = OfferLibraryHook(adobe_conn_id="adobe_org")

    ok, reason = hook.test_connection()

    assert not ok
    assert reason == (
        f"The connection's settings cannot work: org_id: {org_id!r} is not an IMS org id: "
        "expected letters and digits then @AdobeOrg (in connection 'adobe_org')"
    )
    assert offer_library_emulator.requests == []
    with pytest.raises(InvalidInputError, match="org_id"):
        hook.get_offer("dps:fallback-offer:1")
    assert offer_library_emulator.requests == []


def test_every_public_method_shows_its_signature_and_doc():
    own = {
        name: member
        for name, member in vars(OfferLibraryHook).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }
    assert {"get_resource", "get_offer", "aget_offer", "request_decision"} <= set(own)
    for name, method in own.items():
        parameters = inspect.signature(method).parameters.values()
        assert all(p.kind is not p.VAR_POSITIONAL for p in parameters), name
        assert method.__doc__, name
        assert "Any" not in str(inspect.signature(method).return_annotation), name


def test_plain_http_to_a_remote_ims_is_refused_before_the_secret_is_sent(
    offer_library_emulator, monkeypatch
):
    emulator = offer_library_emulator
    extra = {"org_id": emulator.org_id, "ims_url": "http://ims-na1.adobelogin.com"}
    set_connection(monkeypatch, "adobe_clear", **emulator_connection(emulator, extra=extra))
    hook = OfferLibraryHook(adobe_conn_id="adobe_clear")

    with pytest.raises(InvalidInputError) as caught:
        hook.list_resources(PLACEMENTS)

    assert caught.value.field == "ims_url"
    assert "plain http to a host that is not this machine" in str(caught.value)
    assert "set allow_insecure_http to true" in str(caught.value)
    assert "(in connection 'adobe_clear')" in str(caught.value)
    assert emulator.requests == []
    ok, reason = hook.test_connection()
    assert not ok and "allow_insecure_http" in reason


def test_plain_http_to_a_remote_host_needs_the_connections_explicit_extra(monkeypatch):
    plain = {
        "conn_type": "adobe_offers",
        "host": "http://gateway.internal:8080",
        "login": "client",
        "password": "secret-value",
        "extra": {"org_id": "ORG@AdobeOrg", "ims_url": "http://ims.internal"},
    }
    set_connection(monkeypatch, "adobe_plain", **plain)
    with pytest.raises(InvalidInputError) as caught:
        _ = OfferLibraryHook(adobe_conn_id="adobe_plain").config
    assert str(caught.value).startswith("host: 'http://gateway.internal:8080' uses plain http")

    plain["extra"]["allow_insecure_http"] = True  # as the form's checkbox saves it
    set_connection(monkeypatch, "adobe_plain", **plain)
    config = OfferLibraryHook(adobe_conn_id="adobe_plain").config
    assert (config.base_url, config.ims_url) == (
        "http://gateway.internal:8080",
        "http://ims.internal",
    )


def test_the_emulator_over_loopback_http_needs_no_opt_in(offer_library_emulator, monkeypatch):
    emulator = offer_library_emulator
    assert emulator.url.startswith("http://127.0.0.1:")
    set_connection(monkeypatch, "adobe_local", **emulator_connection(emulator))
    assert list(OfferLibraryHook(adobe_conn_id="adobe_local").list_resources(PLACEMENTS)) == []
