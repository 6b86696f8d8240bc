"""Pausing alerts for a week, two weeks or until resumed: from the manage page, the API and the
link in every digest email; paused searches are not live and nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from jobalerts import tokens, wiring
from jobalerts.links import MANAGE_TTL
from jobalerts.models import Frequency
from jobalerts.requests import PauseRequest
from jobalerts.settings import SubscriptionsSettings
from jobalerts.subscriptions import SubscriptionService
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

NOON_NEW_YORK = datetime(2099, 6, 1, 16, tzinfo=UTC)
PAUSED_AT = datetime(2099, 6, 1, 12, tzinfo=UTC)


def subscriptions() -> SubscriptionService:
    """The use case as the subscriptions function builds it, for calls that take a `now`."""
    return wiring.build_subscriptions(SubscriptionsSettings.load()).subscriptions


def live_flags(subscriber_id: str) -> list[bool]:
    return [s.live for s in stores.searches().list_for(subscriber_id)]


def test_the_manage_page_pauses_until_resumed_and_resumes(stack: LocalStack) -> None:
    # Given a confirmed subscriber with a live search
    subscriber_id, manage = subscribe_and_confirm()
    assert live_flags(subscriber_id) == [True]
    assert 'id="pause-form"' in api("GET", "/manage", query={"t": manage})["body"]

    # When they pause until they resume
    response = form_post("/manage/pause", manage, {"for": "resumed"})

    # Then the subscriber is paused with no end, its searches are not live, and the page says so
    assert response["statusCode"] == 303
    subscriber = stores.subscribers().get(subscriber_id)
    assert (subscriber.paused, subscriber.paused_until) == (True, None)
    assert live_flags(subscriber_id) == [False]
    page = api("GET", "/manage", query={"t": manage})["body"]
    assert "until you resume" in page
    assert 'id="resume"' in page

    # When they resume
    assert form_post("/manage/resume", manage)["statusCode"] == 303

    # Then the searches are live again
    assert stores.subscribers().get(subscriber_id).paused is False
    assert live_flags(subscriber_id) == [True]


def test_a_bad_pause_is_a_400_naming_the_field_and_writes_nothing(stack: LocalStack) -> None:
    # Given a confirmed subscriber
    _, manage = subscribe_and_confirm()
    before = stored_items()

    # When the pause asks for something that is not offered
    page = form_post("/manage/pause", manage, {"for": "forever"})
    api_response = api("POST", "/api/pause", {"for": 7}, headers=bearer(manage))
    link = api("POST", "/pause", "for=1w", query={"t": manage})

    # Then the page and the API refuse it naming the field, and a manage token is no pause link
    assert page["statusCode"] == 400
    assert 'id="pause-error"' in page["body"]
    assert (api_response["statusCode"], json_body(api_response)["field"]) == (400, "for")
    assert link["statusCode"] == 403
    assert stored_items() == before


def test_the_api_pauses_for_two_weeks_and_resumes(stack: LocalStack) -> None:
    subscriber_id, manage = subscribe_and_confirm()
    paused = json_body(api("POST", "/api/pause", {"for": "2w"}, headers=bearer(manage)))
    assert paused["paused"] is True
    assert paused["paused_until"] is not None
    assert live_flags(subscriber_id) == [False]
    resumed = json_body(api("POST", "/api/resume", None, headers=bearer(manage)))
    assert (resumed["paused"], resumed["paused_until"]) == (False, None)
    assert live_flags(subscriber_id) == [True]


def test_a_pause_ends_by_itself_at_its_date_when_the_digest_function_runs(
    stack: LocalStack,
) -> None:
    # Given a subscriber who paused for one week at a fixed time
    subscriber_id, _ = subscribe_and_confirm()
    subscriptions().pause(subscriber_id, PauseRequest(duration="1w"), now=PAUSED_AT)
    # And another who paused until they resume
    other_id, _ = subscribe_and_confirm({"email": "bo@example.com", "query": "java"})
    subscriptions().pause(other_id, PauseRequest(duration="resumed"), now=PAUSED_AT)

    # When the scheduled digest run happens a minute before the week is over
    before = run_digest(PAUSED_AT + timedelta(weeks=1) - timedelta(minutes=1))

    # Then nobody is resumed yet
    assert before["resumed"] == 0
    assert stores.subscribers().get(subscriber_id).paused is True

    # When it runs once the week is over
    after = run_digest(PAUSED_AT + timedelta(weeks=1))

    # Then the dated pause ended and its searches are live; the open-ended one is still paused
    assert after["resumed"] == 1
    subscriber = stores.subscribers().get(subscriber_id)
    assert (subscriber.paused, subscriber.paused_until) == (False, None)
    assert live_flags(subscriber_id) == [True]
    assert stores.subscribers().get(other_id).paused is True
    assert live_flags(other_id) == [False]
    # And a later run resumes nobody twice
    assert run_digest(PAUSED_AT + timedelta(weeks=2))["resumed"] == 0


def test_a_pause_renewed_before_it_ended_is_not_ended_by_the_old_date(stack: LocalStack) -> None:
    subscriber_id, _ = subscribe_and_confirm()
    subscriptions().pause(subscriber_id, PauseRequest(duration="1w"), now=PAUSED_AT)
    subscriptions().pause(
        subscriber_id, PauseRequest(duration="2w"), now=PAUSED_AT + timedelta(days=6)
    )
    assert run_digest(PAUSED_AT + timedelta(weeks=1, hours=1))["resumed"] == 0
    assert stores.subscribers().get(subscriber_id).paused is True


def test_nothing_is_sent_while_paused_and_every_digest_email_links_to_a_pause(
    stack: LocalStack,
) -> None:
    # Given a subscriber whose instant search got a digest email
    sub = make_subscriber("ana")
    search = make_search("ana", "5" * 32, "nurse", frequency=Frequency.INSTANT)
    seed(sub, search)
    queue_match(sub, search, make_post("1", "Night nurse wanted in Queens"), NOON_NEW_YORK)
    outbox = Outbox()
    run_digest(NOON_NEW_YORK + timedelta(minutes=5))
    run_deliver(stack)
    [email] = outbox.emails

    # Then the email carries a pause link, whose GET only shows the choices
    [link] = [link for link in email.links() if "/pause?" in link]
    assert "Pause alerts" in email.part("html")
    assert link in email.part("plain")
    token = parse_qs(urlparse(link).query)["t"][0]
    shown = api("GET", "/pause", query={"t": token})
    assert shown["statusCode"] == 200
    assert 'id="pause-form"' in shown["body"]
    assert stores.subscribers().get("ana").paused is False

    # When they pause from it until they resume
    paused = api(
        "POST",
        "/pause",
        "for=resumed",
        query={"t": token},
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    # Then they are paused and the page offers to resume
    assert paused["statusCode"] == 200
    assert 'id="resume"' in paused["body"]
    assert stores.subscribers().get("ana").paused is True

    # And a post matched meanwhile (before the index heard of the pause) is not sent
    later = NOON_NEW_YORK + timedelta(hours=1)
    queue_match(sub, search, make_post("2", "Day nurse wanted in Brooklyn"), later)
    run_digest(later + timedelta(minutes=5))
    run_deliver(stack)
    assert len(outbox.emails) == 1

    # When they resume from the same page
    resumed = api("POST", "/pause/resume", "", query={"t": token})
    assert resumed["statusCode"] == 200
    assert stores.subscribers().get("ana").paused is False
    assert live_flags("ana") == [True]
    # And the manage token signs nothing here: the pause link is its own purpose
    manage = signer().sign(tokens.MANAGE, "ana", MANAGE_TTL)
    assert api("GET", "/pause", query={"t": manage})["statusCode"] == 403
