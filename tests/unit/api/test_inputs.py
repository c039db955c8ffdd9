"""The input rules of api/inputs.py: what passes, what it becomes, and what the error says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo

import pytest

from airflow_provider_offers.api.errors import InvalidInputError
from airflow_provider_offers.api.inputs import (
    OfferType,
    parse_bool,
    parse_etag,
    parse_id,
    parse_if_exists,
    parse_item_count,
    parse_max_attempts,
    parse_max_retry_after,
    parse_modified,
    parse_offer_type,
    parse_org_id,
    parse_timeout,
    same_etag,
)


@pytest.mark.parametrize("value", ["fallback", "Fallback", " FALLBACK ", OfferType.FALLBACK])
def test_offer_type_takes_any_case_and_sends_lower_case(value):
    assert parse_offer_type(value) is OfferType.FALLBACK
    assert str(parse_offer_type(value)) == "fallback"


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_offer_type, "seasonal", "offer_type: 'seasonal' is not an offer type"),
        (parse_offer_type, None, "offer_type: None is not an offer type"),
        (parse_id, "", "offer_id: '' is not an id"),
        (parse_id, 42, "offer_id: 42 is not an id"),
        (parse_if_exists, "replace", "if_exists: 'replace' is not one of update, skip, fail"),
        (parse_item_count, "2.5", "item_count: '2.5' is not a whole number"),
        (parse_item_count, True, "item_count: True is not a whole number"),
        (parse_item_count, 0, "item_count: 0 is not between 1 and 30"),
        (parse_item_count, "31", "item_count: '31' is not between 1 and 30"),
        (parse_org_id, "not-an-org", "org_id: 'not-an-org' is not an IMS org id"),
        (parse_org_id, "1234ABCD@adobeorg", "org_id: '1234ABCD@adobeorg' is not an IMS org id"),
        (parse_org_id, "12 34@AdobeOrg", "org_id: '12 34@AdobeOrg' is not an IMS org id"),
        (parse_org_id, None, "org_id: None is not an IMS org id"),
        (parse_timeout, "soon", "timeout: 'soon' is not a timeout: expected a positive number"),
        (parse_timeout, 0, "timeout: 0 is not a timeout"),
        (parse_timeout, "-1", "timeout: '-1' is not a timeout"),
        (parse_timeout, "inf", "timeout: 'inf' is not a timeout"),
        (parse_timeout, True, "timeout: True is not a timeout"),
        (parse_max_attempts, 2.5, "max_attempts: 2.5 is not a whole number of attempts"),
        (parse_max_attempts, False, "max_attempts: False is not a whole number"),
        (parse_max_attempts, "0", "max_attempts: '0' is not at least 1"),
        (parse_max_retry_after, "-1", "max_retry_after: '-1' is not a wait: expected a number"),
        (parse_max_retry_after, "inf", "max_retry_after: 'inf' is not a wait"),
        (parse_max_retry_after, True, "max_retry_after: True is not a wait"),
        (parse_max_retry_after, "soon", "max_retry_after: 'soon' is not a wait"),
    ],
)
def test_each_rule_names_the_field_and_the_value(parse, value, message):
    with pytest.raises(InvalidInputError, match="^" + message.replace("(", r"\(")):
        parse(value)


def test_ids_and_counts_from_templates_are_cleaned():
    assert parse_id("  dps:fallback-offer:1 ") == "dps:fallback-offer:1"
    assert parse_item_count(" 30 ") == 30
    assert parse_item_count(1) == 1
    assert parse_org_id(" 1234ABCD5678EF90@AdobeOrg\n") == "1234ABCD5678EF90@AdobeOrg"


def test_timeouts_and_attempts_from_templates_and_extras_are_read():
    assert parse_timeout(" 2.5 ") == 2.5
    assert parse_timeout(30) == 30.0
    assert parse_max_attempts(" 3 ") == 3
    assert parse_max_attempts(1) == 1
    assert (parse_max_retry_after(" 0 "), parse_max_retry_after(0.5)) == (0.0, 0.5)
    for blank in (None, "", "  "):  # unset: the default applies
        assert parse_timeout(blank) is None
        assert parse_max_attempts(blank) is None
        assert parse_max_retry_after(blank) is None


@pytest.mark.parametrize(
    "value",
    [".", "..", " .. ", "\t.\n", "a/b", "/", "../offers", "dps:offer:1\n2", "a\x00b", "\x7f"],
)
def test_an_id_that_would_leave_the_object_path_is_refused(value):
    with pytest.raises(InvalidInputError) as caught:
        parse_id(value, "id")
    assert str(caught.value) == (
        f"id: {value!r} is not an id: ids hold no '/' or control characters and are not '.' "
        "or '..' (they would leave the object's URL path)"
    )


@pytest.mark.parametrize("value", ["None", "null", "", "  ", " NULL ", "none"])
def test_an_id_a_template_rendered_from_nothing_is_refused_with_a_hint(value):
    with pytest.raises(InvalidInputError) as caught:
        parse_id(value, "offer_id")
    assert str(caught.value) == (
        f"offer_id: {value!r} is not an id: expected a non-empty string (a template that "
        "rendered 'None' usually pulled an XCom that does not exist)"
    )


@pytest.mark.parametrize("value", ["dps:fallback-offer:1", "a.b", "...x", "offer..1", "ünï"])
def test_ids_with_dots_inside_or_other_text_pass(value):
    assert parse_id(value) == value


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("False", False),
        (" YES ", True),
        ("no", False),
        ("1", True),
        ("0", False),
    ],
)
def test_yes_no_values_in_every_form_a_template_renders(given, expected):
    assert parse_bool(given, "prune") is expected


@pytest.mark.parametrize("given", ["maybe", "", "None", None, 2, -1, 0.0, "on", "off", [True]])
def test_anything_else_is_not_a_yes_no_value(given):
    with pytest.raises(InvalidInputError, match=r"^prune: .* is not a yes/no value"):
        parse_bool(given, "prune")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            1.0,
            "since_etag: 1.0 is not an etag: expected a non-negative integer (an int or a "
            "string of digits), e.g. 1 (a float is not an etag)",
        ),
        (
            "v2",
            "since_etag: 'v2' is not an etag: expected a non-negative integer (an int or a "
            "string of digits)",
        ),
        (
            " None",
            "since_etag: ' None' is not an etag: expected a non-negative integer (an int or "
            "a string of digits); a template that rendered 'None' usually pulled an XCom that does "
            "not exist",
        ),
    ],
)
def test_an_etag_error_hints_at_templates_only_for_a_rendered_none(value, message):
    from airflow_provider_offers.api.inputs import parse_etag

    with pytest.raises(InvalidInputError) as caught:
        parse_etag(value)
    assert str(caught.value) == message


# -- etags compared as versions --------------------------------------------------------------------


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


# -- etags and instants at their edges -------------------------------------------------------------


def test_etag_zero_is_a_valid_etag():
    assert parse_etag(0) == 0
    assert parse_etag("0") == 0


def test_a_lower_case_z_means_utc_too():
    assert parse_modified("2026-11-27T12:00:00z") == datetime(
        2026, 11, 27, 12, 0, tzinfo=timezone.utc
    )


class _NoOffset(tzinfo):
    """A time zone that does not know its offset (Python calls such datetimes naive)."""

    def utcoffset(self, dt):
        return None


def test_a_datetime_whose_time_zone_has_no_offset_is_refused():
    naive = datetime(2026, 11, 27, 12, 0, tzinfo=_NoOffset())
    with pytest.raises(InvalidInputError, match="has no UTC offset"):
        parse_modified(naive)
    aware = datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_modified(aware) is aware
