"""The client against each fault of the emulator's fault model, over loopback HTTP.

What is safe is retried (reads, deletes, token requests, a write refused before it reached
the API); a write that may have reached the API is never re-sent but raised as
`OutcomeUnknownError` for the caller to reconcile by name; the rest is a typed error that says
what happened.
"""

from __future__ import annotations

import pytest
from client_helpers import api_requests, make_config, placement_body

from airflow_provider_offers.api.client import OfferLibraryClient
from airflow_provider_offers.api.errors import (
    AuthenticationError,
    OutcomeUnknownError,
    ReceiptMissingError,
    UnreadableResponseError,
)
from airflow_provider_offers.api.resources import PLACEMENTS
from airflow_provider_offers.emulator.faults import FAULT_KINDS

DPS = "/data/core/dps"
#: Faults a read survives by being asked again (or by renewing its token).
READ_RETRIED = [k for k in FAULT_KINDS if k != "ims_invalid_client"]
SLOW = 0.6  # the emulator holds a slow request this long; the client gives up after 0.2 s


@pytest.fixture
def impatient(emulator, retry):
    """A client whose timeout is shorter than the emulator's slow faults."""
    with OfferLibraryClient(make_config(emulator, timeout=0.2), retry=retry) as client:
        client.list_page(PLACEMENTS)  # a token in hand, so faults hit the API call itself
        yield client


def _placements(emulator) -> list[str]:
    with emulator.dps_client() as http:
        return [p["name"] for p in http.get("/placements").json()["results"]]


@pytest.mark.parametrize("kind", READ_RETRIED)
def test_a_read_survives_every_transient_fault(emulator, impatient, sleeps, kind):
    existing = impatient.create(PLACEMENTS, placement_body("Banner"))
    emulator.inject_fault_kind(kind, "GET", f"{DPS}/placements/", slow_seconds=SLOW)

    assert impatient.get(PLACEMENTS, existing.id).name == "Banner"

    assert emulator.fault_counts == {kind: 1}
    reads = [r for r in api_requests(emulator) if r.method == "GET" and existing.id in r.path]
    assert len(reads) == 2  # faulted once, then answered
    assert len(sleeps.delays) == (0 if kind == "tokens_revoked" else 1)  # a 401: renewed at once
    if kind in ("tokens_revoked", "ims_unavailable"):
        assert reads[0].status == 401


def test_a_read_answered_by_a_proxy_page_every_time_fails_naming_the_page(emulator, impatient):
    emulator.inject_fault(
        "GET",
        f"{DPS}/placements",
        status=200,
        times=10,
        raw_body="<html><head><title>Sign in - Corporate proxy</title></head></html>",
        content_type="text/html",
    )
    with pytest.raises(UnreadableResponseError) as raised:
        impatient.list_page(PLACEMENTS)
    message = str(raised.value)
    assert "HTTP 200 but the answer is non-JSON response (text/html)" in message
    assert "Sign in - Corporate proxy" in message
    assert "gave up after 4 attempts" in message


@pytest.mark.parametrize(
    ("kind", "committed"),
    [
        ("dropped_before_commit", False),
        ("dropped_after_commit", True),
        ("slow_before_commit", False),
        ("slow_after_commit", True),
        ("bad_gateway_html", False),
        ("html_200", False),
    ],
)
def test_a_create_that_may_have_reached_the_api_is_not_re_sent(
    emulator, impatient, sleeps, kind, committed
):
    emulator.inject_fault_kind(kind, "POST", f"{DPS}/placements", slow_seconds=SLOW)

    with pytest.raises(OutcomeUnknownError) as raised:
        impatient.create(PLACEMENTS, placement_body("Banner"))

    assert not isinstance(raised.value, ReceiptMissingError)  # no proof it was applied
    assert "not re-sent" in str(raised.value)
    posts = [r for r in api_requests(emulator) if r.method == "POST"]
    assert len(posts) == 1 and sleeps.delays == []
    assert _placements(emulator) == (["Banner"] if committed else [])


def test_a_create_answered_with_an_empty_body_was_applied(emulator, impatient):
    emulator.inject_fault_kind("empty_body", "POST", f"{DPS}/placements")
    with pytest.raises(ReceiptMissingError, match="HTTP 201 but the answer is empty"):
        impatient.create(PLACEMENTS, placement_body("Banner"))
    assert _placements(emulator) == ["Banner"]


@pytest.mark.parametrize("kind", ["tokens_revoked", "ims_unavailable"])
def test_a_create_refused_before_the_api_acted_on_it_is_retried(emulator, impatient, kind):
    """A 401 (then a renewal, even one IMS first refuses with 503) proves nothing was written."""
    emulator.inject_fault_kind(kind, "POST", f"{DPS}/placements")
    receipt = impatient.create(PLACEMENTS, placement_body("Banner"))
    assert _placements(emulator) == ["Banner"]
    assert receipt.id.startswith("dps:")
    posts = [r.status for r in api_requests(emulator) if r.method == "POST"]
    assert posts == [401, 201]


def test_ims_invalid_client_is_an_authentication_error_not_retried(emulator, impatient, sleeps):
    emulator.inject_fault_kind("ims_invalid_client", "GET", f"{DPS}/placements")
    with pytest.raises(AuthenticationError) as raised:
        impatient.list_page(PLACEMENTS)
    assert "HTTP 400 [invalid_client]" in str(raised.value)
    assert emulator.client_secret not in str(raised.value)
    assert sleeps.delays == []
    assert impatient.list_page(PLACEMENTS).total == 0  # the next call gets a token again


def test_random_faults_at_a_high_rate_never_break_reads(emulator, impatient):
    impatient.create(PLACEMENTS, placement_body("Banner"))
    rates = {kind: 0.02 for kind in READ_RETRIED}  # about one request in five
    emulator.configure(fault_rates=rates, fault_seed=11, slow_seconds=0.3)
    for _ in range(30):
        assert [p.name for p in impatient.list(PLACEMENTS)] == ["Banner"]
    assert sum(emulator.fault_counts.values()) > 5
