"""Connection mistakes a user makes, and errors that name the fix (over loopback where the
mistake only shows at the first request)."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_offers.api.config import ClientConfig
from airflow_provider_offers.api.errors import AuthenticationError, InvalidInputError
from airflow_provider_offers.hooks.offers import OfferLibraryHook

ORG = "EMULATOR0000000000000000@AdobeOrg"


def test_an_unknown_extra_is_named_with_the_closest_known_one_first(caplog):
    caplog.set_level(logging.WARNING, "airflow_provider_offers.api")
    config = ClientConfig.from_fields(
        login="client",
        password="secret",
        extras={"org_id": ORG, "sandbox": "dev"},
        source="connection 'adobe_offers_default'",
    )
    assert config.sandbox_name == "prod"  # ignored, as before: but now the log says so
    (record,) = [r for r in caplog.records if "sandbox" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        "connection 'adobe_offers_default' has an extra 'sandbox' that nothing reads, ignored "
        "(did you mean 'sandbox_name'?); the known extras: sandbox_name, "
    )
    assert "org_id" in record.getMessage() and "ims_url" in record.getMessage()


def test_known_extras_and_their_legacy_keys_warn_nothing(caplog):
    caplog.set_level(logging.WARNING, "airflow_provider_offers.api")
    ClientConfig.from_fields(
        login="client",
        password="secret",
        extras={
            "org_id": ORG,
            "extra__adobe_offers__sandbox_name": "dev",
            "scopes": "openid",
            "ui_tenant": "acme",  # read by the extra links, not the client
        },
    )
    assert "nothing reads" not in caplog.text


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080", "localhost:8080", "http://[::1]:80"])
def test_an_emulator_host_without_ims_url_says_ims_url_is_unset(host):
    with pytest.raises(InvalidInputError) as caught:
        ClientConfig.from_fields(
            host=host, login="c", password="s", extras={"org_id": ORG}, source="connection 'emu'"
        )
    message = str(caught.value)
    assert message.startswith("ims_url: is unset while the host ")
    assert "is this machine (the emulator?)" in message
    assert message.endswith("(in connection 'emu')")


def test_an_explicit_ims_url_or_a_remote_host_is_not_questioned():
    remote = ClientConfig.from_fields(login="c", password="s", extras={"org_id": ORG})
    assert remote.ims_url == "https://ims-na1.adobelogin.com"
    local = ClientConfig.from_fields(
        host="http://127.0.0.1:8080",
        login="c",
        password="s",
        extras={"org_id": ORG, "ims_url": "http://127.0.0.1:8080"},
    )
    assert local.ims_url == "http://127.0.0.1:8080"


def _connection(emulator, **changes) -> str:
    conn = {
        "conn_type": "adobe_offers",
        "host": emulator.url,
        "login": emulator.client_id,
        "password": emulator.client_secret,
        "extra": {"org_id": emulator.org_id, "ims_url": emulator.url},
    }
    conn.update(changes)
    return json.dumps(conn)


def test_a_wrong_secret_names_the_connection(offer_library_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MY_OFFERS", _connection(offer_library_emulator, password="x"))
    hook = OfferLibraryHook("my_offers")
    with pytest.raises(AuthenticationError) as caught:
        list(hook.list_offers())
    message = str(caught.value)
    assert "IMS does not accept the client secret of connection 'my_offers'" in message
    assert "check its password" in message
    (token_request,) = offer_library_emulator.requests
    assert token_request.path == "/ims/token/v3" and token_request.status == 400


def test_an_emulator_connection_without_ims_url_fails_before_any_request(
    offer_library_emulator, monkeypatch
):
    conn = json.loads(_connection(offer_library_emulator))
    del conn["extra"]["ims_url"]
    monkeypatch.setenv("AIRFLOW_CONN_MY_OFFERS", json.dumps(conn))
    with pytest.raises(InvalidInputError) as caught:
        list(OfferLibraryHook("my_offers").list_offers())
    assert "ims_url: is unset while the host http://127.0.0.1:" in str(caught.value)
    assert "(in connection 'my_offers')" in str(caught.value)
    assert offer_library_emulator.requests == []
