"""The subscriptions function behind API Gateway: subscribe, confirm, manage, unsubscribe, digests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit

import pytest

from jobalerts import tokens
from jobalerts.errors import NotFound
from jobalerts.links import MANAGE_TTL, Links, compact_id
from jobalerts.matcher import shard_for
from jobalerts.models import SubscriberStatus
from jobalerts.subscriptions import MAX_SEARCHES
from jobalerts_local.outbox import sent_emails, sent_sms
from jobalerts_local.runtime import http_event, invoke, json_body
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.conftest import TEST_BASE_URL
from tests.support import stores

EMAIL_SUBSCRIPTION = {
    "email": "Ana@Example.com",
    "timezone": "Europe/Berlin",
    "query": "python remote -senior",
    "channel": "email",
    "frequency": "daily",
}


def api(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    all_headers = {"content-type": "application/json", **(headers or {})}
    response: dict[str, Any] = invoke(
        "subscriptions", http_event(method, path, query=query, body=text, headers=all_headers)
    )
    return response


def form_post(path: str, token: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    from urllib.parse import urlencode

    return api(
        "POST",
        path,
        urlencode(fields or {}),
        query={"t": token},
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["t"][0]


def signer() -> tokens.Signer:
    return tokens.load_signer(get_settings().signing_secret_name)


def subscribe_and_confirm(body: dict[str, Any] | None = None) -> tuple[str, str]:
    """A confirmed subscriber; returns (subscriber_id, manage token)."""
    assert api("POST", "/subscriptions", body or EMAIL_SUBSCRIPTION)["statusCode"] == 202
    confirm = token_of(next(link for link in sent_emails()[-1].links() if "/confirm?" in link))
    response = api("POST", "/confirm", "", query={"t": confirm})
    assert response["statusCode"] == 303
    manage = token_of(response["headers"]["Location"])
    return signer().verify(manage, tokens.MANAGE), manage


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- subscribe and confirm


def test_subscribe_stores_nothing_about_a_subscriber_and_emails_a_signed_confirm_link(
    stack: LocalStack,
) -> None:
    # When someone subscribes with an email address
    response = api("POST", "/subscriptions", EMAIL_SUBSCRIPTION)

    # Then the answer is 202 pending, and exactly one confirmation email went out
    assert response["statusCode"] == 202
    assert json_body(response)["status"] == "pending"
    [mail] = sent_emails()
    assert mail.to == "ana@example.com"
    assert "Confirm" in mail.subject
    [link] = [link for link in mail.links() if "/confirm?" in link]
    assert link.startswith(f"{TEST_BASE_URL}/confirm?t=")
    assert 'href="http://jobalerts.test/confirm?t=' in mail.part("html")
    # And the link is signed for confirming and nothing else
    signup_id = signer().verify(token_of(link), tokens.CONFIRM)
    with pytest.raises(tokens.InvalidToken):
        signer().verify(token_of(link), tokens.MANAGE)
    # And no subscriber exists until the link is used: only a pending sign-up
    assert stores.subscribers().find_by_email("ana@example.com") is None
    with pytest.raises(NotFound):
        stores.subscribers().get(signup_id)


def test_confirming_creates_an_active_subscriber_with_that_channel_and_its_search(
    stack: LocalStack,
) -> None:
    # When someone subscribes and confirms
    subscriber_id, _ = subscribe_and_confirm()

    # Then they are active, their email is confirmed, and the search is live in its shard
    subscriber = stores.subscribers().get(subscriber_id)
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert subscriber.email == "ana@example.com"
    assert subscriber.email_confirmed
    assert not subscriber.phone_confirmed
    assert subscriber.timezone == "Europe/Berlin"
    [search] = stores.searches().list_for(subscriber_id)
    assert search.query == "python remote -senior"
    assert search.live
    assert search.shard == shard_for(search.search_id, get_settings().search_shards)
    assert len(search.updated_at) == len("2026-01-01T00:00:00.000000+00:00")


def test_a_get_of_the_confirm_link_does_not_confirm_but_a_post_does_once(
    stack: LocalStack,
) -> None:
    # Given a sign-up and its confirmation link
    api("POST", "/subscriptions", EMAIL_SUBSCRIPTION)
    token = token_of(next(link for link in sent_emails()[-1].links() if "/confirm?" in link))

    # When a mail scanner (or the person) opens the link
    page = api("GET", "/confirm", query={"t": token})

    # Then they see what they are confirming and a button, and nothing exists yet
    assert page["statusCode"] == 200
    assert '<form method="post" action="/confirm?t=' in page["body"]
    assert "python remote -senior" in page["body"]
    assert "Europe/Berlin" in page["body"]
    assert stores.subscribers().find_by_email("ana@example.com") is None

    # When the button is pressed
    response = api("POST", "/confirm", "", query={"t": token})

    # Then the subscriber is active and lands on their manage page
    assert response["statusCode"] == 303
    location = response["headers"]["Location"]
    assert location.startswith("/manage?t=")
    subscriber_id = signer().verify(token_of(location), tokens.MANAGE)
    subscriber = stores.subscribers().get(subscriber_id)
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert subscriber.confirmed_at is not None
    # And the link is spent: pressing it again hands out no second manage link
    again = api("POST", "/confirm", "", query={"t": token})
    assert again["statusCode"] == 403
    assert "Location" not in again["headers"]
    assert "already used" in again["body"]


def test_sms_subscription_sends_the_confirm_link_by_text(stack: LocalStack) -> None:
    # When someone subscribes with a phone number for text alerts
    response = api(
        "POST",
        "/subscriptions",
        {
            "phone": "+1 415 555 0123",
            "timezone": "America/New_York",
            "query": "#nursing",
            "channel": "sms",
            "frequency": "instant",
        },
    )

    # Then one text with the short confirm link went to the E.164 number
    assert response["statusCode"] == 202
    [sms] = sent_sms()
    assert sms.phone == "+14155550123"
    [link] = [word for word in sms.text.split() if "/c/" in word]
    assert link.startswith(f"{TEST_BASE_URL}/c/")
    assert signer().verify_short(link.rsplit("/", 1)[1], tokens.CONFIRM)
    assert sent_emails() == []


@pytest.mark.parametrize(
    ("body", "field", "column"),
    [
        ({**EMAIL_SUBSCRIPTION, "query": "python (remote"}, "query", 8),
        ({**EMAIL_SUBSCRIPTION, "query": "python OR"}, "query", None),
        ({**EMAIL_SUBSCRIPTION, "query": ""}, "query", None),
        ({**EMAIL_SUBSCRIPTION, "query": 42}, "query", None),
        ({**EMAIL_SUBSCRIPTION, "email": "not-an-address"}, "email", None),
        ({**EMAIL_SUBSCRIPTION, "timezone": "Mars/Olympus_Mons"}, "timezone", None),
        ({**EMAIL_SUBSCRIPTION, "timezone": "../../etc/passwd"}, "timezone", None),
        ({**EMAIL_SUBSCRIPTION, "channel": "pigeon"}, "channel", None),
        ({**EMAIL_SUBSCRIPTION, "frequency": "hourly-ish"}, "frequency", None),
        ({**EMAIL_SUBSCRIPTION, "digest_hour": 24}, "digest_hour", None),
        ({**EMAIL_SUBSCRIPTION, "email": None, "phone": "+1 555"}, "phone", None),
        ({**EMAIL_SUBSCRIPTION, "channel": "sms"}, "phone", None),
        ({"query": "python"}, "email", None),
        (["a", "list"], "body", None),
        ("{not json", "body", None),
    ],
)
def test_bad_input_is_a_400_naming_the_field_never_a_500(
    stack: LocalStack, body: Any, field: str, column: int | None
) -> None:
    # When a subscription request is malformed
    response = api("POST", "/subscriptions", body)

    # Then the answer is 400 with a message a person can act on, and nothing was sent
    assert response["statusCode"] == 400
    error = json_body(response)
    assert error["field"] == field
    assert error["error"]
    if column is not None:
        assert error["column"] == column
    assert sent_emails() == []


def test_the_query_error_names_its_column(stack: LocalStack) -> None:
    response = api("POST", "/subscriptions", {**EMAIL_SUBSCRIPTION, "query": "python (remote"})
    error = json_body(response)
    assert response["statusCode"] == 400
    assert error["field"] == "query"
    assert isinstance(error["column"], int)
    assert error["column"] >= 1


def test_subscribing_again_does_not_reveal_anything_and_resends_are_rate_limited(
    stack: LocalStack,
) -> None:
    # Given a sign-up
    first = api("POST", "/subscriptions", EMAIL_SUBSCRIPTION)
    limit = get_settings().signup_limit_per_destination

    # When the same address subscribes again and again (a person retrying, or someone abusing it)
    answers = [api("POST", "/subscriptions", EMAIL_SUBSCRIPTION) for _ in range(limit + 2)]

    # Then every answer up to the allowance is the same as the first, then a 429 to retry later
    accepted = [a for a in answers if a["statusCode"] == 202]
    assert {a["body"] for a in accepted} == {first["body"]}
    refused = [a for a in answers if a["statusCode"] != 202]
    assert {a["statusCode"] for a in refused} == {429}
    assert all(int(a["headers"]["Retry-After"]) > 0 for a in refused)
    # And confirmation mails stop at the allowance
    assert len(sent_emails()) == limit


def test_a_known_address_signing_up_again_changes_nothing_until_the_owner_confirms(
    stack: LocalStack,
) -> None:
    # Given a confirmed subscriber
    subscriber_id, _ = subscribe_and_confirm()
    mails_before = len(sent_emails())

    # When someone submits the same address with another search and timezone
    response = api(
        "POST",
        "/subscriptions",
        {**EMAIL_SUBSCRIPTION, "query": "golang", "timezone": "Asia/Tokyo"},
    )

    # Then the answer looks the same as for a new address, and nothing changed
    assert response["statusCode"] == 202
    assert [s.query for s in stores.searches().list_for(subscriber_id)] == ["python remote -senior"]
    # And the owner got a link to confirm that search, showing what it would add
    [mail] = sent_emails()[mails_before:]
    [link] = [link for link in mail.links() if "/confirm?" in link]
    assert "golang" in api("GET", "/confirm", query={"t": token_of(link)})["body"]

    # When the owner confirms it from their inbox
    confirmed = api("POST", "/confirm", "", query={"t": token_of(link)})

    # Then the search is added to the same subscriber, and their settings are kept
    assert signer().verify(token_of(confirmed["headers"]["Location"]), tokens.MANAGE) == (
        subscriber_id
    )
    assert sorted(s.query for s in stores.searches().list_for(subscriber_id)) == [
        "golang",
        "python remote -senior",
    ]
    assert stores.subscribers().get(subscriber_id).timezone == "Europe/Berlin"


# ---------------------------------------------------------------- JSON API with the manage token


def test_saved_searches_can_be_listed_added_and_deleted_with_the_manage_token(
    stack: LocalStack,
) -> None:
    # Given a confirmed subscriber with one search
    subscriber_id, manage = subscribe_and_confirm()

    # When they add a search
    added = api(
        "POST",
        "/api/searches",
        {"query": '"data engineer" berlin', "channel": "email", "frequency": "weekly"},
        headers=bearer(manage),
    )

    # Then it is created and listed
    assert added["statusCode"] == 201
    search = json_body(added)
    assert search["query"] == '"data engineer" berlin'
    assert search["frequency"] == "weekly"
    listed = json_body(api("GET", "/api/searches", headers=bearer(manage)))["searches"]
    assert [s["query"] for s in listed] == ["python remote -senior", '"data engineer" berlin']
    # And each carries its signed Atom feed link, which the feed route answers
    assert f"~{compact_id(search['search_id'])}." in search["feed_url"]
    for listed_search in listed:
        assert f"~{compact_id(listed_search['search_id'])}." in listed_search["feed_url"]
        feed = api("GET", urlsplit(listed_search["feed_url"]).path)
        assert feed["statusCode"] == 200
        assert feed["headers"]["Content-Type"].startswith("application/atom+xml")

    # When they delete it
    deleted = api("DELETE", f"/api/searches/{search['search_id']}", headers=bearer(manage))

    # Then it is gone from the list, and a tombstone tells the match workers
    assert deleted["statusCode"] == 204
    listed = json_body(api("GET", "/api/searches", headers=bearer(manage)))["searches"]
    assert [s["query"] for s in listed] == ["python remote -senior"]
    all_searches = stores.searches().list_for(subscriber_id, include_deleted=True)
    assert {s.status.value for s in all_searches} == {"active", "deleted"}
    # And deleting it again is a 404
    again = api("DELETE", f"/api/searches/{search['search_id']}", headers=bearer(manage))
    assert again["statusCode"] == 404


def test_a_bad_query_through_the_api_is_a_400_with_its_column(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()
    response = api("POST", "/api/searches", {"query": "rust -"}, headers=bearer(manage))
    assert response["statusCode"] == 400
    assert json_body(response)["field"] == "query"
    assert isinstance(json_body(response)["column"], int)


def test_saved_searches_are_capped_per_subscriber(stack: LocalStack) -> None:
    # Given a subscriber at the limit
    _, manage = subscribe_and_confirm()
    for number in range(MAX_SEARCHES - 1):
        created = api("POST", "/api/searches", {"query": f"job{number}"}, headers=bearer(manage))
        assert created["statusCode"] == 201

    # When they add one more
    response = api("POST", "/api/searches", {"query": "one too many"}, headers=bearer(manage))

    # Then it is refused with a clear message
    assert response["statusCode"] == 400
    assert str(MAX_SEARCHES) in json_body(response)["error"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer {confirm}",
        "Bearer {expired}",
    ],
)
def test_the_api_answers_401_to_a_missing_wrong_or_expired_token(
    clock: datetime, stack: LocalStack, authorization: str | None
) -> None:
    # Given a subscriber, and tokens that must not open the API
    subscriber_id, _ = subscribe_and_confirm()
    confirm = signer().sign(tokens.CONFIRM, subscriber_id, 600)
    expired = signer().sign(
        tokens.MANAGE, subscriber_id, MANAGE_TTL, now=clock.timestamp() - MANAGE_TTL - 1
    )
    headers = {}
    if authorization is not None:
        headers["authorization"] = authorization.format(confirm=confirm, expired=expired)

    # When they are used
    for method, path in [
        ("GET", "/api/searches"),
        ("GET", "/api/subscriber"),
        ("DELETE", "/api/searches/x"),
        ("POST", "/api/searches"),
    ]:
        response = api(method, path, {"query": "x"} if method == "POST" else None, headers=headers)

        # Then the answer is 401 JSON
        assert response["statusCode"] == 401, (method, path)
        assert "error" in json_body(response)
        assert response["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_the_subscriber_settings_can_be_read_and_changed(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()

    changed = api(
        "PATCH",
        "/api/subscriber",
        {"timezone": "Asia/Tokyo", "digest_hour": 7, "sms_quiet_start": 22},
        headers=bearer(manage),
    )

    assert changed["statusCode"] == 200
    data = json_body(api("GET", "/api/subscriber", headers=bearer(manage)))
    assert (data["timezone"], data["digest_hour"], data["sms_quiet_start"]) == ("Asia/Tokyo", 7, 22)
    refused = api("PATCH", "/api/subscriber", {"status": "active"}, headers=bearer(manage))
    assert refused["statusCode"] == 400
    refused = api("PATCH", "/api/subscriber", {"timezone": "Nowhere"}, headers=bearer(manage))
    assert (refused["statusCode"], json_body(refused)["field"]) == (400, "timezone")


# ---------------------------------------------------------------- unsubscribe


def test_one_click_unsubscribe_works_without_login_and_twice(stack: LocalStack) -> None:
    # Given a confirmed subscriber and the unsubscribe link from their mail
    subscriber_id, _ = subscribe_and_confirm()
    token = token_of(Links(TEST_BASE_URL, signer()).unsubscribe(subscriber_id))

    # When a mail client opens the link, nothing changes (scanners prefetch)
    page = api("GET", "/unsubscribe", query={"t": token})
    assert page["statusCode"] == 200
    assert stores.subscribers().get(subscriber_id).status is SubscriberStatus.ACTIVE

    # When the mailbox provider POSTs the RFC 8058 one-click body
    response = form_post("/unsubscribe", token, {"List-Unsubscribe": "One-Click"})

    # Then the answer is 200 and the subscriber is unsubscribed
    assert response["statusCode"] == 200
    assert stores.subscribers().get(subscriber_id).status is SubscriberStatus.UNSUBSCRIBED
    # And doing it again is harmless
    assert form_post("/unsubscribe", token, {"List-Unsubscribe": "One-Click"})["statusCode"] == 200


def test_searches_go_live_on_confirmation_and_stop_on_unsubscribe(stack: LocalStack) -> None:
    # Given a sign-up that is not confirmed yet: no search exists, so it costs no reads
    assert api("POST", "/subscriptions", EMAIL_SUBSCRIPTION)["statusCode"] == 202
    assert stores.subscribers().find_by_email("ana@example.com") is None

    # When it is confirmed, its search is live, and later ones are live from the start
    sid, manage = subscribe_and_confirm()
    added = api("POST", "/api/searches", {"query": "golang"}, headers=bearer(manage))
    assert added["statusCode"] == 201
    assert [s.live for s in stores.searches().list_for(sid)] == [True, True]

    # When they unsubscribe, every search stops
    unsubscribe = token_of(Links(TEST_BASE_URL, signer()).unsubscribe(sid))
    assert (
        form_post("/unsubscribe", unsubscribe, {"List-Unsubscribe": "One-Click"})["statusCode"]
        == 200
    )
    assert [s.live for s in stores.searches().list_for(sid)] == [False, False]

    # When anyone signs the address up again with other settings, nothing changes yet
    again = {**EMAIL_SUBSCRIPTION, "timezone": "Asia/Tokyo"}
    assert api("POST", "/subscriptions", again)["statusCode"] == 202
    subscriber = stores.subscribers().get(sid)
    assert (subscriber.status, subscriber.timezone) == (
        SubscriberStatus.UNSUBSCRIBED,
        "Europe/Berlin",
    )

    # When the owner confirms from the new link, they opt in again on those terms
    link = next(link for link in sent_emails()[-1].links() if "/confirm?" in link)
    assert api("POST", "/confirm", "", query={"t": token_of(link)})["statusCode"] == 303
    subscriber = stores.subscribers().get(sid)
    assert (subscriber.status, subscriber.timezone) == (SubscriberStatus.ACTIVE, "Asia/Tokyo")
    assert [s.live for s in stores.searches().list_for(sid)] == [True, True]


def test_an_unsubscribe_with_a_forged_token_changes_nothing(stack: LocalStack) -> None:
    subscriber_id, manage = subscribe_and_confirm()
    forged = tokens.Signer(b"not the key").sign(tokens.UNSUBSCRIBE, subscriber_id, 600)

    for token in [forged, manage]:
        response = form_post("/unsubscribe", token, {"List-Unsubscribe": "One-Click"})
        assert response["statusCode"] == 403

    assert stores.subscribers().get(subscriber_id).status is SubscriberStatus.ACTIVE


# ---------------------------------------------------------------- digest web view


def test_the_digest_web_view_needs_a_valid_unexpired_token_for_that_digest(
    clock: datetime, stack: LocalStack
) -> None:
    # Given an archived digest
    subscriber_id, _ = subscribe_and_confirm()
    stores.archive().put(
        subscriber_id, "d1", "<html><body>3 new jobs</body></html>", clock, short_link=False
    )
    links = Links(TEST_BASE_URL, signer())
    good = token_of(links.digest(subscriber_id, "d1"))
    expired = signer().sign(tokens.DIGEST, f"{subscriber_id}|d1", 60, now=clock.timestamp() - 61)
    forged = tokens.Signer(b"guess").sign(tokens.DIGEST, f"{subscriber_id}|d1", 600)
    other = token_of(links.digest(subscriber_id, "d2"))

    # Then the valid link shows it, with the page's security headers
    shown = api("GET", "/digests/d1", query={"t": good})
    assert shown["statusCode"] == 200
    assert "3 new jobs" in shown["body"]
    assert "frame-ancestors 'none'" in shown["headers"]["Content-Security-Policy"]
    # And expired, forged and other digests' tokens get a 403 page
    for token in [expired, forged, other]:
        refused = api("GET", "/digests/d1", query={"t": token})
        assert refused["statusCode"] == 403
        assert "3 new jobs" not in refused["body"]
    # And a digest that is gone is a 404 page
    assert api("GET", "/digests/d2", query={"t": other})["statusCode"] == 404


def test_the_short_digest_link_of_a_text_message_shows_the_same_page(
    clock: datetime, stack: LocalStack
) -> None:
    # Given an archived text digest and the short link the text carries
    subscriber_id, _ = subscribe_and_confirm()
    stores.archive().put(
        subscriber_id, "d1", "<html><body>3 new jobs</body></html>", clock, short_link=True
    )
    path = "/d/" + Links(TEST_BASE_URL, signer()).short_digest("d1").split("/d/")[1]

    # Then the link shows it
    shown = api("GET", path)
    assert shown["statusCode"] == 200
    assert "3 new jobs" in shown["body"]
    # And an expired, forged or unknown code is refused or not found
    expired = signer().sign_short(tokens.DIGEST, "d1", 60, now=clock.timestamp() - 61)
    forged = tokens.Signer(b"guess").sign_short(tokens.DIGEST, "d1", 600)
    for code in [expired, forged, path[3:-1]]:
        assert api("GET", f"/d/{code}")["statusCode"] == 403
    missing = signer().sign_short(tokens.DIGEST, "d2", 600)
    assert api("GET", f"/d/{missing}")["statusCode"] == 404


# ---------------------------------------------------------------- pages: headers and escaping


def test_pages_carry_security_headers_and_escape_what_people_typed(stack: LocalStack) -> None:
    # Given a subscriber whose search is hostile markup
    _, manage = subscribe_and_confirm(
        {**EMAIL_SUBSCRIPTION, "query": '"><img src=x onerror=alert(1)>" <script>alert(2)</script>'}
    )

    # When they open their manage page
    page = api("GET", "/manage", query={"t": manage})

    # Then the markup is shown as text, and the headers forbid scripts and framing
    assert page["statusCode"] == 200
    body = page["body"]
    assert "<script>alert(2)" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body
    headers = page["headers"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "form-action 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_manage_form_with_a_bad_query_shows_the_error_inline(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()

    response = form_post(
        "/manage/searches",
        manage,
        {"query": "python (remote", "channel": "email", "frequency": "daily"},
    )

    assert response["statusCode"] == 400
    assert 'id="search-error"' in response["body"]
    assert "column 8" in response["body"]
    assert 'value="python (remote"' in response["body"]


def test_a_manage_form_posted_from_another_site_is_refused(stack: LocalStack) -> None:
    subscriber_id, manage = subscribe_and_confirm()

    response = api(
        "POST",
        "/manage/searches",
        "query=spam",
        query={"t": manage},
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "origin": "https://evil.example",
        },
    )

    assert response["statusCode"] == 403
    assert len(stores.searches().list_for(subscriber_id)) == 1


def test_bad_links_get_a_page_not_a_500(stack: LocalStack) -> None:
    for path in ["/confirm", "/manage", "/unsubscribe", "/digests/x"]:
        for query in [None, {"t": ""}, {"t": "garbage"}, {"t": "a.b"}]:
            response = api("GET", path, query=query)
            assert response["statusCode"] == 403, (path, query)
            assert response["headers"]["Content-Type"].startswith("text/html")
    assert api("GET", "/nowhere")["statusCode"] == 404
    assert api("GET", "/api/nowhere")["statusCode"] == 404


def test_a_second_address_is_never_attached_or_texted_without_its_own_confirmation(
    stack: LocalStack,
) -> None:
    # Given someone signs up with their own email and a stranger's phone, and confirms by email
    subscriber_id, manage = subscribe_and_confirm({**EMAIL_SUBSCRIPTION, "phone": "+14155550142"})

    # Then the phone is not on the subscription: it only got a link of its own to confirm
    subscriber = stores.subscribers().get(subscriber_id)
    assert (subscriber.phone, subscriber.phone_confirmed) == (None, False)
    [text] = sent_sms()
    assert text.phone == "+14155550142"
    assert "/c/" in text.text

    # When the token holder asks for text alerts anyway
    response = api(
        "POST", "/api/searches", {"query": "python", "channel": "sms"}, headers=bearer(manage)
    )

    # Then it is refused naming the channel, and nothing is stored
    assert (response["statusCode"], json_body(response)["field"]) == (400, "channel")
    assert len(stores.searches().list_for(subscriber_id)) == 1

    # When the phone's owner confirms from their own text
    code = next(word for word in text.text.split() if "/c/" in word).rsplit("/", 1)[1]
    assert api("GET", f"/c/{code}")["statusCode"] == 200
    assert api("POST", f"/c/{code}", "")["statusCode"] == 303

    # Then the number is attached, confirmed, and text alerts can be added
    subscriber = stores.subscribers().get(subscriber_id)
    assert (subscriber.phone, subscriber.phone_confirmed) == ("+14155550142", True)
    response = api(
        "POST", "/api/searches", {"query": "python", "channel": "sms"}, headers=bearer(manage)
    )
    assert response["statusCode"] == 201


def test_adding_a_channel_through_the_api_sends_it_its_own_link(stack: LocalStack) -> None:
    # Given an email subscriber
    subscriber_id, manage = subscribe_and_confirm()

    # When they add a phone number through the API
    response = api("POST", "/api/channels", {"phone": "+14155550123"}, headers=bearer(manage))

    # Then the number gets a confirmation text, and is not attached until it is used
    assert response["statusCode"] == 202
    [text] = sent_sms()
    assert text.phone == "+14155550123"
    assert stores.subscribers().get(subscriber_id).phone is None


def test_a_replaced_email_address_is_freed_for_someone_else(stack: LocalStack) -> None:
    # Given a confirmed subscriber who moves to a new email address and confirms it there
    first_id, manage = subscribe_and_confirm()
    response = api("POST", "/api/channels", {"email": "ana@new.example"}, headers=bearer(manage))
    assert response["statusCode"] == 202
    [link] = [link for link in sent_emails()[-1].links() if "/confirm?" in link]
    assert sent_emails()[-1].to == "ana@new.example"
    assert api("POST", "/confirm", "", query={"t": token_of(link)})["statusCode"] == 303
    me = json_body(api("GET", "/api/subscriber", headers=bearer(manage)))
    assert me["email"] == "ana@new.example"

    # When someone else signs up with the old address and confirms it
    second_id, _ = subscribe_and_confirm({**EMAIL_SUBSCRIPTION, "email": "ana@example.com"})

    # Then it is theirs: a new subscription, not a link back into the first one
    assert second_id != first_id
