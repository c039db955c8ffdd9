"""Test controls: request log, fault injection, token revocation, reset, HTTP control endpoints."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from emulator_helpers import DPS, fetch_token, token_form
from secrets_scan import SecretsScan

from airflow_provider_offers.emulator import EmulatorServer, run_emulator


def test_request_log_records_what_the_server_received(emulator, api, adobe_examples):
    body = adobe_examples.placement()
    api.call("POST", "/placements", json=body, headers={"x-request-id": "req-1"})
    token_request, create = emulator.requests
    assert token_request.path == "/ims/token/v3"
    assert token_request.form["grant_type"] == "client_credentials"
    assert create.method == "POST"
    assert create.path == DPS + "/placements"
    assert create.json == body
    assert create.headers["x-request-id"] == "req-1"
    assert create.headers["x-api-key"] == emulator.client_id
    assert create.status == 201
    api.call("GET", "/offers", params={"offer-type": "fallback", "limit": "5"})
    assert emulator.requests[-1].query == {"offer-type": ["fallback"], "limit": ["5"]}


def test_responses_carry_the_request_id(api):
    assert (
        api.call("GET", "/placements", headers={"x-request-id": "abc"}).headers["x-request-id"]
        == "abc"
    )
    assert api.call("GET", "/placements").headers["x-request-id"]


def test_injected_status_fault_applies_n_times_then_normal(emulator, api, adobe_examples):
    emulator.inject_fault("POST", DPS + "/placements", status=503, times=2)
    first = api.call("POST", "/placements", json=adobe_examples.placement())
    second = api.call("POST", "/placements", json=adobe_examples.placement())
    third = api.call("POST", "/placements", json=adobe_examples.placement())
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 201]
    assert first.json()["status"] == 503
    assert len(api.list_all("placements")) == 1  # faults are answered instead of handling


def test_injected_429_has_gateway_body_and_retry_after(emulator, api):
    emulator.inject_fault("GET", DPS + "/placements", status=429, retry_after=7)
    response = api.call("GET", "/placements")
    assert response.status_code == 429
    assert response.json() == {"error_code": "429050", "message": "Too many requests"}
    assert response.headers["retry-after"] == "7"


def test_fault_body_headers_and_method_matching(emulator, api):
    emulator.inject_fault(
        "*", DPS + "/tags", status=500, body={"oops": 1}, headers={"x-extra": "y"}
    )
    assert api.call("GET", "/placements").status_code == 200  # other path: untouched
    response = api.call("GET", "/tags")
    assert (response.status_code, response.json(), response.headers["x-extra"]) == (
        500,
        {"oops": 1},
        "y",
    )
    assert api.call("GET", "/tags").status_code == 200


def test_fault_on_ims(emulator, http):
    emulator.inject_fault("POST", "/ims/token/v3", status=502)
    assert http.post("/ims/token/v3", data=token_form(emulator)).status_code == 502
    assert http.post("/ims/token/v3", data=token_form(emulator)).status_code == 200
    assert emulator.tokens_issued == 1


def test_drop_after_commit_cuts_the_connection_but_keeps_the_object(emulator, api, adobe_examples):
    emulator.inject_fault("POST", DPS + "/placements", drop_after_commit=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.call("POST", "/placements", json=adobe_examples.placement())
    placements = api.list_all("placements")
    assert [p["name"] for p in placements] == ["New placement"]
    assert api.call("POST", "/placements", json=adobe_examples.placement()).status_code == 201


def test_drop_after_commit_on_patch_applies_the_patch(emulator, api):
    pid = api.placement()
    emulator.inject_fault("PATCH", DPS + "/placements/", drop_after_commit=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.patch("placements", pid, [{"op": "replace", "path": "/name", "value": "renamed"}])
    stored = api.get("placements", pid)
    assert (stored["name"], stored["etag"]) == ("renamed", 2)


def test_delay_makes_a_client_time_out(emulator, api):
    emulator.inject_fault("GET", DPS + "/placements", delay_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        api.call("GET", "/placements", timeout=0.1)
    assert api.call("GET", "/placements").status_code == 200


def test_reset_forgets_objects_tokens_faults_and_log(emulator, api, headers):
    api.placement()
    emulator.inject_fault("GET", DPS, status=500)
    emulator.reset()
    assert emulator.requests == []
    assert emulator.tokens_issued == 0
    assert api.call("GET", "/placements").json()["error_code"] == "401013"
    token = api.http.post("/ims/token/v3", data=token_form(emulator)).json()["access_token"]
    fresh = {**headers, "Authorization": f"Bearer {token}"}
    listing = api.http.get(DPS + "/placements", headers=fresh)
    assert (listing.status_code, listing.json()["total"]) == (200, 0)


def test_http_control_endpoints(emulator, api, http):
    api.placement()
    assert (
        http.post(
            "/_emulator/faults", json={"method": "GET", "path_prefix": DPS, "status": 418}
        ).status_code
        == 201
    )
    assert api.call("GET", "/placements").status_code == 418
    logged = http.get("/_emulator/requests").json()
    assert [r["path"] for r in logged][-1] == DPS + "/placements"
    assert logged[-1]["status"] == 418
    assert all(not r["path"].startswith("/_emulator/") for r in logged)
    (token,) = emulator.issued_tokens
    assert http.get("/_emulator/tokens").json() == {
        "tokens_issued": 1,
        "access_token_sha256": [hashlib.sha256(token.encode()).hexdigest()],
    }
    assert http.post("/_emulator/revoke-tokens", json={}).status_code == 200
    assert api.call("GET", "/placements").status_code == 401
    assert http.post("/_emulator/reset", json={}).status_code == 200
    assert emulator.requests == [] and emulator.tokens_issued == 0
    bad = http.post("/_emulator/faults", json={"method": "GET", "path_prefx": DPS})
    assert bad.status_code == 400
    assert http.get("/_emulator/health").json() == {"status": "ok"}
    json_utf8 = {"content-type": "application/json; charset=utf-8"}
    styled = http.post("/_emulator/configure", content='{"create_status": 200}', headers=json_utf8)
    assert styled.status_code == 200 and emulator.config.create_status == 200
    assert http.post("/_emulator/reset", headers={"content-type": "application/json"}).is_success
    assert emulator.config.create_status == 201


def test_control_answers_hand_out_no_secret_and_no_token(emulator, http):
    """Anyone who can reach the port reads these: the secrets and tokens stay in-process."""
    emulator.configure(client_secrets=("first-secret-1234", "second-secret-5678"))
    form = {**token_form(emulator), "client_secret": "second-secret-5678"}
    token = http.post("/ims/token/v3", data=form).json()["access_token"]
    http.post("/ims/token/v3", params={"client_secret": "first-secret-1234"})  # refused, logged
    http.post("/ims/token/v3", content="client_secret=first-secret-1234")  # no form type
    answers = {
        "config": http.get("/_emulator/config"),
        "configure": http.post("/_emulator/configure", json={"string_etags": True}),
        "tokens": http.get("/_emulator/tokens"),
        "requests": http.get("/_emulator/requests"),
    }
    for name, answer in answers.items():
        assert answer.status_code == 200, name
        for secret in ("first-secret-1234", "second-secret-5678", token):
            assert secret not in answer.text, (name, secret[:5])
    assert answers["config"].json()["client_secrets"] == ["***", "***"]
    assert answers["tokens"].json()["tokens_issued"] == 1
    assert emulator.issued_tokens == [token]  # in-process, the fixture has them
    assert emulator.config.client_secrets == ("first-secret-1234", "second-secret-5678")


def test_a_token_known_only_by_its_printed_digest_is_found_in_a_log(emulator, http):
    """How a test of an emulator in another process scans for tokens (tests/system)."""
    token = fetch_token(http, emulator)
    (digest,) = http.get("/_emulator/tokens").json()["access_token_sha256"]
    scan = SecretsScan({}, token_digests={"access token 1": digest})
    scan.text("task log", f"INFO GET /offers Authorization: Bearer {token} -> 200")
    scan.text("clean log", "INFO GET /offers Authorization: Bearer *** -> 200")
    scan.text("another token", "Bearer emu-" + "x" * 43)
    assert [(hit.place, hit.secret) for hit in scan.hits] == [("task log", "access token 1")]
    assert token not in scan.hits[0].context and "<access token 1>" in scan.hits[0].context


FORM_POSTS = {  # what a web page on another origin can send without a CORS preflight
    "text/plain": {
        "content": '{"answer_style": "adobe-examples"}',
        "headers": {"content-type": "text/plain"},
    },
    "form": {"data": {"answer_style": "adobe-examples"}},
    "multipart": {"files": {"answer_style": (None, "adobe-examples")}},
    "no body": {},
}


@pytest.mark.parametrize("how", FORM_POSTS)
@pytest.mark.parametrize("endpoint", ["configure", "faults", "reset", "revoke-tokens"])
def test_control_posts_take_only_json(emulator, api, http, endpoint, how):
    api.placement()
    answer = http.post(f"/_emulator/{endpoint}", **FORM_POSTS[how])
    assert answer.status_code == 415
    assert "application/json" in answer.json()["detail"]
    # Nothing changed: same settings, no fault, the objects and the token still there.
    assert emulator.config.answer_style == "strict"
    assert api.call("GET", "/placements").json()["total"] == 1


def test_run_emulator_starts_and_stops_cleanly():
    with run_emulator(client_id="cid", client_secrets=("s1",), org_id="ORG1@AdobeOrg") as emulator:
        assert isinstance(emulator, EmulatorServer)
        assert emulator.url.startswith("http://127.0.0.1:")
        assert not emulator.url.endswith("/")
        assert (emulator.client_id, emulator.client_secret, emulator.org_id) == (
            "cid",
            "s1",
            "ORG1@AdobeOrg",
        )
        assert httpx.get(emulator.url + "/_emulator/health").status_code == 200
        url = emulator.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_emulator/health", timeout=2)


def test_plugin_fixture_gives_fresh_state_and_defaults(offer_library_emulator):
    assert offer_library_emulator.requests == []
    assert offer_library_emulator.client_id == "offers-emulator-client"
    assert offer_library_emulator.client_secret == "offers-emulator-secret"
    assert offer_library_emulator.org_id == "EMULATOR0000000000000000@AdobeOrg"
