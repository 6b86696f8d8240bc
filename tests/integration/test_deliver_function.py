"""The deliver function: one digest per subscriber, channel and window, sent exactly once."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.awsrequest import AWSResponse

from jobalerts import wiring
from jobalerts.delivery.deliver import DeliveryInFlight, DigestDelivery, Outcome
from jobalerts.delivery.email import EmailSender
from jobalerts.delivery.sms import SmsSender
from jobalerts.digests.sms import measure
from jobalerts.errors import InvalidInput, Throttled, Unavailable
from jobalerts.models import Channel, DeliveryRequest, Frequency, SavedSearch, Subscriber
from jobalerts.retry import Backoff
from jobalerts.settings import DeliverSettings
from jobalerts.store.deliveries import LEASE, DeliveryLog
from jobalerts_local.runtime import invoke, sqs_event
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

FAR = datetime(2100, 1, 1, tzinfo=UTC)
# Windows far in the future: the deliver function judges quiet hours and the SMS cap at
# max(now, window), so the tests must not depend on when they run.
FUTURE = 2099
DAY = datetime(FUTURE, 6, 1, tzinfo=UTC)


def pending(sid: str, channel: Channel = Channel.EMAIL) -> list[str]:
    return [m.post.id for m in stores.matches().pending(sid, channel, FAR)]


def receive_all(stack: LocalStack) -> dict[str, Any]:
    """One SQS batch as Lambda would hand it to the function (messages stay on the queue)."""
    sqs = boto3.client("sqs")
    page = sqs.receive_message(
        QueueUrl=stack.refs["DeliveryQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )
    return sqs_event(stack.attrs[("DeliveryQueue", "Arn")], [dict(m) for m in page["Messages"]])


def fail_calls(client: Any, operation: str, code: str, times: int) -> list[int]:
    """Make the next `times` calls of `operation` answer with AWS error `code` (then succeed)."""
    seen: list[int] = []

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if len(seen) >= times:
            return None
        seen.append(1)
        error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {}}
        return AWSResponse("https://aws.local", 400, {}, None), error

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", hook)
    return seen


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def built(clock: Clock, **replaced: Any) -> DigestDelivery:
    """The use case as the deliver function builds it, with some of its stores replaced."""
    settings = DeliverSettings.load()
    return DigestDelivery(
        stores=replace(wiring.deliver_stores(settings), **replaced),
        senders=wiring.digest_senders(settings),
        links=wiring.links_provider(settings),
        settings=settings,
        clock=clock,
    )


def use_case(
    clock: Clock,
    *,
    log: DeliveryLog | None = None,
    ses: Any = None,
    sns: Any = None,
    sleeps: list[float] | None = None,
) -> DigestDelivery:
    """Given the given clients (moto's own unless a test instruments one) and no real sleeps."""
    settings = DeliverSettings.load()
    delivery_stores = wiring.deliver_stores(settings)
    senders = wiring.digest_senders(settings)
    if ses is not None:
        email = EmailSender(settings.sender_email, settings.ses_configuration_set, client=ses)
        senders = replace(senders, email=email)
    if sns is not None:
        senders = replace(senders, sms=SmsSender(sns))
    return DigestDelivery(
        stores=replace(delivery_stores, log=log) if log is not None else delivery_stores,
        senders=senders,
        links=wiring.links_provider(settings),
        settings=settings,
        clock=clock,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        backoff=Backoff(attempts=4, base_seconds=0.01),
    )


def email_setup(sid: str = "ana") -> tuple[Subscriber, SavedSearch, DeliveryRequest]:
    sub = make_subscriber(sid)
    search = make_search(sid, "s1", "python", frequency=Frequency.INSTANT)
    seed(sub, search)
    window = queue_match(sub, search, make_post("1", "Python developer, remote, apply now"), DAY)
    return sub, search, DeliveryRequest(subscriber_id=sid, channel=Channel.EMAIL, due_at=window)


# ---------------------------------------------------------------- exactly once


def test_the_same_sqs_message_delivered_twice_sends_one_digest(stack: LocalStack) -> None:
    # Given one due digest on the queue
    email_setup()
    run_digest(DAY + timedelta(minutes=5))
    event = receive_all(stack)
    outbox = Outbox()
    # When SQS hands the very same message to the function twice
    first = invoke("deliver", event)
    second = invoke("deliver", event)
    # Then one email went out, both invocations succeed, and nothing is left pending
    assert len(outbox.emails) == 1
    assert first == second == {"batchItemFailures": []}
    assert pending("ana") == []


def test_a_window_held_by_a_live_attempt_is_reported_as_a_failed_item(
    clock: datetime, stack: LocalStack
) -> None:
    _, _, request = email_setup()
    run_digest(DAY + timedelta(minutes=5))
    stores.deliveries().claim(
        request,
        digest_id="d",
        attempt_id="other",
        post_ids=("x#1",),
        fingerprints=(),
        now=clock,
    )
    # When the deliver function (reading the clock itself) gets the window within the lease
    event = receive_all(stack)
    outbox = Outbox()
    response = invoke("deliver", event)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        event["Records"][0]["messageId"]
    ]
    assert outbox.emails == []
    assert pending("ana") == ["x#1"]


class CrashingLog(DeliveryLog):
    """The process dies after SES accepted the mail and before the window is marked sent."""

    crashes = 1

    def mark_sent(self, *args: Any, **kwargs: Any) -> None:
        if self.crashes:
            self.crashes -= 1
            raise SystemExit("crash injected between send and mark")
        super().mark_sent(*args, **kwargs)


def crash_after_send(clock: Clock, request: DeliveryRequest) -> None:
    """An attempt dies right after SES accepted its digest, before it marked the window sent."""
    with pytest.raises(SystemExit):
        use_case(clock, log=CrashingLog(stores.state_table())).deliver(request)


def test_a_crash_after_send_resends_once_the_lease_runs_out_at_least_once(
    stack: LocalStack,
) -> None:
    _, _, request = email_setup()
    clock = Clock(DAY + timedelta(minutes=5))
    outbox = Outbox()
    # Given an attempt that crashed right after SES accepted the digest
    crash_after_send(clock, request)
    assert len(outbox.emails) == 1
    # Then the post is still pending: it only leaves once a send is recorded
    assert pending("ana") == ["x#1"]
    # And a retry while the lease is live waits instead of sending
    with pytest.raises(DeliveryInFlight):
        use_case(clock).deliver(request)
    # When the lease has run out and no evidence of acceptance arrived
    clock.now += LEASE + timedelta(seconds=1)
    assert use_case(clock).deliver(request) is Outcome.SENT
    # Then the digest is sent again (the documented at-least-once choice), then never more
    assert len(outbox.emails) == 2
    # And the repeat is the same message to mail clients (same Message-ID), dated when it went
    first, again = (sent.message for sent in outbox.emails)
    assert first["Message-ID"] == again["Message-ID"]
    assert parsedate_to_datetime(str(first["Date"])) == DAY + timedelta(minutes=5)
    assert parsedate_to_datetime(str(again["Date"])) == clock.now
    assert use_case(clock).deliver(request) is Outcome.ALREADY_SENT
    assert len(outbox.emails) == 2
    assert pending("ana") == []


def test_a_resent_crashed_attempt_is_the_same_digest_and_a_post_that_came_meanwhile_waits(
    stack: LocalStack,
) -> None:
    sub, search, request = email_setup()
    clock = Clock(DAY + timedelta(minutes=5))
    outbox = Outbox()
    # Given an attempt that crashed right after SES accepted its digest of x#1
    crash_after_send(clock, request)
    # And a second post for the same window, matched after that attempt
    later = queue_match(sub, search, make_post("2", "Python engineer, Berlin, apply now"), DAY)
    assert later == request.due_at
    assert pending("ana") == ["x#1", "x#2"]
    # When the retry comes after the lease, with no evidence of acceptance
    clock.now += LEASE + timedelta(seconds=1)
    assert use_case(clock).deliver(request) is Outcome.SENT
    # Then it resends the crashed attempt's digest as it was (x#1 only, same Message-ID)
    first, again = (sent.message for sent in outbox.emails)
    assert first["Message-ID"] == again["Message-ID"]
    # And the post that came meanwhile waits for a digest of its own
    assert pending("ana") == ["x#2"]


def test_a_crash_after_send_is_recovered_without_resending_when_ses_reported_it(
    stack: LocalStack,
) -> None:
    _, _, request = email_setup()
    clock = Clock(DAY + timedelta(minutes=5))
    outbox = Outbox()
    crash_after_send(clock, request)
    # Given SES's "Send" event for that message, recorded by the feedback function
    assert stores.deliveries().record_accepted("ana", Channel.EMAIL, request.due_at)
    clock.now += LEASE + timedelta(seconds=1)
    # When the retry comes
    assert use_case(clock).deliver(request) is Outcome.RECOVERED
    # Then nothing is resent and the post left the pending list
    assert len(outbox.emails) == 1
    assert pending("ana") == []


def test_a_refused_send_keeps_the_posts_pending_and_frees_the_window(stack: LocalStack) -> None:
    _, _, request = email_setup()
    ses = boto3.client("sesv2")
    fail_calls(ses, "SendEmail", "MessageRejected", times=1)
    clock = Clock(DAY + timedelta(minutes=5))
    with pytest.raises(InvalidInput):
        use_case(clock, ses=ses).deliver(request)
    assert pending("ana") == ["x#1"]
    outbox = Outbox()
    assert use_case(clock, ses=ses).deliver(request) is Outcome.SENT
    assert len(outbox.emails) == 1


# ---------------------------------------------------------------- throttling


def test_ses_throttling_is_retried_with_backoff_and_sends_once(stack: LocalStack) -> None:
    _, _, request = email_setup()
    ses = boto3.client("sesv2")
    injected = fail_calls(ses, "SendEmail", "TooManyRequestsException", times=2)
    sleeps: list[float] = []
    outbox = Outbox()
    outcome = use_case(Clock(DAY), ses=ses, sleeps=sleeps).deliver(request)
    assert outcome is Outcome.SENT
    assert len(injected) == 2
    assert len(sleeps) == 2
    assert len(outbox.emails) == 1


def test_throttling_that_outlasts_the_invocation_gives_the_message_back(
    stack: LocalStack,
) -> None:
    _, _, request = email_setup()
    ses = boto3.client("sesv2")
    fail_calls(ses, "SendEmail", "TooManyRequestsException", times=1)
    outbox = Outbox()
    # Given enough time to start, but only 3 seconds left once SES says "slow down"
    left = iter([16.0, 3.0, 3.0, 3.0])
    with pytest.raises(Throttled):
        use_case(Clock(DAY), ses=ses).deliver(request, time_left=lambda: next(left))
    assert outbox.emails == []
    # When SQS retries later, the window is free and the digest goes out once
    assert use_case(Clock(DAY), ses=ses).deliver(request) is Outcome.SENT
    assert len(outbox.emails) == 1


def test_sns_throttling_is_retried_without_sending_the_text_twice(stack: LocalStack) -> None:
    sub = make_subscriber("sam", phone="+14155550142", email=None)
    search = make_search("sam", "s1", "nurse", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed(sub, search)
    noon = datetime(FUTURE, 6, 1, 16, tzinfo=UTC)  # 12:00 in New York
    window = queue_match(sub, search, make_post("1", "Night nurse wanted in Queens"), noon)
    sns = boto3.client("sns")
    injected = fail_calls(sns, "Publish", "Throttled", times=2)
    outbox = Outbox()
    request = DeliveryRequest(subscriber_id="sam", channel=Channel.SMS, due_at=window)
    assert use_case(Clock(noon), sns=sns).deliver(request) is Outcome.SENT
    assert len(injected) == 2
    assert len(outbox.texts) == 1


# ---------------------------------------------------------------- content decisions


def test_a_post_matched_by_two_searches_is_sent_once_with_also_matches(stack: LocalStack) -> None:
    sub = make_subscriber("ben")
    first = make_search("ben", "s1", "python", frequency=Frequency.INSTANT)
    second = make_search("ben", "s2", "remote", frequency=Frequency.INSTANT, order=1)
    seed(sub, first, second)
    post = make_post("7", "Python developer, fully remote, Berlin hours")
    queue_match(sub, first, post, DAY)
    queue_match(sub, second, post, DAY)
    outbox = Outbox()
    run_digest(DAY + timedelta(minutes=5))
    run_deliver(stack)
    [sent] = outbox.emails
    text = sent.part("plain")
    assert text.count("Python developer, fully remote") == 1
    assert "Also matches: remote" in text
    assert sent.subject == "1 new job: python"


def sent_log(sid: str) -> list[str]:
    table = stores.matches().table
    items = table.query(KeyConditionExpression=Key("subscriber_id").eq(sid), ConsistentRead=True)[
        "Items"
    ]
    return sorted(str(i["sk"]).split("#", 2)[0] for i in items if str(i["sk"])[:2] in ("s#", "f#"))


@pytest.mark.parametrize(
    "text",
    ["Python dev wanted", "Acme hires a Python developer for its Berlin data team today"],
    ids=["too-short-for-a-text-key", "text-key"],
)
def test_a_delivered_post_is_logged_once_and_never_sent_again(stack: LocalStack, text: str) -> None:
    # Given a post that went out in an instant digest
    sub = make_subscriber("ben")
    search = make_search("ben", "s1", "python", frequency=Frequency.INSTANT)
    seed(sub, search)
    post = make_post("9", text)
    queue_match(sub, search, post, DAY)
    outbox = Outbox()
    run_digest(DAY + timedelta(minutes=5))
    run_deliver(stack)
    assert len(outbox.emails) == 1
    # Then the sent log holds one entry for it, however long its text
    assert sent_log("ben") == ["f"]
    # When a retried match brings the same post back later
    queue_match(sub, search, post, DAY + timedelta(hours=1))
    run_digest(DAY + timedelta(hours=1, minutes=5))
    run_deliver(stack)
    # Then it is not sent again and leaves the pending list
    assert len(outbox.emails) == 1
    assert pending("ben") == []


def test_near_duplicate_posts_are_collapsed_into_one(stack: LocalStack) -> None:
    sub = make_subscriber("ben")
    search = make_search("ben", "s1", "python", frequency=Frequency.INSTANT)
    seed(sub, search)
    link = ["https://jobs.acme.example/openings/4711?utm_source=x"]
    queue_match(sub, search, make_post("1", "Acme hires a Python dev", links=link), DAY)
    queue_match(
        sub,
        search,
        make_post("2", "RT: python role at Acme!", author="recruiter", links=link),
        DAY,
    )
    outbox = Outbox()
    run_digest(DAY + timedelta(minutes=5))
    run_deliver(stack)
    [sent] = outbox.emails
    assert sent.subject == "1 new job: python"
    assert "Also posted by @recruiter" in sent.part("plain")
    assert pending("ben") == []


def test_the_email_carries_one_click_unsubscribe_and_a_text_part(stack: LocalStack) -> None:
    email_setup()
    outbox = Outbox()
    run_digest(DAY + timedelta(minutes=5))
    run_deliver(stack)
    [sent] = outbox.emails
    message = sent.message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = (part.strip() for part in message["List-Unsubscribe"].split(","))
    assert https.startswith("<http://jobalerts.test/unsubscribe?t=")
    assert mailto.startswith("<mailto:unsubscribe@")
    assert "Unsubscribe: http://jobalerts.test/unsubscribe?t=" in sent.part("plain")
    assert "/manage?t=" in sent.part("html")


# ---------------------------------------------------------------- text messages


def sms_setup(
    sid: str = "sam", *, email: str | None = None, **fields: Any
) -> tuple[Subscriber, SavedSearch]:
    sub = make_subscriber(sid, phone="+14155550142", email=email, **fields)
    search = make_search(sid, "s1", "nurse", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed(sub, search)
    return sub, search


def test_a_text_uses_the_fewest_segments_links_to_the_archived_digest_and_offers_stop(
    stack: LocalStack,
) -> None:
    sub, search = sms_setup()
    noon = datetime(FUTURE, 6, 1, 16, tzinfo=UTC)
    queue_match(sub, search, make_post("1", "Night nurse wanted in Queens, apply"), noon)
    outbox = Outbox()
    run_digest(noon + timedelta(minutes=5))
    run_deliver(stack)
    [sms] = outbox.texts
    assert sms.text.endswith("Reply STOP to opt out")
    # Then it fits one GSM-7 segment, short link included
    assert measure(sms.text).segments == 1
    assert "nurse" in sms.text
    [link] = [w for w in sms.text.split() if "/d/" in w]
    assert link.startswith("http://jobalerts.test/d/")
    # And the short link leads to the archived page
    digest_id = link.split("/d/")[1].split(".")[0]
    page = stores.archive().get_by_id(digest_id)
    assert page is not None
    assert "Night <mark>nurse</mark> wanted in Queens" in page


def test_texts_wait_for_the_end_of_quiet_hours_and_are_not_dropped(stack: LocalStack) -> None:
    sub, search = sms_setup()
    late = datetime(FUTURE, 6, 2, 2, 30, tzinfo=UTC)  # 22:30 in New York
    queue_match(sub, search, make_post("1", "Night nurse wanted in Queens"), late)
    outbox = Outbox()
    run_digest(late + timedelta(minutes=5))
    run_deliver(stack)
    # Then nothing is sent at night and the post still waits
    assert outbox.texts == []
    assert pending("sam", Channel.SMS) == ["x#1"]
    # When the digest runs at 07:55 local, still quiet; at 08:00 local the text goes out
    run_digest(datetime(FUTURE, 6, 2, 11, 55, tzinfo=UTC))
    run_deliver(stack)
    assert outbox.texts == []
    run_digest(datetime(FUTURE, 6, 2, 12, 0, tzinfo=UTC))
    run_deliver(stack)
    assert len(outbox.texts) == 1
    assert pending("sam", Channel.SMS) == []


def test_texts_over_the_daily_cap_roll_into_the_email_digest(stack: LocalStack) -> None:
    sub, search = sms_setup(email="sam@example.com")
    outbox = Outbox()
    # Given four instant texts across one daytime in New York (cap: three a day)
    for hour in range(4):
        at = datetime(FUTURE, 6, 1, 14 + hour, tzinfo=UTC)
        queue_match(sub, search, make_post(str(hour), f"Nurse job number {hour} in Queens"), at)
        run_digest(at + timedelta(minutes=5))
        run_deliver(stack)
    # Then three texts went out and the fourth post waits for the next daily email instead
    assert len(outbox.texts) == 3
    assert pending("sam", Channel.SMS) == []
    assert pending("sam", Channel.EMAIL) == ["x#3"]
    run_digest(datetime(FUTURE, 6, 2, 12, 5, tzinfo=UTC))  # 08:05 in New York
    run_deliver(stack)
    [sent] = outbox.emails
    assert "Nurse job number 3" in sent.part("plain")


def test_without_email_texts_over_the_cap_wait_for_the_next_day(stack: LocalStack) -> None:
    sub, search = sms_setup(sms_daily_cap=1)
    outbox = Outbox()
    for hour in range(2):
        at = datetime(FUTURE, 6, 1, 14 + hour, tzinfo=UTC)
        queue_match(sub, search, make_post(str(hour), f"Nurse job number {hour} in Queens"), at)
        run_digest(at + timedelta(minutes=5))
        run_deliver(stack)
    assert len(outbox.texts) == 1
    assert pending("sam", Channel.SMS) == ["x#1"]
    run_digest(datetime(FUTURE, 6, 2, 12, 0, tzinfo=UTC))
    run_deliver(stack)
    assert len(outbox.texts) == 2


def test_nothing_is_sent_on_a_channel_that_was_never_confirmed(stack: LocalStack) -> None:
    # Given an active subscriber whose phone never confirmed (a legacy record, or a race)
    sub, search = sms_setup(phone_confirmed=False)
    noon = datetime(FUTURE, 6, 1, 16, tzinfo=UTC)
    queue_match(sub, search, make_post("1", "Nurse wanted"), noon)
    outbox = Outbox()

    # When the digest is due and delivered
    run_digest(noon + timedelta(minutes=5))
    run_deliver(stack)

    # Then no text went out
    assert outbox.texts == []


def test_an_opted_out_number_is_skipped_and_its_channel_switched_off(stack: LocalStack) -> None:
    sub = make_subscriber("olga", phone="+14155550199", email=None)  # moto: "...99" opted out
    search = make_search("olga", "s1", "nurse", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed(sub, search)
    noon = datetime(FUTURE, 6, 1, 16, tzinfo=UTC)
    queue_match(sub, search, make_post("1", "Nurse wanted"), noon)
    outbox = Outbox()
    run_digest(noon + timedelta(minutes=5))
    run_deliver(stack)
    assert outbox.texts == []
    assert stores.subscribers().get("olga").sms_enabled is False
    assert pending("olga", Channel.SMS) == []


# ---------------------------------------------------------------- the sample event


def test_the_sample_sqs_batch_runs_through_the_handler(clock: datetime, stack: LocalStack) -> None:
    # Given the subscriber the sample names, whose quiet hours (the 8-hour minimum, local night)
    # do not cover the deliver function's clock (10:00 UTC, 11:00 in Berlin), and a post due
    sub = make_subscriber(
        "sample-ana",
        timezone="Europe/Berlin",
        phone="+14155550123",
        sms_quiet_start=22,
        sms_quiet_end=7,
    )
    by_mail = make_search("sample-ana", "s1", "python", frequency=Frequency.INSTANT)
    by_text = make_search(
        "sample-ana", "s2", "python", channel=Channel.SMS, frequency=Frequency.INSTANT
    )
    seed(sub, by_mail, by_text)
    window = datetime(2026, 6, 1, 12, tzinfo=UTC)
    post = make_post("1", "Python developer wanted")
    queue_match(sub, by_mail, post, window)
    queue_match(sub, by_text, post, window)
    outbox = Outbox()
    response = invoke("deliver", load_event("deliver-sqs-batch.json"))
    assert response == {"batchItemFailures": []}
    assert len(outbox.emails) == 1
    assert len(outbox.texts) == 1


def test_a_malformed_message_is_reported_failed_and_the_rest_of_the_batch_goes(
    stack: LocalStack,
) -> None:
    email_setup()
    event = load_event("deliver-sqs-batch.json")
    broken = dict(event["Records"][0], messageId="broken", body="{not json")
    good = dict(
        event["Records"][0],
        body=DeliveryRequest(
            subscriber_id="ana", channel=Channel.EMAIL, due_at=DAY
        ).model_dump_json(),
    )
    outbox = Outbox()
    response = invoke("deliver", {"Records": [broken, good]})
    assert response == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert len(outbox.emails) == 1


def test_a_retried_mark_sent_counts_a_text_once(stack: LocalStack) -> None:
    # Given a text whose "sent" mark went through but whose response was lost
    request = DeliveryRequest(subscriber_id="sam", channel=Channel.SMS, due_at=DAY)
    log = stores.deliveries()
    now = DAY - timedelta(minutes=1)
    log.claim(request, digest_id="d", attempt_id="a1", post_ids=("x#1",), fingerprints=(), now=now)
    log.mark_sent(request, attempt_id="a1", provider_message_id="m", now=now, sms_day=DAY.date())
    # When the same attempt marks it again (a retry after a timeout)
    log.mark_sent(request, attempt_id="a1", provider_message_id="m", now=now, sms_day=DAY.date())
    # Then the day's counter still says one
    assert log.sms_sent_on("sam", DAY.date()) == 1


# ---------------------------------------------------------------- infrastructure errors


def test_a_missing_subscribers_table_is_an_outage_and_keeps_the_pending_posts(
    stack: LocalStack,
) -> None:
    # Given a due email digest, and a subscribers table DynamoDB says does not exist
    _, _, request = email_setup()
    subscribers = stores.subscribers()
    fail_calls(subscribers.table.meta.client, "GetItem", "ResourceNotFoundException", 10)
    outbox = Outbox()
    delivery = built(Clock(DAY), subscribers=subscribers)
    # When the digest is delivered
    with pytest.raises(Unavailable):
        delivery.deliver(request)
    # Then the function fails (so SQS retries), nothing is sent and nothing is discarded
    assert outbox.emails == []
    assert pending("ana") == ["x#1"]


def test_a_read_timeout_after_sending_is_one_attempt_an_ambiguous_send_and_keeps_the_claim(
    stack: LocalStack,
) -> None:
    # Given a due email digest, and an SES connection that times out after the request went out
    from botocore.exceptions import ReadTimeoutError

    from jobalerts.observability import metrics

    _, _, request = email_setup()
    delivery = built(Clock(DAY))
    sends: list[int] = []

    def time_out(**_: Any) -> None:
        sends.append(1)
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    delivery.email.client.meta.events.register("before-send.sesv2.SendEmail", time_out)
    metrics.clear_metrics()
    # When the digest is delivered
    with pytest.raises(ReadTimeoutError):
        delivery.deliver(request)
    # Then SES was asked once (no hidden SDK retries), the send is counted as ambiguous,
    # the claim stays for the evidence or the lease, and the posts stay pending
    assert sends == [1]
    assert "AmbiguousSend" in metrics.metric_set
    record = stores.deliveries().get(request, DAY)
    assert record is not None
    assert record.status == "sending"
    assert pending("ana") == ["x#1"]
    metrics.clear_metrics()


def test_a_send_that_never_connected_releases_the_claim(stack: LocalStack) -> None:
    from botocore.exceptions import EndpointConnectionError

    _, _, request = email_setup()
    delivery = built(Clock(DAY))

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    delivery.email.client.meta.events.register("before-send.sesv2.SendEmail", refuse)
    with pytest.raises(EndpointConnectionError):
        delivery.deliver(request)
    assert stores.deliveries().get(request, DAY) is None
    assert pending("ana") == ["x#1"]


@pytest.mark.parametrize("write", ["PutItem", "UpdateItem"])  # the lock, then the window
def test_a_claim_retried_after_it_went_through_is_still_this_attempts(
    stack: LocalStack, write: str
) -> None:
    # Given a due email digest, and a DynamoDB answer lost after one write of the claim went
    # through, so the SDK's retry of it fails its condition on the attempt's own item
    from botocore.exceptions import ReadTimeoutError

    _, _, request = email_setup()
    outbox = Outbox()
    delivery = built(Clock(DAY))
    lost: list[int] = []

    def lose_the_first_answer(request: Any, event_name: str, **_: Any) -> None:
        if not lost:
            from moto.core.models import botocore_stubber

            lost.append(1)
            botocore_stubber(event_name=event_name, request=request)  # the claim is written
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    events = delivery.log.table.meta.client.meta.events
    events.register(f"before-send.dynamodb.{write}", lose_the_first_answer)
    # When the digest is delivered
    outcome = delivery.deliver(request)
    # Then the attempt knows the claim by its id and sends now, once, instead of waiting out
    # its own lease and the queue's visibility timeout
    assert lost == [1]
    assert outcome is Outcome.SENT
    assert len(outbox.emails) == 1
    record = stores.deliveries().get(request, DAY)
    assert record is not None
    assert record.status == "sent"


# ---------------------------------------------------------------- edges the mutation run found


@pytest.mark.parametrize(("left", "sent"), [(15.0, True), (14.99, False)])
def test_an_attempt_starts_only_with_fifteen_seconds_left(
    stack: LocalStack, left: float, sent: bool
) -> None:
    # Given a due digest and this much time left in the invocation
    _, _, request = email_setup()
    outbox = Outbox()
    delivery = use_case(Clock(DAY))
    # When the deliver function is asked to send it
    if sent:
        assert delivery.deliver(request, time_left=lambda: left) is Outcome.SENT
    else:
        with pytest.raises(DeliveryInFlight):
            delivery.deliver(request, time_left=lambda: left)
    # Then it sends only with at least 15 seconds to spare (SQS retries otherwise)
    assert len(outbox.emails) == int(sent)


def test_a_claim_lost_to_another_attempt_sends_nothing(stack: LocalStack) -> None:
    # Given a window another attempt claims between our read and our claim
    _, _, request = email_setup()
    log = stores.deliveries()
    original_claim = log.claim

    def raced(request: DeliveryRequest, **kwargs: Any) -> None:
        original_claim(request, **{**kwargs, "attempt_id": "someone-else"})
        original_claim(request, **kwargs)

    log.claim = raced  # type: ignore[method-assign]
    outbox = Outbox()
    # When this attempt tries to claim it
    with pytest.raises(DeliveryInFlight):
        use_case(Clock(DAY), log=log).deliver(request)
    # Then it backs off and sends nothing: the other attempt owns the window
    assert outbox.emails == []


def test_a_paused_subscriber_gets_nothing_and_the_posts_are_not_saved_up(
    stack: LocalStack,
) -> None:
    # Given an active subscriber who paused with a post pending
    _, _, request = email_setup()
    stores.subscribers().update("ana", paused=True)
    outbox = Outbox()
    # When the digest falls due
    assert use_case(Clock(DAY)).deliver(request) is Outcome.SKIPPED
    # Then nothing is sent and the post is dropped
    assert outbox.emails == []
    assert pending("ana") == []


def test_a_suppressed_address_gets_no_email_but_the_number_still_gets_texts(
    stack: LocalStack,
) -> None:
    # Given a subscriber whose address is on the suppression list, with a search per channel
    sub = make_subscriber("ana", phone="+14155550142")
    by_mail = make_search("ana", "s1", "python", frequency=Frequency.INSTANT)
    by_text = make_search("ana", "s2", "nurse", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed(sub, by_mail, by_text)
    noon = datetime(FUTURE, 6, 1, 16, tzinfo=UTC)  # 12:00 in New York
    mailed = queue_match(sub, by_mail, make_post("1", "Python developer, remote"), noon)
    texted = queue_match(sub, by_text, make_post("2", "Night nurse wanted in Queens"), noon)
    stores.suppressions().add("ana@example.com", "bounce", noon)
    outbox = Outbox()
    delivery = use_case(Clock(noon))
    # When both digests fall due
    email = DeliveryRequest(subscriber_id="ana", channel=Channel.EMAIL, due_at=mailed)
    text = DeliveryRequest(subscriber_id="ana", channel=Channel.SMS, due_at=texted)
    assert delivery.deliver(email) is Outcome.SKIPPED
    assert delivery.deliver(text) is Outcome.SENT
    # Then no email went out and its post was dropped; the text went out
    assert outbox.emails == []
    assert len(outbox.texts) == 1
    assert pending("ana") == []


def test_a_post_whose_search_was_deleted_is_dropped_not_sent(stack: LocalStack) -> None:
    # Given two pending posts, one matched by a search deleted since
    sub = make_subscriber("ana")
    kept = make_search("ana", "s1", "python", frequency=Frequency.INSTANT)
    gone = make_search("ana", "s2", "golang", frequency=Frequency.INSTANT, order=1)
    seed(sub, kept, gone)
    window = queue_match(sub, kept, make_post("1", "Python developer, remote"), DAY)
    queue_match(sub, gone, make_post("2", "Golang engineer, Berlin"), DAY)
    stores.searches().delete("ana", "s2", now=DAY)
    outbox = Outbox()
    # When the digest goes out
    request = DeliveryRequest(subscriber_id="ana", channel=Channel.EMAIL, due_at=window)
    assert use_case(Clock(DAY)).deliver(request) is Outcome.SENT
    # Then it carries only the post of the search that is still there, and the other is gone
    [sent] = outbox.emails
    assert "Python developer" in sent.part("plain")
    assert "Golang" not in sent.part("plain")
    assert pending("ana") == []


def test_a_post_matched_for_a_window_after_it_went_out_gets_the_next_second(
    stack: LocalStack,
) -> None:
    # Given a window delivered at its very second
    sub, search, request = email_setup()
    assert use_case(Clock(DAY)).deliver(request) is Outcome.SENT
    # When a late match lands in that window and the message comes again
    queue_match(sub, search, make_post("2", "Python lead, remote, apply now"), DAY)
    assert use_case(Clock(DAY)).deliver(request) is Outcome.ALREADY_SENT
    # Then the post waits for a window of its own, one second after the sent one
    assert list(stores.matches().due(FAR)) == [("ana", Channel.EMAIL, DAY + timedelta(seconds=1))]
    [late] = stores.matches().pending("ana", Channel.EMAIL, FAR)
    assert late.post.id == "x#2"


def test_a_stale_claim_is_released_when_nothing_is_left_to_send(stack: LocalStack) -> None:
    # Given a crashed attempt's claim, its lease run out, and its post gone meanwhile
    _, _, request = email_setup()
    log = stores.deliveries()
    log.claim(
        request, digest_id="d", attempt_id="crashed", post_ids=("x#1",), fingerprints=(), now=DAY
    )
    stores.matches().forget("ana", Channel.EMAIL, ["x#1"])
    later = DAY + LEASE + timedelta(seconds=1)
    # When the message comes back and nothing is due
    assert use_case(Clock(later)).deliver(request) is Outcome.NOTHING_DUE
    # Then the stale claim is given back
    assert log.get(request, later) is None


def test_an_email_has_a_stable_message_id_on_the_senders_domain(stack: LocalStack) -> None:
    # Given a digest that goes out
    _, _, request = email_setup()
    outbox = Outbox()
    use_case(Clock(DAY)).deliver(request)
    [sent] = outbox.emails
    # Then its Message-ID names the digest and a 12-hex-digit hash of its posts, on our domain
    domain = DeliverSettings.load().sender_email.rpartition("@")[2]
    message_id = str(sent.message["Message-ID"])
    assert re.fullmatch(rf"<digest\.[\w-]+\.[0-9a-f]{{12}}@{re.escape(domain)}>", message_id)


def test_a_sent_digest_is_counted_under_its_channel(stack: LocalStack) -> None:
    # Given no metrics recorded yet
    from jobalerts.observability import metrics

    metrics.clear_metrics()
    _, _, request = email_setup()
    # When an email digest goes out
    use_case(Clock(DAY)).deliver(request)
    # Then it is counted as an email, not a text
    assert "EmailDigestsSent" in metrics.metric_set
    assert "SmsDigestsSent" not in metrics.metric_set
    metrics.clear_metrics()


def test_a_long_digest_archives_its_page_in_a_few_write_units(stack: LocalStack) -> None:
    # Given a daily digest of 40 posts
    sub = make_subscriber("ana")
    search = make_search("ana", "s1", "python", frequency=Frequency.DAILY)
    seed(sub, search)
    for n in range(40):
        text = f"Python developer number {n}, remote, apply at https://jobs.example/{n}"
        window = queue_match(sub, search, make_post(str(n), text), DAY)
    # When it is delivered
    request = DeliveryRequest(subscriber_id="ana", channel=Channel.EMAIL, due_at=window)
    assert use_case(Clock(DAY)).deliver(request) is Outcome.SENT
    # Then the archived page, tens of KB of HTML, is stored in a few KB (a write unit per KB)
    [item] = [
        i
        for i in stores.archive().table.scan()["Items"]
        if str(i.get("pk", "")).startswith("digest#")
    ]
    digest_id = str(item["sk"])
    page = stores.archive().get("ana", digest_id, DAY)
    assert page is not None
    assert page.count("jobs.example/") >= 40
    stored = len(bytes(item["page"].value))
    # (measured: 29 KB of HTML, 2.1 KB stored: 29 write units became 3)
    assert len(page.encode()) > 25_000
    assert stored < 4_000
    # And an email, whose link names the subscriber, writes no pointer for a short link
    assert stores.archive().get_by_id(digest_id, DAY) is None
