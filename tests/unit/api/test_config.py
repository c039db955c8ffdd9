"""Plain http only to this machine unless the settings say so (issue 22.4): over http to
another host the client secret (to IMS) and every token (to the API) would travel in clear."""

from __future__ import annotations

import json

import pytest

from airflow_provider_offers import get_provider_info
from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import InvalidInputError

CREDENTIAL = {"client_id": "c", "client_secrets": ("s3cret-value",), "org_id": "ORG@AdobeOrg"}
HINT = (
    "uses plain http to a host that is not this machine, which would send the client secret "
    "and access tokens in clear: use https://, or set allow_insecure_http to true (a "
    "connection extra) if the network to that host is trusted"
)


@pytest.mark.parametrize(
    ("fields", "field", "url"),
    [
        ({"base_url": "http://platform.adobe.io"}, "base_url", "http://platform.adobe.io"),
        ({"ims_url": "http://ims-na1.adobelogin.com/"}, "ims_url", "http://ims-na1.adobelogin.com"),
        ({"ims_url": "HTTP://10.0.0.7:8080"}, "ims_url", "HTTP://10.0.0.7:8080"),
        ({"base_url": "http://127.0.0.1.example"}, "base_url", "http://127.0.0.1.example"),
        ({"base_url": "http://[2001:db8::1]:80"}, "base_url", "http://[2001:db8::1]:80"),
    ],
)
def test_plain_http_to_another_host_is_refused_naming_the_field_and_the_fix(fields, field, url):
    with pytest.raises(InvalidInputError) as caught:
        ClientConfig(**CREDENTIAL, **fields)
    assert caught.value.field == field
    assert str(caught.value) == f"{field}: {url!r} {HINT}"
    assert "s3cret-value" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://[::1]:8080",
        "http://localhost:8080",
        "http://LocalHost",
        "https://platform.adobe.io",
    ],
)
def test_plain_http_to_this_machine_and_https_anywhere_are_accepted(url):
    config = ClientConfig(**CREDENTIAL, base_url=url, ims_url=url)
    assert (config.base_url, config.ims_url) == (url, url)
    assert config.allow_insecure_http is False


@pytest.mark.parametrize("allowed", [True, "true", " Yes ", "1", 1])
def test_an_explicit_opt_in_allows_plain_http_anywhere(allowed):
    config = ClientConfig(
        **CREDENTIAL,
        base_url="http://gateway.internal",
        ims_url="http://ims.internal",
        allow_insecure_http=allowed,
    )
    assert (config.base_url, config.ims_url) == ("http://gateway.internal", "http://ims.internal")
    assert config.allow_insecure_http is True


@pytest.mark.parametrize("refused", ["false", "No", "0", False, None, ""])
def test_anything_but_a_yes_keeps_plain_http_refused(refused):
    with pytest.raises(InvalidInputError, match=r"^ims_url: 'http://ims\.internal' uses plain"):
        ClientConfig(**CREDENTIAL, ims_url="http://ims.internal", allow_insecure_http=refused)


def test_the_yes_no_rule_refuses_what_it_cannot_read():
    from airflow_provider_offers.api.inputs import parse_bool

    with pytest.raises(InvalidInputError, match=r"^allow_insecure_http: 'maybe' is not a yes/no"):
        ClientConfig(**CREDENTIAL, allow_insecure_http="maybe")
    for value in (2, 1.0, [True]):
        with pytest.raises(InvalidInputError, match="is not a yes/no value"):
            parse_bool(value, "flag")


def test_a_connection_names_its_host_field_and_where_it_is_set():
    with pytest.raises(InvalidInputError) as caught:
        ClientConfig.from_fields(
            host="http://platform.adobe.io",
            login="c",
            password="s3cret-value",
            extras={"org_id": "ORG@AdobeOrg"},
            source="connection 'adobe_prod'",
        )
    assert caught.value.field == "host"
    assert str(caught.value) == (
        f"host: 'http://platform.adobe.io' {HINT} (in connection 'adobe_prod')"
    )


@pytest.mark.parametrize("extra", [{"allow_insecure_http": True}, {"allow_insecure_http": "true"}])
def test_a_connection_opts_in_with_its_extra(extra):
    config = ClientConfig.from_fields(
        host="http://gateway.internal:8080",
        login="c",
        password="s3cret-value",
        extras={"org_id": "ORG@AdobeOrg", "ims_url": "http://ims.internal", **extra},
    )
    assert (config.base_url, config.ims_url) == (
        "http://gateway.internal:8080",
        "http://ims.internal",
    )


def test_the_connection_form_declares_the_opt_in_as_an_optional_boolean():
    (kind,) = get_provider_info()["connection-types"]
    field = kind["conn-fields"]["allow_insecure_http"]
    assert field["schema"] == {"type": ["boolean", "null"]}
    assert "in clear" in field["description"]
    json.dumps(field)  # the form is sent as JSON
