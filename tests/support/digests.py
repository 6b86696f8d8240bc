"""Helpers shared by the digest, deliver and feedback tests (this module holds no tests).

Everything goes through real code on moto: matches are queued with the repository the match
function uses, the digest function is invoked with scheduled events, and the delivery queue is
drained into the deliver function the way Lambda's SQS poller would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3

from jobalerts.models import Channel, Frequency, Post, SavedSearch, Subscriber, SubscriberStatus
from jobalerts.schedule import next_due
from jobalerts_local.outbox import SentEmail, SentSms, sent_emails, sent_sms
from jobalerts_local.runtime import drain_queue, invoke, scheduled_event
from jobalerts_local.template import LocalStack
from tests.support import stores

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_subscriber(
    sid: str = "ana",
    *,
    timezone: str = "America/New_York",
    email: str | None = "",
    phone: str | None = None,
    **fields: Any,
) -> Subscriber:
    """`email=""` gives <sid>@example.com; None gives no email at all."""
    return Subscriber(
        subscriber_id=sid,
        email=f"{sid}@example.com" if email == "" else email,
        phone=phone,
        timezone=timezone,
        status=SubscriberStatus.ACTIVE,
        created_at=CREATED,
        confirmed_at=CREATED,
        **{"email_confirmed": True, "phone_confirmed": True, **fields},
    )


def make_search(
    sub: str,
    search_id: str,
    query: str,
    *,
    channel: Channel = Channel.EMAIL,
    frequency: Frequency = Frequency.DAILY,
    order: int = 0,
) -> SavedSearch:
    return SavedSearch(
        subscriber_id=sub,
        search_id=search_id,
        query=query,
        channel=channel,
        frequency=frequency,
        updated_at=CREATED.isoformat(timespec="microseconds"),
        created_at=CREATED + timedelta(minutes=order),
    )


def make_post(
    pid: str,
    text: str,
    *,
    author: str = "acme",
    at: datetime = CREATED,
    links: list[str] | None = None,
) -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        author_name=author.title(),
        text=text,
        url=f"https://x.com/{author}/status/{pid}",
        links=links or [],
        created_at=at,
    )


def seed(subscriber: Subscriber, *searches: SavedSearch) -> None:
    stores.subscribers().create(subscriber)
    for search in searches:
        stores.searches().put(search)


def queue_match(
    subscriber: Subscriber, search: SavedSearch, post: Post, matched_at: datetime
) -> datetime:
    """What the match function does for one hit; returns the window it lands in."""
    due = next_due(search.frequency, subscriber, matched_at)
    stores.matches().add(
        subscriber.subscriber_id, search.channel, post, search.search_id, due, matched_at
    )
    return due


def run_digest(now: datetime) -> dict[str, Any]:
    result: dict[str, Any] = invoke("digest", scheduled_event("digest", now))
    return result


def run_deliver(stack: LocalStack) -> int:
    # One session for every drain: a fresh one per call reloads botocore's service models.
    return drain_queue(
        stack.refs["DeliveryQueue"],
        stack.attrs[("DeliveryQueue", "Arn")],
        lambda event: invoke("deliver", event),
        session=_session(),
    )


@cache
def _session() -> boto3.Session:
    """Made inside the first test, once moto has hooked botocore."""
    return boto3.Session(region_name="us-east-1")


class Outbox:
    """What SES and SNS accepted since this outbox was opened."""

    def __init__(self) -> None:
        self.emails_before = len(sent_emails())
        self.sms_before = len(sent_sms())

    @property
    def emails(self) -> list[SentEmail]:
        return sent_emails()[self.emails_before :]

    @property
    def texts(self) -> list[SentSms]:
        return sent_sms()[self.sms_before :]
