"""The landing page and its sign-up form, and the short confirm links text messages carry."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from jobalerts import tokens
from jobalerts.digests.sms import measure
from jobalerts.links import CONFIRM_TTL, Links, compact_id
from jobalerts.models import SubscriberStatus
from jobalerts.web.pages import CSP
from jobalerts_local.outbox import sent_emails, sent_sms
from jobalerts_local.template import LocalStack
from tests.conftest import TEST_BASE_URL
from tests.integration.test_subscriptions_api import api, signer, token_of
from tests.support import stores

FORM = {
    "email": "Ana@Example.com",
    "phone": "",
    "timezone": "Europe/Berlin",
    "query": "python remote -senior",
    "channel": "email",
    "frequency": "daily",
    "digest_hour": "7",
}
SMS_FORM = {**FORM, "email": "", "phone": "+1 415 555 0123", "channel": "sms", "query": "#nursing"}
FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded"}


def post_form(fields: dict[str, str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return api("POST", "/subscribe", urlencode(fields), headers={**FORM_HEADERS, **(headers or {})})


def short_code_texted() -> str:
    [link] = [word for word in sent_sms()[-1].text.split() if "/c/" in word]
    return link.rsplit("/", 1)[1]


OUR_SCRIPT = '<script src="/static/timezone.js" defer>'


def scripts(body: str) -> list[str]:
    """Every <script ...> tag of a page: ours is the only one there may be."""
    return re.findall(r"<script[^>]*>", body, flags=re.IGNORECASE)


def assert_html_with_security_headers(response: dict[str, Any]) -> None:
    headers = response["headers"]
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == CSP
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------- GET /


def test_the_landing_page_explains_the_search_language_and_offers_a_sign_up_form(
    stack: LocalStack,
) -> None:
    response = api("GET", "/")

    assert response["statusCode"] == 200
    assert_html_with_security_headers(response)
    body = response["body"]
    for example in [
        "python remote -senior",
        '"data engineer" (berlin OR remote)',
        "#nursing from:mayoclinic",
        "golang OR rust -crypto",
    ]:
        assert example in body
    assert '<form method="post" action="/subscribe" id="subscribe">' in body
    for name in ["email", "phone", "timezone", "query", "channel", "frequency", "digest_hour"]:
        assert f'name="{name}"' in body
    # The timezone is a select of every zone, UTC selected until the browser's zone is known
    assert '<select id="timezone" name="timezone" data-browser-zone>' in body
    assert '<option value="UTC" selected>UTC</option>' in body
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in body
    assert scripts(body) == [OUR_SCRIPT]


def test_the_timezone_script_is_served_from_our_origin_and_allowed_by_the_csp(
    stack: LocalStack,
) -> None:
    # Given the script every page loads
    response = api("GET", "/static/timezone.js")

    # Then it is JavaScript from our own origin, cacheable, and the CSP allows only that
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/javascript")
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "resolvedOptions().timeZone" in response["body"]
    assert "script-src 'self'" in CSP
    assert "'unsafe-inline'" not in CSP.split("script-src", 1)[1].split(";", 1)[0]


def test_a_refused_sign_up_keeps_the_chosen_timezone_and_leaves_it_alone(
    stack: LocalStack,
) -> None:
    response = post_form({**FORM, "timezone": "Asia/Tokyo", "query": "rust -"})
    assert response["statusCode"] == 400
    body = response["body"]
    assert '<option value="Asia/Tokyo" selected>Asia/Tokyo</option>' in body
    # The person chose it: the script must not replace it with the browser's zone
    assert "data-browser-zone" not in body


# ---------------------------------------------------------------- POST /subscribe


def test_the_sign_up_form_subscribes_and_says_check_your_inbox(stack: LocalStack) -> None:
    # When someone fills in the form with an email address
    response = post_form(FORM)

    # Then they are told to check their inbox, and the confirmation email went out
    assert response["statusCode"] == 200
    assert_html_with_security_headers(response)
    assert "Check your inbox or phone" in response["body"]
    [mail] = sent_emails()
    assert mail.to == "ana@example.com"
    [link] = [link for link in mail.links() if "/confirm?" in link]
    # And confirming it creates the subscriber with the form's settings
    assert api("POST", "/confirm", "", query={"t": token_of(link)})["statusCode"] == 303
    subscriber = stores.subscribers().find_by_email("ana@example.com")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert (subscriber.timezone, subscriber.digest_hour) == ("Europe/Berlin", 7)


def test_the_form_answers_the_same_for_a_known_address(stack: LocalStack) -> None:
    # Given an address that has subscribed already
    first = post_form(FORM)

    # When the form is sent again for it
    second = post_form({**FORM, "query": "golang"})

    # Then the page is the same, so the form does not reveal who is subscribed
    assert second["statusCode"] == first["statusCode"] == 200
    assert second["body"] == first["body"]


def test_the_form_defaults_the_timezone_to_utc(stack: LocalStack) -> None:
    fields = {key: value for key, value in FORM.items() if key != "timezone"}

    assert post_form(fields)["statusCode"] == 200
    [link] = [link for link in sent_emails()[-1].links() if "/confirm?" in link]
    api("POST", "/confirm", "", query={"t": token_of(link)})

    subscriber = stores.subscribers().find_by_email("ana@example.com")
    assert subscriber is not None
    assert subscriber.timezone == "UTC"


@pytest.mark.parametrize(
    ("changes", "field", "column"),
    [
        ({"query": "python (remote"}, "query", 8),
        ({"query": "python OR"}, "query", 8),
        ({"query": ""}, "query", None),
        ({"email": "not-an-address"}, "email", None),
        ({"email": ""}, "email", None),
        ({"email": "", "phone": "12"}, "phone", None),
        ({"phone": "+1 415 555 0123", "email": "", "channel": "email"}, "email", None),
        ({"channel": "sms"}, "phone", None),
        ({"channel": "pigeon"}, "channel", None),
        ({"frequency": "yearly"}, "frequency", None),
        ({"timezone": "Mars/Olympus"}, "timezone", None),
        ({"timezone": ""}, "timezone", None),
        ({"digest_hour": "24"}, "digest_hour", None),
        ({"digest_hour": "seven"}, "digest_hour", None),
    ],
)
def test_bad_input_re_renders_the_form_with_the_error_inline_and_the_input_kept(
    stack: LocalStack, changes: dict[str, str], field: str, column: int | None
) -> None:
    fields = {**FORM, **changes}

    response = post_form(fields)

    # Then a 400 page: the form again, the error naming its field (and column), input kept
    assert response["statusCode"] == 400
    assert_html_with_security_headers(response)
    body = response["body"]
    assert f'data-field="{field}"' in body
    assert '<form method="post" action="/subscribe" id="subscribe">' in body
    if column is not None:
        assert f"(column {column})" in body
        assert '<pre id="query-marked">' in body
    else:
        assert "(column" not in body
    assert f'value="{fields["query"]}"' in body
    if fields["email"] and field != "email":
        assert f'value="{fields["email"]}"' in body
    # And nothing was stored or sent
    assert sent_emails() == []
    assert sent_sms() == []
    assert stores.subscribers().find_by_email("ana@example.com") is None


def test_hostile_input_echoed_back_is_escaped(stack: LocalStack) -> None:
    hostile_query = 'python "><img src=x onerror=alert(3)>'
    hostile_email = '"><script>alert(1)</script>@example.com'

    for fields in ({**FORM, "query": hostile_query}, {**FORM, "email": hostile_email}):
        response = post_form(fields)

        assert response["statusCode"] == 400
        body = response["body"]
        assert "<img" not in body
        assert scripts(body) == [OUR_SCRIPT]
        assert "onerror=alert(3)&gt;" in body or "&lt;script&gt;" in body


def test_a_sign_up_posted_from_another_site_is_refused(stack: LocalStack) -> None:
    response = post_form(FORM, headers={"origin": "https://evil.example"})

    assert response["statusCode"] == 403
    assert sent_emails() == []
    # Our own origin is fine
    assert post_form(FORM, headers={"origin": TEST_BASE_URL})["statusCode"] == 200


# ---------------------------------------------------------------- /c/<code>


def test_a_text_subscriber_confirms_with_the_short_link(stack: LocalStack) -> None:
    # Given someone who signed up for text alerts
    assert post_form(SMS_FORM)["statusCode"] == 200
    [sms] = sent_sms()
    assert sms.phone == "+14155550123"
    assert measure(sms.text).segments <= 2  # with the program's terms carriers require
    assert "Reply STOP to cancel, HELP for help" in sms.text
    code = short_code_texted()

    # When they open the link: a page with a button, nothing confirmed yet
    page = api("GET", f"/c/{code}")
    assert page["statusCode"] == 200
    assert_html_with_security_headers(page)
    assert f'action="/c/{code}"' in page["body"]
    assert stores.subscribers().find_by_phone("+14155550123") is None

    # When they press it
    response = api("POST", f"/c/{code}", "")

    # Then they are active, their phone confirmed, and sent to their manage page
    assert response["statusCode"] == 303
    location = response["headers"]["Location"]
    assert location.startswith("/manage?")
    subscriber = stores.subscribers().find_by_phone("+14155550123")
    assert subscriber is not None
    assert signer().verify(token_of(location), tokens.MANAGE) == subscriber.subscriber_id
    assert subscriber.status is SubscriberStatus.ACTIVE
    assert subscriber.phone_confirmed
    assert not subscriber.email_confirmed
    # And a second tap finds the link spent
    assert api("POST", f"/c/{code}", "")["statusCode"] == 403


def test_an_expired_short_link_does_not_confirm(clock: datetime, stack: LocalStack) -> None:
    post_form(SMS_FORM)
    subject = short_code_texted().split(".")[0]
    long_ago = clock.timestamp() - CONFIRM_TTL - 1
    code = signer().sign_short(tokens.CONFIRM, subject, CONFIRM_TTL, now=long_ago)

    for method in ("GET", "POST"):
        response = api(method, f"/c/{code}", "" if method == "POST" else None)
        assert response["statusCode"] == 403
        assert "expired" in response["body"]
    assert stores.subscribers().find_by_phone("+14155550123") is None


def test_forged_or_misused_short_links_do_not_confirm(stack: LocalStack) -> None:
    post_form(SMS_FORM)
    good = short_code_texted()
    subject, expiry, mac = good.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    forged = [
        f"{subject}.{expiry}.{flipped}",  # a guessed MAC
        f"{subject}.zzzzzzz.{mac}",  # a later expiry
        signer().sign_short(tokens.DIGEST, subject, CONFIRM_TTL),
        signer().sign_short(tokens.CONFIRM, compact_id("0" * 32), CONFIRM_TTL),  # no one
        "garbage",
        "a.b",
        f"{subject}.{expiry}.{mac[:-1]}\u00e9",
    ]

    for code in forged:
        for method in ("GET", "POST"):
            response = api(method, f"/c/{code}", "" if method == "POST" else None)
            assert response["statusCode"] == 403, (code, method)
    assert stores.subscribers().find_by_phone("+14155550123") is None


def test_a_refused_short_code_is_not_logged(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    post_form(SMS_FORM)
    good = short_code_texted()
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")

    assert api("GET", f"/c/{forged}")["statusCode"] == 403

    [refused] = [record for record in caplog.records if record.getMessage() == "refused token"]
    assert refused.__dict__["path"] == "/c/*"
    logged = " ".join(str(value) for record in caplog.records for value in vars(record).values())
    assert forged not in logged
    assert good.split(".")[0] not in logged


# ---------------------------------------------------------------- /m/<code>


def test_the_short_manage_link_opens_the_manage_page(stack: LocalStack) -> None:
    # Given an active text subscriber
    post_form(SMS_FORM)
    api("POST", f"/c/{short_code_texted()}", "")
    subscriber = stores.subscribers().find_by_phone("+14155550123")
    assert subscriber is not None

    # When they sign up again with the same number, the text is a confirm link with the terms
    # carriers require (program, frequency, rates, STOP/HELP): two segments, never more
    assert post_form(SMS_FORM)["statusCode"] == 200
    again = sent_sms()[-1].text
    assert "Reply STOP to cancel, HELP for help" in again
    assert measure(again).segments == 2

    # And the short manage link leads to their manage page
    link = Links(TEST_BASE_URL, signer()).short_manage(subscriber.subscriber_id)
    assert measure(f"jobalerts: manage your alerts: {link}").segments == 1
    code = link.rsplit("/", 1)[1]
    response = api("GET", f"/m/{code}")
    assert response["statusCode"] == 303
    location = response["headers"]["Location"]
    assert signer().verify(token_of(location), tokens.MANAGE) == subscriber.subscriber_id

    # And a forged or confirm-purpose code does not
    confirm_code = signer().sign_short(tokens.CONFIRM, compact_id(subscriber.subscriber_id), 600)
    for bad in (code[:-1] + ("A" if code[-1] != "A" else "B"), confirm_code):
        assert api("GET", f"/m/{bad}")["statusCode"] == 403
