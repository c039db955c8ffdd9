"""The fault model: each named fault kind, as any HTTP client sees it, and random faults."""

from __future__ import annotations

import httpx
import pytest
from emulator_helpers import DPS, token_form

from airflow_provider_offers.emulator.faults import FAULT_KINDS, Fault


def test_dropped_before_commit_cuts_the_connection_and_writes_nothing(
    emulator, api, adobe_examples
):
    emulator.inject_fault_kind("dropped_before_commit", "POST", DPS + "/placements")
    with pytest.raises(httpx.RemoteProtocolError):
        api.call("POST", "/placements", json=adobe_examples.placement())
    assert api.list_all("placements") == []
    assert emulator.fault_counts == {"dropped_before_commit": 1}


def test_slow_before_commit_times_the_client_out_and_writes_nothing(emulator, api, adobe_examples):
    emulator.inject_fault_kind("slow_before_commit", "POST", DPS + "/placements", slow_seconds=0.4)
    with pytest.raises(httpx.ReadTimeout):
        api.call("POST", "/placements", json=adobe_examples.placement(), timeout=0.1)
    assert api.list_all("placements") == []


def test_slow_after_commit_times_the_client_out_but_the_write_stands(emulator, api, adobe_examples):
    emulator.inject_fault_kind("slow_after_commit", "POST", DPS + "/placements", slow_seconds=0.4)
    with pytest.raises(httpx.ReadTimeout):
        api.call("POST", "/placements", json=adobe_examples.placement(), timeout=0.1)
    assert [p["name"] for p in api.list_all("placements")] == ["New placement"]


def test_slow_after_commit_answers_in_full_to_a_patient_client(emulator, api, adobe_examples):
    emulator.inject_fault("POST", DPS + "/placements", delay_after_commit_seconds=0.1)
    response = api.call("POST", "/placements", json=adobe_examples.placement())
    assert response.status_code == 201 and response.json()["id"].startswith("dps:")


@pytest.mark.parametrize(("kind", "status"), [("bad_gateway_html", 502), ("html_200", 200)])
def test_a_proxy_answers_with_an_html_page_and_the_api_never_sees_the_request(
    emulator, api, adobe_examples, kind, status
):
    emulator.inject_fault_kind(kind, "POST", DPS + "/placements")
    response = api.call("POST", "/placements", json=adobe_examples.placement())
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith(("<html>", "<!DOCTYPE html>"))
    assert api.list_all("placements") == []


def test_empty_body_is_the_committed_answer_without_its_body(emulator, api, adobe_examples):
    emulator.inject_fault_kind("empty_body", "POST", DPS + "/placements")
    response = api.call("POST", "/placements", json=adobe_examples.placement())
    assert (response.status_code, response.content) == (201, b"")
    assert len(api.list_all("placements")) == 1


def test_raw_body_with_a_status(emulator, api):
    emulator.inject_fault("GET", DPS, status=503, raw_body="down", content_type="text/plain")
    response = api.call("GET", "/placements")
    assert (response.status_code, response.text) == (503, "down")
    assert response.headers["content-type"].startswith("text/plain")


def test_tokens_revoked_mid_run(emulator, api):
    assert api.call("GET", "/placements").status_code == 200
    emulator.inject_fault_kind("tokens_revoked", "GET", DPS)
    refused = api.call("GET", "/placements")
    assert (refused.status_code, refused.json()["error_code"]) == (401, "401013")
    assert api.call("GET", "/placements").status_code == 401  # every token is gone


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [("ims_unavailable", 503, None), ("ims_invalid_client", 400, "invalid_client")],
)
def test_ims_faults_revoke_tokens_and_refuse_the_next_token_request(
    emulator, api, http, kind, status, error
):
    emulator.inject_fault_kind(kind, "GET", DPS)
    assert api.call("GET", "/placements").status_code == 401
    refused = http.post("/ims/token/v3", data=token_form(emulator))
    assert refused.status_code == status
    assert refused.json().get("error") == error
    assert http.post("/ims/token/v3", data=token_form(emulator)).status_code == 200
    assert emulator.fault_counts == {kind: 1}  # one fault, counted once


def test_fault_validation():
    with pytest.raises(ValueError, match="drop_before_commit and drop_after_commit"):
        Fault("GET", "/", drop_before_commit=True, drop_after_commit=True)
    with pytest.raises(ValueError, match="status and body_after_commit"):
        Fault("GET", "/", status=500, body_after_commit="")
    with pytest.raises(ValueError, match="body and raw_body"):
        Fault("GET", "/", status=500, body={}, raw_body="x")


def _random_run(emulator, api, seed: int) -> list[int]:
    emulator.reset()
    emulator.configure(fault_rates={"unavailable": 0.3, "html_200": 0.2}, fault_seed=seed)
    api.headers["Authorization"] = (
        "Bearer " + api.http.post("/ims/token/v3", data=token_form(emulator)).json()["access_token"]
    )
    return [api.call("GET", "/placements").status_code for _ in range(40)]


def test_random_faults_follow_their_rates_and_their_seed(emulator, api):
    first = _random_run(emulator, api, seed=7)
    counts = emulator.fault_counts
    assert _random_run(emulator, api, seed=7) == first  # reproducible from the seed
    assert emulator.fault_counts == counts
    assert emulator.fault_seed == 7
    assert set(first) == {200, 503}  # the html_200 faults answer 200 too
    assert 0 < counts["unavailable"] == first.count(503) < 40
    assert 0 < counts["html_200"] < 40
    assert _random_run(emulator, api, seed=8) != first
    token_requests = [r for r in emulator.requests if r.path == "/ims/token/v3"]
    assert [r.status for r in token_requests] == [200]  # IMS is never faulted at random


def test_random_faults_refuse_unknown_kinds_and_rates(emulator):
    with pytest.raises(ValueError, match="'teapot' is not one of"):
        emulator.configure(fault_rates={"teapot": 0.1})
    with pytest.raises(ValueError, match="between 0 and 1"):
        emulator.configure(fault_rates={"unavailable": 2})
    with pytest.raises(ValueError, match="more than 1"):
        emulator.configure(fault_rates={"unavailable": 0.6, "html_200": 0.6})


def test_every_kind_can_be_injected_over_http(emulator, http):
    for kind in FAULT_KINDS:
        added = http.post("/_emulator/faults", json={"kind": kind, "path_prefix": DPS + "/x"})
        assert added.status_code == 201, kind
    assert http.post("/_emulator/faults", json={"kind": "teapot"}).status_code == 400
    emulator.configure(fault_seed=3)
    assert http.get("/_emulator/faults").json() == {"seed": 3, "counts": {}}
