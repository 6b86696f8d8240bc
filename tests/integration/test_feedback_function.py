"""The feedback function: SES bounces and complaints (via SNS) stop mail to an address."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from jobalerts.models import Channel, DeliveryRequest, SubscriberStatus
from jobalerts_local.runtime import invoke, sns_event
from jobalerts_local.template import LocalStack
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
from tests.support.events import load_event


def feedback(stack: LocalStack, notification: dict[str, object]) -> dict[str, object]:
    topic = stack.refs["EmailFeedbackTopic"]
    result: dict[str, object] = invoke("feedback", sns_event(topic, json.dumps(notification)))
    return result


def bounce(kind: str, *addresses: str) -> dict[str, object]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bouncedRecipients": [{"emailAddress": a} for a in addresses],
        },
        "mail": {"destination": list(addresses)},
    }


def complaint(*addresses: str) -> dict[str, object]:
    return {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": a} for a in addresses]},
        "mail": {"destination": list(addresses)},
    }


def deliver_one_digest(stack: LocalStack, sid: str, pid: str, now: datetime) -> int:
    """Queue one post for `sid`, run digest and deliver at `now`; returns emails sent."""
    sub = stores.subscribers().get(sid)
    search = make_search(sid, "s1", "python")
    queue_match(sub, search, make_post(pid, f"Python developer wanted, remote, role {pid}"), now)
    outbox = Outbox()
    run_digest(now.replace(year=now.year + 1))
    run_deliver(stack)
    return len(outbox.emails)


@pytest.mark.parametrize(
    "notification",
    [bounce("Permanent", "ana@example.com"), complaint("ana@example.com")],
    ids=["permanent-bounce", "complaint"],
)
def test_a_permanent_bounce_or_complaint_suppresses_and_nothing_more_is_sent(
    stack: LocalStack, notification: dict[str, object]
) -> None:
    # Given an email-only subscriber who has received digests
    seed(make_subscriber("ana"), make_search("ana", "s1", "python"))
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    assert deliver_one_digest(stack, "ana", "1", now) == 1
    # When SES reports a permanent bounce (or a complaint) for her address
    feedback(stack, notification)
    # Then she is suppressed, her email channel is off, and the next digest is not sent
    ana = stores.subscribers().get("ana")
    assert ana.status is SubscriberStatus.SUPPRESSED
    assert ana.email_enabled is False
    assert stores.suppressions().contains("ANA@example.com ")
    assert deliver_one_digest(stack, "ana", "2", now.replace(day=2)) == 0
    # And her searches stop costing X reads
    assert [search.live for search in stores.searches().list_for("ana")] == [False]


def test_a_transient_bounce_keeps_the_address_and_the_next_digest_goes_out(
    stack: LocalStack,
) -> None:
    seed(make_subscriber("ana"), make_search("ana", "s1", "python"))
    feedback(stack, bounce("Transient", "ana@example.com"))
    ana = stores.subscribers().get("ana")
    assert ana.status is SubscriberStatus.ACTIVE
    assert ana.email_enabled is True
    assert not stores.suppressions().contains("ana@example.com")
    assert deliver_one_digest(stack, "ana", "1", datetime(2027, 6, 1, 12, tzinfo=UTC)) == 1


def test_one_notification_suppresses_every_recipient_it_names(stack: LocalStack) -> None:
    seed(make_subscriber("ana"))
    seed(make_subscriber("ben", phone="+14155550100"))
    result = feedback(stack, bounce("Permanent", "ana@example.com", "ben@example.com"))
    assert result["suppressed"] == 2
    assert stores.subscribers().get("ana").status is SubscriberStatus.SUPPRESSED
    # Ben still has a working SMS channel: only his email goes off
    ben = stores.subscribers().get("ben")
    assert (ben.status, ben.email_enabled, ben.sms_enabled) == (
        SubscriberStatus.ACTIVE,
        False,
        True,
    )


def test_an_address_with_no_subscriber_is_still_suppressed(stack: LocalStack) -> None:
    feedback(stack, complaint("stranger@example.com"))
    assert stores.suppressions().contains("stranger@example.com")


@pytest.mark.parametrize(
    ("name", "suppressed"),
    [
        ("feedback-permanent-bounce.json", 2),
        ("feedback-complaint.json", 1),
        ("feedback-transient-bounce.json", 0),
        ("feedback-send-event.json", 0),
    ],
)
def test_the_sample_events_run_through_the_handler(
    stack: LocalStack, name: str, suppressed: int
) -> None:
    seed(make_subscriber("bounce-one", email="bounce-one@example.com"))
    result = invoke("feedback", load_event(name))
    assert result == {"notifications": 1, "suppressed": suppressed}


def test_a_send_event_marks_the_digest_window_as_accepted(
    clock: datetime, stack: LocalStack
) -> None:
    # Given a delivery attempt that claimed its window (and then, say, crashed)
    window = datetime.fromtimestamp(1780315200, UTC)
    request = DeliveryRequest(subscriber_id="sample-ana", channel=Channel.EMAIL, due_at=window)
    log = stores.deliveries()
    log.claim(
        request,
        digest_id="d1",
        attempt_id="a1",
        post_ids=("x#1",),
        fingerprints=(),
        # Claimed "now" (the record's TTL runs from here): the feedback function reads the clock
        now=clock,
    )
    # When SES's Send event for that message arrives
    invoke("feedback", load_event("feedback-send-event.json"))
    # Then the window carries the evidence that SES accepted it
    record = log.get(request)
    assert record is not None
    assert record.accepted


def test_a_message_that_is_not_json_fails_loudly(stack: LocalStack) -> None:
    with pytest.raises(Exception, match="not JSON"):
        invoke("feedback", sns_event(stack.refs["EmailFeedbackTopic"], "not json"))
