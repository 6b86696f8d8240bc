"""The digest function: who is due, by the due-index only, across daylight-saving changes.

The DST tests play a clock forward one hour at a time: posts keep arriving (through the same
repository call the match function makes), and every tick runs the real digest handler with a
scheduled event for that hour and drains the queue into the real deliver handler. New York
springs forward on 2027-03-14 (02:00 -> 03:00) and falls back on 2027-11-07 (02:00 -> 01:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from jobalerts.models import Channel, Frequency, Subscriber
from jobalerts_local.runtime import invoke
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

NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def simulate(
    stack: LocalStack,
    sub: Subscriber,
    frequency: Frequency,
    start: datetime,
    end: datetime,
    post_every: timedelta,
    *,
    busy_hours: set[int] | None = None,
    busy_weekday: int | None = None,
    quiet_every: timedelta = HOUR,
) -> list[datetime]:
    """Step hourly from start to end; returns the run time of every email sent.

    The digest runs every hour whose local time is in `busy_hours` (all of them when None) and
    every `quiet_every` otherwise: enough to see a digest sent late, twice or not at all, at a
    fraction of the invocations.
    """
    search = make_search(sub.subscriber_id, "s1", "python", frequency=frequency)
    seed(sub, search)
    sent: list[datetime] = []
    tick, number = start - HOUR, 0
    while tick < end:
        tick += HOUR
        posting = (tick - start) % post_every == timedelta(0)
        wall = tick.astimezone(NEW_YORK)
        busy = (busy_hours is None or wall.hour in busy_hours) and (
            busy_weekday is None or wall.weekday() == busy_weekday
        )
        if not (posting or busy or (tick - start) % quiet_every == timedelta(0)):
            continue
        if posting:
            text = f"Python developer opening number {number} at company {number}"
            queue_match(sub, search, make_post(str(number), text, at=tick), tick)
            number += 1
        outbox = Outbox()
        run_digest(tick)
        run_deliver(stack)
        sent += [tick] * len(outbox.emails)
    return sent


def local(moments: list[datetime]) -> list[str]:
    return [m.astimezone(NEW_YORK).strftime("%m-%d %H:%M %Z") for m in moments]


def test_daily_across_spring_forward_sends_one_digest_per_local_day(stack: LocalStack) -> None:
    # Given a daily digest at 02:00, an hour that does not exist on 2027-03-14 in New York
    sub = make_subscriber("ana", digest_hour=2)
    # When the clock runs from 12 March to 16 March with a post every six hours
    sent = simulate(
        stack,
        sub,
        Frequency.DAILY,
        utc(2027, 3, 12, 8),
        utc(2027, 3, 16, 8),
        6 * HOUR,
        busy_hours={0, 1, 2, 3, 4},
        quiet_every=3 * HOUR,
    )
    # Then every local day gets exactly one digest; on the short day it comes at 03:00 EDT,
    # the instant 02:00 EST would have been
    assert local(sent) == [
        "03-13 02:00 EST",
        "03-14 03:00 EDT",
        "03-15 02:00 EDT",
        "03-16 02:00 EDT",
    ]


def test_daily_across_fall_back_sends_once_on_the_repeated_hour(stack: LocalStack) -> None:
    # Given a daily digest at 01:00, an hour that happens twice on 2027-11-07 in New York
    sub = make_subscriber("ana", digest_hour=1)
    sent = simulate(
        stack,
        sub,
        Frequency.DAILY,
        utc(2027, 11, 5, 8),
        utc(2027, 11, 9, 8),
        6 * HOUR,
        busy_hours={0, 1, 2, 3},
        quiet_every=3 * HOUR,
    )
    # Then the digest goes at the first 01:00 only, and the days around it are untouched
    assert local(sent) == [
        "11-06 01:00 EDT",
        "11-07 01:00 EDT",
        "11-08 01:00 EST",
        "11-09 01:00 EST",
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2027, 3, 14, 4), utc(2027, 3, 14, 10)), (utc(2027, 11, 7, 3), utc(2027, 11, 7, 9))],
    ids=["spring-forward", "fall-back"],
)
def test_hourly_sends_one_digest_every_real_hour(
    stack: LocalStack, start: datetime, end: datetime
) -> None:
    sub = make_subscriber("ana")
    sent = simulate(stack, sub, Frequency.HOURLY, start, end, HOUR)
    # A post at each tick is due at the next local top of the hour: one digest per real hour,
    # whether the wall clock skipped 02:00 or showed 01:00 twice
    hours = int((end - start) / HOUR)
    assert sent == [start + HOUR * (i + 1) for i in range(hours)]


@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2027, 3, 14, 4), utc(2027, 3, 14, 10)), (utc(2027, 11, 7, 3), utc(2027, 11, 7, 9))],
    ids=["spring-forward", "fall-back"],
)
def test_instant_sends_each_post_at_the_next_run(
    stack: LocalStack, start: datetime, end: datetime
) -> None:
    sub = make_subscriber("ana")
    sent = simulate(stack, sub, Frequency.INSTANT, start, end, HOUR)
    assert sent == [start + HOUR * i for i in range(int((end - start) / HOUR) + 1)]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (
            utc(2027, 3, 6, 12),
            utc(2027, 3, 22, 12),
            ["03-07 02:00 EST", "03-14 03:00 EDT", "03-21 02:00 EDT"],
        ),
        (
            utc(2027, 10, 30, 12),
            utc(2027, 11, 15, 12),
            ["10-31 01:00 EDT", "11-07 01:00 EDT", "11-14 01:00 EST"],
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_weekly_sends_one_digest_a_week_across_the_change(
    stack: LocalStack, start: datetime, end: datetime, expected: list[str]
) -> None:
    # Given a weekly digest on Sundays (the day clocks change) at the awkward hour
    hour = 2 if start.month == 3 else 1
    sub = make_subscriber("ana", digest_weekday=6, digest_hour=hour)
    sent = simulate(
        stack,
        sub,
        Frequency.WEEKLY,
        start,
        end,
        12 * HOUR,
        busy_hours={0, 1, 2, 3, 4},
        busy_weekday=6,
        quiet_every=12 * HOUR,
    )
    assert local(sent) == expected


# ---------------------------------------------------------------- fan-out


@pytest.fixture
def dynamodb_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB call made by clients created from now on: (operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    session = boto3._get_default_session()._session
    session.register("before-parameter-build.dynamodb", record, unique_id="digest-test-calls")
    yield calls
    session.unregister("before-parameter-build.dynamodb", unique_id="digest-test-calls")


def test_the_digest_run_only_queries_the_due_index_and_queues_one_message_each(
    stack: LocalStack, dynamodb_calls: list[tuple[str, dict[str, Any]]]
) -> None:
    # Given three subscribers with due email posts, one of them also with a due text
    now = utc(2027, 6, 1, 12)
    for sid in ("ana", "ben", "cy"):
        sub = make_subscriber(sid, phone="+14155550100")
        mail = make_search(sid, "s1", "python", frequency=Frequency.INSTANT)
        seed(sub, mail)
        for n in range(3):
            queue_match(sub, mail, make_post(f"{sid}{n}", f"python job {n}"), now - HOUR * n)
    text = make_search("ana", "s2", "python", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed_text = make_subscriber("ana", phone="+14155550100")
    queue_match(seed_text, text, make_post("t", "python job by text"), now)
    dynamodb_calls.clear()
    # When the digest function runs
    result = invoke(
        "digest", {**load_event("digest-scheduled-event.json"), "time": now.isoformat()}
    )
    # Then it read nothing but the due-index (and the sparse index of ended pauses: none here),
    # and queued one message per subscriber and channel
    reads = [(op, p) for op, p in dynamodb_calls if op not in {"UpdateItem", "TransactWriteItems"}]
    assert {op for op, _ in reads} == {"Query"}
    assert {p.get("IndexName") for _, p in reads} == {"due-index", "resume-index"}
    assert sum(p.get("IndexName") == "resume-index" for _, p in reads) == 1
    assert result["enqueued"] == 4
    sqs = boto3.client("sqs")
    bodies = []
    while page := sqs.receive_message(
        QueueUrl=stack.refs["DeliveryQueue"], MaxNumberOfMessages=10
    ).get("Messages"):
        bodies += [m["Body"] for m in page]
    assert len(bodies) == 4
    # And a run five minutes later queues nothing again while those are in flight
    assert run_digest(now + timedelta(minutes=5))["enqueued"] == 0


def test_a_run_near_its_deadline_stops_and_leaves_the_rest_due(stack: LocalStack) -> None:
    from jobalerts.digests.enqueue import DeliveryQueue, enqueue_due
    from jobalerts_local.settings import get_settings

    now = utc(2027, 6, 1, 12)
    for sid in ("ana", "ben"):
        sub = make_subscriber(sid)
        search = make_search(sid, "s1", "python", frequency=Frequency.INSTANT)
        seed(sub, search)
        queue_match(sub, search, make_post(sid, "python job"), now)
    queue = DeliveryQueue(get_settings().delivery_queue_url, boto3.client("sqs"))
    result = enqueue_due(now, matches=stores.matches(), queue=queue, time_left=lambda: 5.0)
    assert result.stopped_early
    assert result.enqueued == 0
    # The next run, with time to spare, finds both still due
    assert run_digest(now + timedelta(minutes=5))["enqueued"] == 2


def test_the_sample_scheduled_event_runs_through_the_handler(stack: LocalStack) -> None:
    # Given a post due at the sample event's time (2026-06-01 12:00 UTC)
    sub = make_subscriber("ana")
    search = make_search("ana", "s1", "python", frequency=Frequency.INSTANT)
    seed(sub, search)
    queue_match(sub, search, make_post("1", "python job"), utc(2026, 6, 1, 11, 58))
    result = invoke("digest", load_event("digest-scheduled-event.json"))
    assert result == {
        "markers": 1,
        "enqueued": 1,
        "refused": 0,
        "stopped_early": False,
        "resumed": 0,
    }
