"""Muting an account: a link on every digest item (email and web view), a list with undo on the
manage page, and the account's posts never in that subscriber's digests again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from jobalerts import tokens
from jobalerts.links import MANAGE_TTL, Links
from jobalerts.models import Channel, Frequency
from jobalerts_local.abuse import stored_items
from jobalerts_local.runtime import json_body
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.integration.test_subscriptions_api import api, bearer, form_post, signer
from tests.support import stores
from tests.support.digests import (
    Outbox,
    make_post,
    make_search,
    make_subscriber,
    queue_match,
    run_deliver,
    run_digest,
    seed,
)

NOON_NEW_YORK = datetime(2099, 6, 1, 16, tzinfo=UTC)


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["t"][0]


def test_a_muted_account_never_appears_in_that_subscribers_digests_again(
    stack: LocalStack,
) -> None:
    # Given a subscriber whose instant search got posts from @acme and @bob, and another
    # subscriber with the same search
    sub = make_subscriber("ana")
    search = make_search("ana", "5" * 32, "nurse", frequency=Frequency.INSTANT)
    other = make_subscriber("cy")
    other_search = make_search("cy", "6" * 32, "nurse", frequency=Frequency.INSTANT)
    seed(sub, search)
    seed(other, other_search)
    queue_match(sub, search, make_post("1", "Nurse wanted", author="Acme"), NOON_NEW_YORK)
    queue_match(sub, search, make_post("2", "Nurse needed", author="bob"), NOON_NEW_YORK)
    outbox = Outbox()
    run_digest(NOON_NEW_YORK + timedelta(minutes=5))
    run_deliver(stack)
    [email] = outbox.emails

    # Then every item carries a mute link for its account, in the HTML, text and web view
    mutes = [link for link in email.links() if "/mute?" in link]
    assert len(set(mutes)) == 2
    assert 'mute <span dir="auto">@Acme</span>' in email.part("html")
    [acme] = [
        line.split(": ", 1)[1] for line in email.part("plain").splitlines() if "Mute @Acme" in line
    ]
    view = next(link for link in email.links() if "/digests/" in link)
    digest_id = urlparse(view).path.rsplit("/", 1)[1]
    page = stores.archive().get("ana", digest_id)
    assert page is not None
    assert page.count("/mute?t=") == 2

    # When they open the @acme link: the GET only asks
    asked = api("GET", "/mute", query={"t": token_of(acme)})
    assert asked["statusCode"] == 200
    assert 'Mute <span dir="auto">@Acme</span>?' in asked["body"]
    assert stores.subscribers().get("ana").muted == []
    # And they confirm with the button
    done = api("POST", "/mute", "", query={"t": token_of(acme)})

    # Then @acme is muted (however its handle is cased) and the page offers an undo
    assert done["statusCode"] == 200
    assert 'id="undo-mute"' in done["body"]
    assert stores.subscribers().get("ana").muted == ["acme"]

    # When both accounts post again
    later = NOON_NEW_YORK + timedelta(hours=1)
    queue_match(sub, search, make_post("3", "Nurse again", author="acme"), later)
    queue_match(sub, search, make_post("4", "Nurse too", author="bob"), later)
    queue_match(other, other_search, make_post("3", "Nurse again", author="acme"), later)
    run_digest(later + timedelta(minutes=5))
    run_deliver(stack)

    # Then the subscriber's digest has only @bob's post and @acme's is dropped, not held back
    mine = [e for e in outbox.emails[1:] if e.to == "ana@example.com"]
    [digest] = mine
    assert "Nurse too" in digest.part("plain")
    assert "Nurse again" not in digest.part("plain")
    assert stores.matches().pending("ana", Channel.EMAIL, later + timedelta(days=1)) == []
    # And the other subscriber, who muted nobody, still gets @acme
    [theirs] = [e for e in outbox.emails if e.to == "cy@example.com"]
    assert "Nurse again" in theirs.part("plain")


def test_the_manage_page_lists_muted_accounts_with_an_undo(stack: LocalStack) -> None:
    # Given a subscriber who muted @acme from a digest link
    seed(make_subscriber("ana"))
    links = Links(get_settings().public_base_url, signer())
    assert (
        api("POST", "/mute", "", query={"t": token_of(links.mute("ana", "@acme"))})["statusCode"]
        == 200
    )
    manage = signer().sign(tokens.MANAGE, "ana", MANAGE_TTL)

    # Then the manage page lists it with an undo
    page = api("GET", "/manage", query={"t": manage})["body"]
    assert 'id="muted-accounts"' in page
    assert 'Undo<span class="visually-hidden"> muting @acme</span>' in page

    # When they undo it
    response = form_post("/manage/mutes/undo", manage, {"account": "acme"})

    # Then it is unmuted
    assert response["statusCode"] == 303
    assert stores.subscribers().get("ana").muted == []


def test_bad_mute_requests_are_refused_and_write_nothing(stack: LocalStack) -> None:
    # Given a subscriber with one muted account
    seed(make_subscriber("ana"))
    links = Links(get_settings().public_base_url, signer())
    api("POST", "/mute", "", query={"t": token_of(links.mute("ana", "acme"))})
    manage = signer().sign(tokens.MANAGE, "ana", MANAGE_TTL)
    before = stored_items()

    # When the requests are forged, mistyped or aimed at another purpose
    forged = api("POST", "/mute", "", query={"t": token_of(links.mute("ana", "bob"))[:-2] + "xx"})
    manage_as_mute = api("POST", "/mute", "", query={"t": manage})
    empty = form_post("/manage/mutes/undo", manage, {"account": ""})
    api_empty = api("DELETE", "/api/mutes/" + "x" * 400, headers=bearer(manage))

    # Then each is refused, naming the field where there is one, and nothing changed
    assert forged["statusCode"] == 403
    assert manage_as_mute["statusCode"] == 403
    assert empty["statusCode"] == 400
    assert 'id="mutes-error"' in empty["body"]
    assert (api_empty["statusCode"], json_body(api_empty)["field"]) == (400, "account")
    assert stored_items() == before
    assert stores.subscribers().get("ana").muted == ["acme"]
