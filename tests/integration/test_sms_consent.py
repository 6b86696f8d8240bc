"""The terms carriers require wherever a number is given or texts are switched on."""

from __future__ import annotations

from typing import Any

from jobalerts import tokens
from jobalerts.links import MANAGE_TTL
from jobalerts_local.outbox import sent_sms
from jobalerts_local.runtime import http_event, invoke
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.support.digests import make_subscriber, seed

TERMS = (
    "jobalerts job alerts",
    "Message frequency varies",
    "Msg &amp; data rates may apply",
    "Reply STOP to cancel, HELP for help",
)


def page(path: str, query: dict[str, str] | None = None) -> str:
    response: dict[str, Any] = invoke("subscriptions", http_event("GET", path, query=query))
    assert response["statusCode"] == 200
    return str(response["body"])


def consent(html: str) -> str:
    start = html.index('<p class="muted" id="sms-consent">')
    return html[start : html.index("</p>", start)]


def test_the_sign_up_form_shows_the_terms_right_after_the_phone_field(stack: LocalStack) -> None:
    html = page("/")
    assert html.index('id="phone"') < html.index('id="sms-consent"') < html.index('id="query"')
    for term in TERMS:
        assert term in consent(html)


def test_the_manage_page_shows_the_terms_to_a_subscriber_with_a_phone(stack: LocalStack) -> None:
    # Given subscribers with and without a phone number
    seed(make_subscriber("ana", phone="+14155550123"))
    seed(make_subscriber("ben"))
    signer = tokens.load_signer(get_settings().signing_secret_name)

    def manage(sid: str) -> str:
        return page("/manage", {"t": signer.sign(tokens.MANAGE, sid, MANAGE_TTL)})

    # Then the one who gets texts sees the terms, the other is not bothered with them
    for term in TERMS:
        assert term in consent(manage("ana"))
    assert 'id="sms-consent"' not in manage("ben")


def test_the_confirmation_text_repeats_the_terms(stack: LocalStack) -> None:
    body = '{"phone": "+14155550123", "timezone": "UTC", "query": "python", "channel": "sms", "frequency": "daily"}'
    event = http_event(
        "POST", "/subscriptions", body=body, headers={"content-type": "application/json"}
    )
    assert invoke("subscriptions", event)["statusCode"] == 202
    [sms] = sent_sms()
    assert sms.text.startswith("jobalerts job alerts: confirm your job alerts: ")
    assert sms.text.endswith(
        "Msg freq varies. Msg & data rates may apply. Reply STOP to cancel, HELP for help."
    )
