"""The Adobe I/O gateway's documented rejections, with their exact bodies (API doc 13.1)."""

from __future__ import annotations

import json

import pytest
from emulator_helpers import DPS, token_form

PLACEMENTS = DPS + "/placements"


def _without(headers: dict, name: str) -> dict:
    return {k: v for k, v in headers.items() if k.lower() != name}


@pytest.mark.parametrize(
    ("drop", "status", "body"),
    [
        ("authorization", 403, {"error_code": "403010", "message": "Oauth token is missing."}),
        ("x-api-key", 403, {"error_code": "403000", "message": "Api Key is required"}),
        ("x-gw-ims-org-id", 400, {"error_code": "400003", "message": "Missing header"}),
    ],
)
def test_missing_header_is_rejected(http, headers, drop, status, body):
    response = http.get(PLACEMENTS, headers=_without(headers, drop))
    assert (response.status_code, response.json()) == (status, body)


def test_invalid_token_is_401013(http, headers):
    response = http.get(PLACEMENTS, headers={**headers, "Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json() == {"error_code": "401013", "message": "Oauth token is not valid"}


def test_token_must_be_a_bearer_token(http, headers):
    token = headers["Authorization"].split()[1]
    response = http.get(PLACEMENTS, headers={**headers, "Authorization": f"Basic {token}"})
    assert response.json()["error_code"] == "401013"


def test_revoked_token_is_401013(emulator, http, headers):
    assert http.get(PLACEMENTS, headers=headers).status_code == 200
    emulator.revoke_tokens()
    response = http.get(PLACEMENTS, headers=headers)
    assert (response.status_code, response.json()["error_code"]) == (401, "401013")


def test_expired_token_is_401013(emulator, http):
    emulator.configure(token_lifetime_seconds=0)  # expired the moment it is issued
    token = http.post("/ims/token/v3", data=token_form(emulator)).json()["access_token"]
    response = http.get(
        PLACEMENTS,
        headers={
            "Authorization": f"Bearer {token}",
            "x-api-key": emulator.client_id,
            "x-gw-ims-org-id": emulator.org_id,
        },
    )
    assert (response.status_code, response.json()["error_code"]) == (401, "401013")


def test_api_key_of_another_client_is_403003(http, headers):
    response = http.get(PLACEMENTS, headers={**headers, "x-api-key": "another-client"})
    assert response.status_code == 403
    assert response.json() == {"error_code": "403003", "message": "Api Key is invalid"}


def test_org_the_credential_does_not_belong_to_is_403025(http, headers):
    response = http.get(PLACEMENTS, headers={**headers, "x-gw-ims-org-id": "OTHER0000@AdobeOrg"})
    assert response.status_code == 403
    assert response.json() == {"error_code": "403025", "message": "Profile is not valid"}


def test_malformed_org_is_403027(http, headers):
    response = http.get(PLACEMENTS, headers={**headers, "x-gw-ims-org-id": "not-an-org"})
    assert response.status_code == 403
    assert response.json() == {"error_code": "403027", "message": "User region is missing"}


CONTENT_TYPE_BODY = {
    "type": "/placeholder/type/uri",
    "status": 400,
    "title": "BadRequestError",
    "detail": "A valid content-type must be specified",
}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json-patch+json"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_and_patch_need_json_content_type(api, adobe_examples, method, content_type):
    pid = api.placement()
    path = "/placements" if method == "POST" else f"/placements/{pid}"
    payload = (
        adobe_examples.placement()
        if method == "POST"
        else [{"op": "test", "path": "/id", "value": pid}]
    )
    headers = {"Content-Type": content_type} if content_type else {}
    request = api.http.build_request(
        method, DPS + path, content=json.dumps(payload), headers={**api.headers, **headers}
    )
    assert request.headers.get("Content-Type") == content_type
    response = api.http.send(request)
    assert (response.status_code, response.json()) == (400, CONTENT_TYPE_BODY)


def test_json_content_type_with_charset_is_fine(api, adobe_examples):
    response = api.call(
        "POST",
        "/placements",
        content=json.dumps(adobe_examples.placement()),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_delete_and_get_need_no_content_type(api):
    pid = api.placement()
    assert api.call("GET", f"/placements/{pid}").status_code == 200
    assert (
        api.call(
            "DELETE", f"/placements/{pid}", headers={"Content-Type": "application/json"}
        ).status_code
        == 200
    )


def test_ims_needs_no_gateway_headers(emulator, http):
    assert http.post("/ims/token/v3", data=token_form(emulator)).status_code == 200
