"""Editing a saved search in place (PATCH /api/searches/<id> and the manage page's edit form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobalerts import tokens
from jobalerts.links import MANAGE_TTL
from jobalerts.models import Channel, Frequency
from jobalerts_local.abuse import stored_items
from jobalerts_local.runtime import json_body
from jobalerts_local.template import LocalStack
from tests.integration.test_subscriptions_api import (
    api,
    bearer,
    form_post,
    signer,
    subscribe_and_confirm,
)
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

SEARCH_ID = "5" * 32
NOON_NEW_YORK = datetime(2099, 6, 1, 16, tzinfo=UTC)


def first_search(manage: str) -> dict[str, str]:
    searches: list[dict[str, str]] = json_body(api("GET", "/api/searches", headers=bearer(manage)))[
        "searches"
    ]
    return searches[0]


def test_a_search_is_edited_in_place_and_keeps_its_id(stack: LocalStack) -> None:
    # Given a subscriber with one daily email search
    subscriber_id, manage = subscribe_and_confirm()
    search = first_search(manage)
    before = stores.searches().get(subscriber_id, search["search_id"])

    # When they change its query and frequency through the API
    response = api(
        "PATCH",
        f"/api/searches/{search['search_id']}",
        {"query": "rust OR go remote", "frequency": "weekly"},
        headers=bearer(manage),
    )

    # Then the same search (same id) answers with the new query and frequency
    assert response["statusCode"] == 200
    edited = json_body(response)
    assert edited["search_id"] == search["search_id"]
    assert (edited["query"], edited["frequency"], edited["channel"]) == (
        "rust OR go remote",
        "weekly",
        "email",
    )
    # And it is stored that way, still one search, with a newer updated_at for the match workers
    stored = stores.searches().list_for(subscriber_id)
    assert [(s.search_id, s.query, s.frequency) for s in stored] == [
        (search["search_id"], "rust OR go remote", Frequency.WEEKLY)
    ]
    assert stored[0].updated_at > before.updated_at
    assert stored[0].shard == before.shard
    assert stored[0].created_at == before.created_at


def test_a_bad_edit_is_a_400_naming_the_field_and_writes_nothing(stack: LocalStack) -> None:
    # Given a subscriber with an email search and no phone
    _, manage = subscribe_and_confirm()
    path = f"/api/searches/{first_search(manage)['search_id']}"
    before = stored_items()

    cases = [
        ({"query": "rust -"}, "query"),
        ({"frequency": "yearly"}, "frequency"),
        ({"channel": "pigeon"}, "channel"),
        # Texts go only to a confirmed phone, as when adding.
        ({"channel": "sms"}, "channel"),
        ({"status": "deleted"}, "status"),
        ({"live": True}, "live"),
        ({}, "body"),
        (["query"], "body"),
    ]
    for body, field in cases:
        # When the edit is refused
        response = api("PATCH", path, body, headers=bearer(manage))
        # Then it is a 400 naming the field (and the column of a bad query)
        assert (response["statusCode"], json_body(response)["field"]) == (400, field), body
        if field == "query":
            assert isinstance(json_body(response)["column"], int)
    # And nothing was written
    assert stored_items() == before


def test_editing_a_missing_deleted_or_foreign_search_is_a_404(stack: LocalStack) -> None:
    # Given two subscribers
    _, manage = subscribe_and_confirm()
    _, other = subscribe_and_confirm({"email": "bo@example.com", "query": "java"})
    mine = first_search(manage)["search_id"]
    theirs = first_search(other)["search_id"]

    # Then another subscriber's search, an unknown id, a malformed id and a deleted one are 404
    for search_id in (theirs, "f" * 32, "not-an-id"):
        response = api(
            "PATCH", f"/api/searches/{search_id}", {"query": "x"}, headers=bearer(manage)
        )
        assert response["statusCode"] == 404, search_id
    assert api("DELETE", f"/api/searches/{mine}", headers=bearer(manage))["statusCode"] == 204
    response = api("PATCH", f"/api/searches/{mine}", {"query": "x"}, headers=bearer(manage))
    assert response["statusCode"] == 404
    # And the other subscriber's search is untouched
    assert first_search(other)["query"] == "java"


def test_the_manage_page_edits_a_search_and_shows_errors_inline(stack: LocalStack) -> None:
    # Given a subscriber on the manage page
    subscriber_id, manage = subscribe_and_confirm()
    search_id = first_search(manage)["search_id"]
    page = api("GET", "/manage", query={"t": manage})["body"]
    assert f"/manage/searches/{search_id}/edit?t=" in page

    # When they submit the edit form with a broken query
    refused = form_post(f"/manage/searches/{search_id}/edit", manage, {"query": 'a "<b>'})

    # Then the page comes back with the error beside that search, escaped
    assert refused["statusCode"] == 400
    assert 'id="edit-error"' in refused["body"]
    assert '"<b>' not in refused["body"]
    assert stores.searches().get(subscriber_id, search_id).query == "python remote -senior"

    # When they submit a good one
    saved = form_post(
        f"/manage/searches/{search_id}/edit",
        manage,
        {"query": "django", "channel": "email", "frequency": "hourly"},
    )

    # Then they are sent back to the page, which shows the new query
    assert saved["statusCode"] == 303
    stored = stores.searches().get(subscriber_id, search_id)
    assert (stored.query, stored.frequency) == ("django", Frequency.HOURLY)


def test_a_post_already_emailed_is_not_texted_after_the_search_moves_to_sms(
    stack: LocalStack,
) -> None:
    # Given a subscriber with email and phone confirmed, whose instant email search sent a post
    sub = make_subscriber("ana", phone="+14155550142")
    search = make_search("ana", SEARCH_ID, "nurse", frequency=Frequency.INSTANT)
    seed(sub, search)
    post = make_post("1", "Night nurse wanted in Queens, apply")
    queue_match(sub, search, post, NOON_NEW_YORK)
    outbox = Outbox()
    run_digest(NOON_NEW_YORK + timedelta(minutes=5))
    run_deliver(stack)
    assert len(outbox.emails) == 1
    manage = signer().sign(tokens.MANAGE, "ana", MANAGE_TTL)

    # When the search is moved to text messages
    response = api(
        "PATCH", f"/api/searches/{SEARCH_ID}", {"channel": "sms"}, headers=bearer(manage)
    )
    assert response["statusCode"] == 200
    moved = stores.searches().get("ana", SEARCH_ID)
    assert moved.channel is Channel.SMS

    # And the same post is matched again for it (a retried batch), with a new one
    later = NOON_NEW_YORK + timedelta(hours=1)
    queue_match(sub, moved, post, later)
    queue_match(sub, moved, make_post("2", "Day nurse wanted in Brooklyn"), later)
    run_digest(later + timedelta(minutes=5))
    run_deliver(stack)

    # Then only the new post is texted: the emailed one is not sent again
    [text] = outbox.texts
    assert "1 new job" in text.text
    digest_id = text.text.split("/d/")[1].split(".")[0]
    page = stores.archive().get_by_id(digest_id)
    assert page is not None
    assert "Brooklyn" in page
    assert "Queens" not in page
    assert len(outbox.emails) == 1
    assert stores.matches().pending("ana", Channel.SMS, later + timedelta(days=1)) == []
