"""Subscription input validation and confirmation messages: pure logic, no AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobalerts import requests
from jobalerts.models import Channel, Frequency
from jobalerts.requests import (
    FieldError,
    Refusal,
    SettingsChanges,
    SubscribeRequest,
    parse,
)
from jobalerts.subscriptions import (
    confirmation_email,
    confirmation_sms,
    destination_key,
)
from jobalerts.web.pages import query_with_marker, render


def refused_as_field_error(check: Callable[..., Any]) -> Callable[..., Any]:
    """A single-value validator, its refusal turned into the FieldError the API answers with."""

    def run(*args: Any) -> Any:
        try:
            return check(*args)
        except Refusal as exc:
            raise FieldError(exc.message, exc.field or "body", exc.column) from None

    return run


valid_email = refused_as_field_error(requests.valid_email)
valid_phone = refused_as_field_error(requests.valid_phone)
valid_query = refused_as_field_error(requests.valid_query)
valid_timezone = refused_as_field_error(requests.valid_timezone)


def valid_settings(change: Any) -> dict[str, Any]:
    return parse(SettingsChanges, change).changes()


class SubscribeInput:
    @staticmethod
    def parse(body: Any) -> SubscribeRequest:
        return parse(SubscribeRequest, body)


GOOD = {
    "email": "Ana.Lopez@Example.COM",
    "timezone": "Europe/Berlin",
    "query": "  python remote -senior ",
    "channel": "email",
    "frequency": "Daily",
}


def test_a_good_request_is_normalized() -> None:
    request = SubscribeInput.parse(GOOD)

    assert request.email == "ana.lopez@example.com"
    assert request.query == "python remote -senior"
    assert request.channel is Channel.EMAIL
    assert request.frequency is Frequency.DAILY
    assert (request.digest_hour, request.digest_weekday) == (8, 0)


def test_phone_numbers_become_e164() -> None:
    assert valid_phone("+1 (415) 555-0123") == "+14155550123"
    assert valid_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("value", ["", "555-0123", "+1 555", "+999 1234", "call me", 14155550123])
def test_bad_phone_numbers_are_refused(value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        valid_phone(value)
    assert caught.value.field == "phone"


@pytest.mark.parametrize("value", ["", "ana", "ana@", "@example.com", "a b@example.com", None])
def test_bad_email_addresses_are_refused(value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        valid_email(value)
    assert caught.value.field == "email"


@pytest.mark.parametrize("value", ["Mars/Base", "", "../etc/passwd", "/etc/localtime", 5])
def test_unknown_timezones_are_refused(value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        valid_timezone(value)
    assert caught.value.field == "timezone"


def test_the_column_counts_the_spaces_the_person_typed_before_the_query() -> None:
    with pytest.raises(FieldError) as caught:
        valid_query("   python (remote")
    assert caught.value.column == 11


def test_a_query_error_carries_its_column() -> None:
    with pytest.raises(FieldError) as caught:
        valid_query("python (remote")
    assert (caught.value.field, caught.value.column) == ("query", 8)
    assert caught.value.as_json() == {
        "error": caught.value.message,
        "field": "query",
        "column": 8,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": "seven"}, "digest_hour"),
        ({"digest_hour": True}, "digest_hour"),
        ({"digest_weekday": 7}, "digest_weekday"),
        ({"email_enabled": "maybe"}, "email_enabled"),
        ({"status": "active"}, "status"),
        ({"timezone": "Atlantis"}, "timezone"),
    ],
)
def test_settings_are_validated_and_only_known_ones_change(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(FieldError) as caught:
        valid_settings(change)
    assert caught.value.field == field


def test_form_values_for_settings_are_converted() -> None:
    assert valid_settings({"timezone": "Asia/Tokyo", "digest_hour": "7", "sms_enabled": "off"}) == {
        "timezone": "Asia/Tokyo",
        "digest_hour": 7,
        "sms_enabled": False,
    }


def refusal(check: Callable[[Any], object], value: Any) -> FieldError | None:
    try:
        check(value)
    except FieldError as exc:
        return exc
    return None


# Any JSON a client might send: bad input is a FieldError, never anything else (never a 500).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["email", "phone", "timezone", "query", "channel", "frequency", "digest_hour"]
        ),
        json_values,
    )
)
def test_any_request_body_is_accepted_or_a_field_error(body: dict[str, Any]) -> None:
    error = refusal(SubscribeInput.parse, body)
    assert error is None or (error.field and error.message)


@given(st.text(max_size=600))
def test_any_query_text_is_accepted_or_refused_with_a_column_inside_it(text: str) -> None:
    error = refusal(valid_query, text)
    if error is not None:
        assert error.field == "query"
        assert error.column is None or 1 <= error.column <= max(len(text), 512) + 1


def test_the_error_marker_splits_the_query_at_the_column() -> None:
    assert query_with_marker("python (remote", 8) == ("python ", "(", "remote")
    assert query_with_marker("python OR", 10) == ("python OR", " ", "")
    assert query_with_marker("x", None) is None


def test_confirmation_email_has_the_link_in_both_parts_and_escapes_it() -> None:
    link = 'https://jobalerts.test/confirm?t=abc"><script>x</script>'

    mail = confirmation_email("ana@example.com", link, already_active=False)

    assert link in mail.text
    assert "<script>" not in mail.html
    assert "&#34;&gt;&lt;script&gt;" in mail.html
    assert mail.subject == "Confirm your jobalerts subscription"


def test_confirmation_texts_carry_the_link_and_the_opt_out() -> None:
    link = "https://abc123def4.execute-api.us-east-1.amazonaws.com/confirm?t=" + "x" * 40
    text = confirmation_sms(link, already_active=False)
    assert link in text
    assert "STOP" in text


def test_pages_escape_what_they_are_given() -> None:
    html = render("notice.html", title="<b>hi</b>", message='"><img onerror=alert(1)>')
    assert "<b>hi</b>" not in html
    assert "<img onerror" not in html
    assert "&lt;img onerror=alert(1)&gt;" in html


# A realistic custom domain with a stage path: 45 characters.
REALISTIC_BASE_URL = "https://alerts.jobalerts-example.org/prod/api"


def test_the_text_confirmation_carries_the_programs_terms_in_two_gsm_segments() -> None:
    import uuid

    from jobalerts.digests.sms import measure
    from jobalerts.links import Links
    from jobalerts.tokens import Signer

    # Given a subscriber id as the service makes them and a real-world base URL
    assert len(REALISTIC_BASE_URL) == 45
    links = Links(REALISTIC_BASE_URL, Signer(b"k" * 32))
    link = links.short_confirm(uuid.uuid4().hex)

    # When the confirmation text is composed
    text = confirmation_sms(link, already_active=False)

    # Then the link is the short form, the carriers' terms follow it, and the whole text fits
    # two GSM-7 segments (the terms alone take 83 characters)
    assert link.startswith(f"{REALISTIC_BASE_URL}/c/")
    assert text.startswith("jobalerts job alerts: confirm")
    assert text.endswith("Msg & data rates may apply. Reply STOP to cancel, HELP for help.")
    length = measure(text)
    assert (length.encoding, length.segments) == ("GSM-7", 2), (length, text)


def test_the_already_subscribed_text_with_its_short_manage_link_is_one_sms_segment() -> None:
    import uuid

    from jobalerts.digests.sms import measure
    from jobalerts.links import Links
    from jobalerts.tokens import Signer

    link = Links(REALISTIC_BASE_URL, Signer(b"k" * 32)).short_manage(uuid.uuid4().hex)
    text = confirmation_sms(link, already_active=True)

    assert link.startswith(f"{REALISTIC_BASE_URL}/m/")
    assert measure(text).segments == 1, text


@given(st.uuids())
def test_short_confirm_codes_round_trip_every_subscriber_id(value: Any) -> None:
    from jobalerts import tokens
    from jobalerts.links import Links, compact_id, expand_id
    from jobalerts.tokens import Signer

    subscriber_id = value.hex
    signer = Signer(b"k" * 32)
    code = Links("https://x.test", signer).short_confirm(subscriber_id).rsplit("/", 1)[1]

    assert "." not in compact_id(subscriber_id)
    assert expand_id(signer.verify_short(code, tokens.CONFIRM)) == subscriber_id


def test_ids_that_are_not_uuid_hex_are_kept_as_they_are() -> None:
    from jobalerts.links import compact_id, expand_id

    assert compact_id("sub-1") == "sub-1"
    assert expand_id("sub-1") == "sub-1"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("victim+1@example.com", "email|victim@example.com"),
        ("Vic.Tim+jobs@GoogleMail.com", "email|victim@gmail.com"),
        ("v.i.c.t.i.m@gmail.com", "email|victim@gmail.com"),
        ("first.last@example.com", "email|first.last@example.com"),
    ],
)
def test_rate_limits_count_one_mailbox_however_it_is_spelled(address: str, key: str) -> None:
    assert destination_key(Channel.EMAIL, address) == key


ALLOWED = frozenset({"US", "GB"})


@pytest.mark.parametrize("number", ["+14155550123", "+12125551234", "+447400123456"])
def test_mobiles_and_us_numbers_in_allowed_countries_can_be_texted(number: str) -> None:
    assert valid_phone(number, ALLOWED) == number


@pytest.mark.parametrize(
    "number",
    [
        "+19005550123",
        "+18005550123",
        "+448712345678",
        "+442079460000",
        "+80012345678",
        "+881612345678",
        "+33612345678",
    ],
)
def test_other_numbers_are_refused_for_texts_naming_the_phone(number: str) -> None:
    error = refusal(lambda value: valid_phone(value, ALLOWED), number)
    assert error is not None
    assert error.field == "phone"


@pytest.mark.parametrize("name", ["Europe", "America/", "Europe/" + "x" * 300, "UTC\x00", ""])
def test_timezones_must_name_a_zone(name: str) -> None:
    error = refusal(valid_timezone, name)
    assert error is not None
    assert error.field == "timezone"
