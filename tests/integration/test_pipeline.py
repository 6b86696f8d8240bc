"""The whole pipeline through the real handlers on moto: subscribe, ingest, match, digest, deliver.

Every step goes through a function's handler with the payload its trigger would send (HTTP API
request, scheduled event, DynamoDB stream batch, SQS batch), against resources created from
template.yaml and a local server replaying recorded X responses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from jobalerts_local.demo import demo_subscriptions, subscribe_everyone
from jobalerts_local.outbox import SentEmail, sent_emails, sent_sms
from jobalerts_local.service import LocalService, local_service

BASE_URL = "http://jobalerts.test"


@pytest.fixture
def service() -> Iterator[LocalService]:
    with local_service(BASE_URL) as running:
        yield running


def digests(emails: list[SentEmail]) -> list[SentEmail]:
    return [sent for sent in emails if "/confirm?" not in sent.part("plain")]


def test_a_confirmed_subscriber_gets_matching_posts_once_by_email_and_sms(
    clock: datetime, service: LocalService
) -> None:
    # Given the demo's subscribers, signed up and confirmed through the subscriptions API
    now = clock
    confirmed = subscribe_everyone(service, demo_subscriptions(now))
    assert confirmed == 4
    before_emails, before_sms = len(sent_emails()), len(sent_sms())

    # When posts are fetched, matched, and every digest window has come due
    service.ingest()
    assert service.match() > 0
    due = (now + timedelta(days=8)).replace(hour=12, minute=0, second=0, microsecond=0)
    service.digest(due)
    service.deliver()

    # Then each email digest carries one-click unsubscribe headers and a text message went out
    emails = digests(sent_emails()[before_emails:])
    texts = sent_sms()[before_sms:]
    assert emails, "no digest email was sent"
    assert texts, "no text message was sent"
    for sent in emails:
        message = sent.message
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert (
            "<https://" in message["List-Unsubscribe"] or "<http://" in message["List-Unsubscribe"]
        )
        assert "mailto:" in message["List-Unsubscribe"]
        assert sent.part("html")
        assert sent.part("plain")
    assert all("STOP" in sms.text for sms in texts)

    # When the same posts come round again and every schedule fires once more
    service.ingest()
    service.match()
    service.digest(due + timedelta(days=8))
    service.deliver()

    # Then nobody receives anything twice
    assert digests(sent_emails()[before_emails:]) == emails
    assert sent_sms()[before_sms:] == texts


def test_an_unconfirmed_subscriber_receives_nothing_but_the_confirmation(
    clock: datetime, service: LocalService
) -> None:
    # Given a sign-up whose confirmation link is never clicked
    response = service.api(
        "POST",
        "/subscriptions",
        body={
            "email": "lurker@example.com",
            "timezone": "UTC",
            "query": "python",
            "channel": "email",
            "frequency": "instant",
        },
    )
    assert response["statusCode"] == 202
    confirmations = len(sent_emails())

    # When the whole pipeline runs
    service.run_pipeline(clock + timedelta(days=8))

    # Then no digest is sent to them
    assert len(sent_emails()) == confirmations


def test_the_local_schedules_are_the_ones_declared_in_the_template(service: LocalService) -> None:
    # Given the schedules read from template.yaml
    schedules = {s.function: s.every for s in service.schedules()}

    # Then ingest polls every five minutes and digest runs every minute
    assert schedules["ingest"] == timedelta(minutes=5)
    assert schedules["digest"] == timedelta(minutes=1)

    # When the clock starts, every scheduled function fires once, then waits for its period
    plan = service.schedules()
    assert sorted(service.tick(plan, clock=1_000.0)) == sorted(schedules)
    assert service.tick(plan, clock=1_059.0) == []
    assert service.tick(plan, clock=1_060.0) == ["digest"]
    assert sorted(service.tick(plan, clock=1_000.0 + 300)) == ["digest", "ingest"]
