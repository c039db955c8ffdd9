"""IMS `POST /ims/token/v3`: the client-credentials grant and its OAuth errors."""

from __future__ import annotations

from emulator_helpers import token_form

from airflow_provider_offers.emulator import run_emulator


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def test_token_is_issued_in_the_documented_shape(emulator, http):
    response = http.post("/ims/token/v3", data=token_form(emulator))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert emulator.tokens_issued == 1


def test_the_token_opens_the_gateway(emulator, http):
    token = http.post("/ims/token/v3", data=token_form(emulator)).json()["access_token"]
    response = http.get(
        "/data/core/dps/placements",
        headers={
            "Authorization": f"Bearer {token}",
            "x-api-key": emulator.client_id,
            "x-gw-ims-org-id": emulator.org_id,
        },
    )
    assert response.status_code == 200


def test_unknown_client_id_is_invalid_client(emulator, http):
    response = http.post("/ims/token/v3", data=token_form(emulator, client_id="someone-else"))
    assert _error(response) == (400, "invalid_client")
    assert response.json()["error_description"] == "invalid client_id parameter"


def test_wrong_secret_is_invalid_client_and_never_echoed(emulator, http):
    response = http.post("/ims/token/v3", data=token_form(emulator, client_secret="wrong-s3cret"))
    assert _error(response) == (400, "invalid_client")
    assert response.json()["error_description"] == "invalid client_secret parameter"
    assert "wrong-s3cret" not in response.text
    assert emulator.tokens_issued == 0


def test_other_grant_is_unsupported(emulator, http):
    response = http.post("/ims/token/v3", data=token_form(emulator, grant_type="password"))
    assert _error(response) == (400, "unsupported_grant_type")


def test_unknown_scope_is_invalid_scope(emulator, http):
    response = http.post(
        "/ims/token/v3", data=token_form(emulator, scope="openid,write_everything")
    )
    assert _error(response) == (400, "invalid_scope")
    assert "write_everything" in response.json()["error_description"]


def test_missing_parameters_are_invalid_request(emulator, http):
    for name in ("grant_type", "client_id", "client_secret", "scope"):
        response = http.post("/ims/token/v3", data=token_form(emulator, **{name: None}))
        assert _error(response) == (400, "invalid_request"), name
        assert name in response.json()["error_description"]


def test_json_body_is_invalid_request(emulator, http):
    response = http.post("/ims/token/v3", json=token_form(emulator))
    assert _error(response) == (400, "invalid_request")
    assert "x-www-form-urlencoded" in response.json()["error_description"]


def test_credentials_in_the_query_string_are_refused(emulator, http):
    form = token_form(emulator)
    secret = form.pop("client_secret")
    response = http.post("/ims/token/v3", params={"client_secret": secret}, data=form)
    assert _error(response) == (400, "invalid_request")
    assert "client_secret" in response.json()["error_description"]
    assert emulator.tokens_issued == 0


def test_a_second_secret_is_accepted_for_rotation():
    import httpx

    with run_emulator(client_secrets=("old-secret", "new-secret")) as emulator:
        for secret in ("old-secret", "new-secret"):
            response = httpx.post(
                emulator.url + "/ims/token/v3", data=token_form(emulator, client_secret=secret)
            )
            assert response.status_code == 200, secret
        assert emulator.tokens_issued == 2
        bad = httpx.post(
            emulator.url + "/ims/token/v3", data=token_form(emulator, client_secret="x")
        )
        assert bad.json()["error"] == "invalid_client"


def test_token_lifetime_is_configurable(emulator, http):
    emulator.configure(token_lifetime_seconds=120)
    assert http.post("/ims/token/v3", data=token_form(emulator)).json()["expires_in"] == 120
