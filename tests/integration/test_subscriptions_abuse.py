"""The subscriptions function under attack: hostile input, floods, toll fraud, replayed links."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobalerts.models import Channel
from jobalerts.subscriptions import destination_key
from jobalerts_local.outbox import sent_emails, sent_sms
from jobalerts_local.runtime import http_event, invoke, json_body
from jobalerts_local.template import LocalStack
from tests.integration.test_subscriptions_api import (
    EMAIL_SUBSCRIPTION,
    api,
    bearer,
    subscribe_and_confirm,
    token_of,
)
from tests.support import stores

SMS_SUBSCRIPTION = {
    "phone": "+14155550123",
    "timezone": "America/New_York",
    "query": "#nursing",
    "channel": "sms",
    "frequency": "instant",
}


def from_ip(ip: str, body: dict[str, Any]) -> dict[str, Any]:
    event = http_event(
        "POST",
        "/subscriptions",
        body=json.dumps(body),
        headers={"content-type": "application/json"},
        source_ip=ip,
    )
    response: dict[str, Any] = invoke("subscriptions", event)
    return response


# ---------------------------------------------------------------- hostile input is a 4xx


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**EMAIL_SUBSCRIPTION, "timezone": "Europe"}, "timezone"),
        ({**EMAIL_SUBSCRIPTION, "timezone": "Europe/" + "x" * 300}, "timezone"),
        ({**EMAIL_SUBSCRIPTION, "timezone": "Europe/Berlin\x00"}, "timezone"),
        ({**EMAIL_SUBSCRIPTION, "query": "(" * 200 + "python" + ")" * 200}, "query"),
        ({**EMAIL_SUBSCRIPTION, "query": "python \ud800x"}, "query"),
        ({**EMAIL_SUBSCRIPTION, "timezone": "\udfff"}, "timezone"),
        ({**EMAIL_SUBSCRIPTION, "\ud800": "x"}, "body"),
        ({**EMAIL_SUBSCRIPTION, "digest_hour": 10**400}, "digest_hour"),
        ({**EMAIL_SUBSCRIPTION, "channel": ["email"]}, "channel"),
    ],
)
def test_hostile_fields_are_a_400_naming_the_field_and_leave_nothing_behind(
    stack: LocalStack, body: dict[str, Any], field: str
) -> None:
    # When a hostile sign-up arrives (json.dumps spells a lone surrogate as \ud800)
    response = api("POST", "/subscriptions", json.dumps(body))

    # Then it is a 400 naming the field, and nothing was stored or sent
    assert response["statusCode"] == 400, response["body"]
    assert json_body(response)["field"] == field
    assert sent_emails() == []
    # And a later good sign-up for the address inherits nothing from it
    subscriber_id, _ = subscribe_and_confirm()
    assert stores.subscribers().get(subscriber_id).timezone == "Europe/Berlin"


def test_deep_nesting_in_a_query_is_a_400_with_its_column(stack: LocalStack) -> None:
    query = "(" * 11 + "python" + ")" * 11
    response = api("POST", "/subscriptions", {**EMAIL_SUBSCRIPTION, "query": query})
    assert response["statusCode"] == 400
    assert (json_body(response)["field"], json_body(response)["column"]) == ("query", 11)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("[" * 5000 + "]" * 5000, {"content-type": "application/json"}),
        ('{"a":' * 50 + "1" + "}" * 50, {"content-type": "application/json"}),
        ("x" * 20_000, {"content-type": "application/json"}),
    ],
)
def test_deep_or_huge_json_is_a_400(stack: LocalStack, body: str, headers: dict[str, str]) -> None:
    response = invoke(
        "subscriptions", http_event("POST", "/subscriptions", body=body, headers=headers)
    )
    assert response["statusCode"] == 400
    assert json_body(response)["field"] == "body"


def test_invalid_utf8_in_a_form_is_a_400(stack: LocalStack) -> None:
    event = http_event(
        "POST",
        "/subscribe",
        body=b"email=a%40b.com&query=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    response = invoke("subscriptions", event)
    assert response["statusCode"] == 400
    assert sent_emails() == []


@pytest.mark.parametrize("token", ["abc.%C3%A9", "abc.\u00e9", "é" * 300])
def test_tokens_with_non_ascii_macs_are_refused_not_crashed(stack: LocalStack, token: str) -> None:
    for path in ["/manage", "/confirm", "/unsubscribe"]:
        assert api("GET", path, query={"t": token})["statusCode"] == 403
    assert api("GET", "/api/searches", headers=bearer(token))["statusCode"] == 401


def test_json_routes_want_application_json(stack: LocalStack) -> None:
    # A cross-site form can post text/plain; it must not sign anyone up
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""]:
        event = http_event(
            "POST",
            "/subscriptions",
            body=json.dumps(EMAIL_SUBSCRIPTION),
            headers={"content-type": content_type},
        )
        response = invoke("subscriptions", event)
        assert response["statusCode"] == 415
    assert sent_emails() == []


def test_origin_null_is_refused_on_forms(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()
    for path, query in [("/subscribe", None), ("/manage/searches", {"t": manage})]:
        response = api(
            "POST",
            path,
            "query=spam&email=x%40example.com",
            query=query,
            headers={"content-type": "application/x-www-form-urlencoded", "origin": "null"},
        )
        assert response["statusCode"] == 403, path
    assert len(sent_emails()) == 1


def test_head_answers_like_get_without_a_body_and_wrong_methods_are_405(
    stack: LocalStack,
) -> None:
    head = api("HEAD", "/")
    assert (head["statusCode"], head["body"]) == (200, "")
    assert head["headers"]["Content-Type"].startswith("text/html")

    wrong = api("PUT", "/subscriptions", "{}")
    assert wrong["statusCode"] == 405
    assert wrong["headers"]["Allow"] == "POST"
    assert api("DELETE", "/")["headers"]["Allow"] == "GET, HEAD"
    assert api("GET", "/nowhere")["statusCode"] == 404


def test_a_malformed_search_id_is_a_404(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()
    response = api("DELETE", "/api/searches/" + "é" * 2000, headers=bearer(manage))
    assert response["statusCode"] == 404


# ---------------------------------------------------------------- rate limits


def test_sub_addresses_and_gmail_dots_count_as_one_mailbox(stack: LocalStack) -> None:
    # Given the limit per destination
    # When one inbox is signed up under many spellings, from many clients
    answers = [
        from_ip(f"10.0.0.{n}", {**EMAIL_SUBSCRIPTION, "email": f"vic.tim+{n}@gmail.com"})
        for n in range(6)
    ]
    answers.append(from_ip("10.0.1.1", {**EMAIL_SUBSCRIPTION, "email": "victim@googlemail.com"}))

    # Then only the allowance of mail reaches it, the rest is 429 with Retry-After
    assert len(sent_emails()) == 3
    refused = [a for a in answers if a["statusCode"] == 429]
    assert len(refused) == 4
    # A sliding window: a full window still weighs on the next one, so up to two windows
    assert all(1 <= int(a["headers"]["Retry-After"]) <= 7200 for a in refused)
    assert destination_key(Channel.EMAIL, "V.I.C.T.I.M+x@GMail.com") == "email|victim@gmail.com"


def test_one_client_is_limited_across_destinations(stack: LocalStack) -> None:
    answers = [
        from_ip("203.0.113.9", {**EMAIL_SUBSCRIPTION, "email": f"person{n}@example.com"})
        for n in range(12)
    ]
    assert [a["statusCode"] for a in answers].count(202) == 10
    assert {a["statusCode"] for a in answers[10:]} == {429}
    assert len(sent_emails()) == 10


def test_sms_pumping_through_a_number_range_is_cut_off(stack: LocalStack) -> None:
    # When many clients sign up consecutive numbers of one range
    answers = [
        from_ip(f"198.51.100.{n}", {**SMS_SUBSCRIPTION, "phone": f"+1415555{n:04d}"})
        for n in range(120, 130)
    ]

    # Then texts stop at the range's allowance
    assert len(sent_sms()) == 5
    assert [a["statusCode"] for a in answers].count(429) == 5


@pytest.mark.parametrize(
    "phone",
    [
        "+19005550123",  # US premium rate
        "+18005550123",  # US toll free
        "+448712345678",  # UK shared cost
        "+449090901234",  # UK premium rate
        "+33899123456",  # FR premium rate
        "+80012345678",  # UIFN freephone
        "+881612345678",  # satellite
        "+870772222222",  # Inmarsat
        "+447012345678",  # UK personal number
        "+442079460000",  # UK landline
        "+5511961234567",  # a Brazilian mobile: not in the allowed countries
    ],
)
def test_numbers_that_are_not_mobiles_in_allowed_countries_are_refused(
    stack: LocalStack, phone: str
) -> None:
    response = api("POST", "/subscriptions", {**SMS_SUBSCRIPTION, "phone": phone})
    assert response["statusCode"] == 400
    assert json_body(response)["field"] == "phone"
    assert sent_sms() == []


def test_us_and_uk_mobiles_are_texted(stack: LocalStack) -> None:
    for phone in ["+14155550123", "+447400123456"]:
        assert (
            api("POST", "/subscriptions", {**SMS_SUBSCRIPTION, "phone": phone})["statusCode"] == 202
        )
    assert [s.phone for s in sent_sms()] == ["+14155550123", "+447400123456"]


# ---------------------------------------------------------------- bounds a token holder cannot lift


def test_quiet_hours_and_the_daily_cap_have_bounds(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()
    for change, field in [
        ({"sms_daily_cap": 24}, "sms_daily_cap"),
        ({"sms_quiet_start": 0, "sms_quiet_end": 0}, "sms_quiet_start"),
        ({"sms_quiet_start": 23, "sms_quiet_end": 2}, "sms_quiet_start"),
    ]:
        response = api("PATCH", "/api/subscriber", change, headers=bearer(manage))
        assert (response["statusCode"], json_body(response)["field"]) == (400, field)
    ok = api("PATCH", "/api/subscriber", {"sms_daily_cap": 10}, headers=bearer(manage))
    assert ok["statusCode"] == 200


# ---------------------------------------------------------------- one address, one subscriber


def test_two_confirmations_for_one_address_make_one_subscriber(stack: LocalStack) -> None:
    # Given two sign-ups for one address, both links unused
    api("POST", "/subscriptions", EMAIL_SUBSCRIPTION)
    api("POST", "/subscriptions", {**EMAIL_SUBSCRIPTION, "query": "golang"})
    links = [next(link for link in mail.links() if "/confirm?" in link) for mail in sent_emails()]

    # When both are confirmed
    ids = set()
    for link in links:
        response = api("POST", "/confirm", "", query={"t": token_of(link)})
        ids.add(token_of(response["headers"]["Location"]))

    # Then there is one subscriber with both searches
    subscriber = stores.subscribers().find_by_email("ana@example.com")
    assert subscriber is not None
    queries = sorted(s.query for s in stores.searches().list_for(subscriber.subscriber_id))
    assert queries == ["golang", "python remote -senior"]


def test_a_known_and_an_unknown_address_take_the_same_path(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    # Given one address that is subscribed and one that is not
    subscribe_and_confirm()
    calls: list[str] = []
    make_api_call = BaseClient._make_api_call

    def record(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        # Every AWS call still goes to moto; this only notes which one it was.
        calls.append(operation)
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)

    # When each signs up
    known = from_ip("10.9.0.1", EMAIL_SUBSCRIPTION)
    known_calls, calls[:] = list(calls), []
    unknown = from_ip("10.9.0.2", {**EMAIL_SUBSCRIPTION, "email": "zoe@example.com"})
    unknown_calls = list(calls)

    # Then the answers and the AWS calls behind them are the same, and none looks them up
    assert known["body"] == unknown["body"]
    assert known_calls == unknown_calls
    assert "SendEmail" in known_calls
    assert "Query" not in known_calls
