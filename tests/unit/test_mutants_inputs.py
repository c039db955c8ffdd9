"""Rules of api/inputs.py that survived mutants of scripts/mutation.py showed no test pinned
down; each test states the behaviour, not the code."""

from __future__ import annotations

from airflow_provider_offers.api.inputs import same_etag


def test_no_etag_is_the_same_only_as_no_etag():
    assert same_etag(None, None) is True
    assert same_etag(None, 3) is False
    assert same_etag("3", None) is False
    # A template that rendered a missing XCom gives the text "None": that is not "no etag".
    assert same_etag(None, "None") is False
    assert same_etag("None", None) is False


def test_an_etag_as_int_or_digit_string_is_the_same_version():
    assert same_etag(3, " 3") is True
    assert same_etag(3, "4") is False
