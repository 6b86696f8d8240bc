"""The match function: new posts on the stream become pending matches, once per subscriber."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from boto3.dynamodb.conditions import Key

from jobalerts.models import (
    Channel,
    Frequency,
    Post,
    SavedSearch,
    Subscriber,
    SubscriberStatus,
)
from jobalerts.store._dynamo import now_iso
from jobalerts_local.runtime import StreamPump, invoke, load_handler, stream_batches
from jobalerts_local.template import LocalStack
from tests.conftest import FIXED_NOW
from tests.support import stores

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def subscriber(sid: str, status: SubscriberStatus = SubscriberStatus.ACTIVE) -> Subscriber:
    return Subscriber(
        subscriber_id=sid,
        email=f"{sid}@example.com",
        phone="+14155550100",
        timezone="Europe/Berlin",
        status=status,
        email_confirmed=True,
        phone_confirmed=True,
        created_at=FIXED_NOW,
    )


def search(
    sub: str,
    sid: str,
    query: str,
    channel: Channel = Channel.EMAIL,
    freq: Frequency = Frequency.DAILY,
) -> SavedSearch:
    return SavedSearch(
        subscriber_id=sub,
        search_id=sid,
        query=query,
        channel=channel,
        frequency=freq,
        updated_at=now_iso(),
        created_at=FIXED_NOW,
    )


def post(pid: str, text: str, author: str = "acme") -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        text=text,
        url=f"https://x.com/{author}/status/{pid}",
        created_at=FIXED_NOW,
    )


class Pipeline:
    """Posts go into the table; the stream feeds the real match handler, as Lambda would."""

    def __init__(self, stack: LocalStack) -> None:
        self.pump = StreamPump(stack.attrs[("PostsTable", "StreamArn")])
        self.posts = stores.posts()

    def publish(self, *posts: Post) -> list[Any]:
        for item in posts:
            self.posts.put_new(item)
        return [invoke("match", batch) for batch in stream_batches(self.pump.poll(), 100)]


@pytest.fixture
def pipeline(clock: datetime, stack: LocalStack) -> Pipeline:
    """The match worker reads the clock for due times: it stands at FIXED_NOW."""
    return Pipeline(stack)


def pending_post_ids(sub: str, channel: Channel = Channel.EMAIL) -> list[str]:
    return [m.post.id for m in stores.matches().pending(sub, channel, FAR_FUTURE)]


def test_a_matching_post_is_queued_for_the_subscriber(pipeline: Pipeline) -> None:
    # Given an active subscriber with a saved search
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python remote -senior"))
    # When posts arrive, one matching and two not
    responses = pipeline.publish(
        post("1", "Hiring a Python developer, fully remote #hiring"),
        post("2", "Senior Python engineer, remote"),
        post("3", "Golang developer in Berlin"),
    )
    # Then only the matching post waits for her, and the batch reports no failures
    assert pending_post_ids("ana") == ["x#1"]
    assert all(r["batchItemFailures"] == [] for r in responses)


def test_a_match_writes_only_what_its_delivery_needs(pipeline: Pipeline) -> None:
    # Given a subscriber with a daily search
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python"))
    # When a post matches it
    pipeline.publish(post("1", "Python developer, remote"))
    # Then her partition holds the pending post and its window's marker, nothing else (the
    # feed is computed from the recent posts' window; a feed entry here cost a write a match)
    items = stores.matches().table.query(
        KeyConditionExpression=Key("subscriber_id").eq("ana"), ConsistentRead=True
    )["Items"]
    assert sorted(str(i["sk"])[:2] for i in items) == ["d#", "m#"]


def test_a_post_matched_by_two_searches_is_queued_once_with_both(pipeline: Pipeline) -> None:
    stores.subscribers().create(subscriber("ben"))
    stores.searches().put(search("ben", "s1", "python"))
    stores.searches().put(search("ben", "s2", "remote"))
    pipeline.publish(post("7", "Python developer, remote"))
    [match] = stores.matches().pending("ben", Channel.EMAIL, FAR_FUTURE)
    assert match.search_ids == ["s1", "s2"]


def test_the_due_time_follows_the_frequency_in_the_subscribers_timezone(pipeline: Pipeline) -> None:
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python", freq=Frequency.DAILY))
    pipeline.publish(post("1", "python job"))
    [match] = stores.matches().pending("ana", Channel.EMAIL, FAR_FUTURE)
    # Daily at 08:00 in Berlin: matched on Monday 11:00 Berlin time, due on Tuesday at 08:00
    local = match.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (8, 0)
    assert match.due_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_a_search_that_stops_being_live_leaves_the_warm_index(pipeline: Pipeline) -> None:
    # Given a search matched once by a warm worker
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python"))
    pipeline.publish(post("1", "python job"))
    assert pending_post_ids("ana") == ["x#1"]

    # When it stops being live (its subscriber left) and a new post arrives
    gone = search("ana", "s1", "python").model_copy(update={"live": False})
    stores.searches().put(gone)
    pipeline.publish(post("2", "another python job"))

    # Then the worker no longer matches it
    assert pending_post_ids("ana") == ["x#1"]


def test_pending_and_unsubscribed_people_get_nothing(pipeline: Pipeline) -> None:
    stores.subscribers().create(subscriber("pending", SubscriberStatus.PENDING))
    stores.subscribers().create(subscriber("gone", SubscriberStatus.UNSUBSCRIBED))
    stores.searches().put(search("pending", "s1", "python"))
    stores.searches().put(search("gone", "s2", "python"))
    pipeline.publish(post("1", "python job"))
    assert pending_post_ids("pending") == []
    assert pending_post_ids("gone") == []


def test_an_sms_search_queues_on_the_sms_channel(pipeline: Pipeline) -> None:
    stores.subscribers().create(subscriber("chloe"))
    stores.searches().put(search("chloe", "s1", "#nursing", Channel.SMS, Frequency.INSTANT))
    pipeline.publish(post("1", "ICU nurse wanted #Nursing"))
    assert pending_post_ids("chloe", Channel.SMS) == ["x#1"]
    assert pending_post_ids("chloe", Channel.EMAIL) == []


def test_a_warm_worker_sees_searches_added_and_deleted_since_its_last_run(
    pipeline: Pipeline,
) -> None:
    # Given a warm worker that has already loaded its index
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python"))
    pipeline.publish(post("1", "python job"))
    # When a search is added and the first one deleted
    stores.searches().put(search("ana", "s2", "golang"))
    stores.searches().delete("ana", "s1", now=FIXED_NOW)
    pipeline.publish(post("2", "golang job"), post("3", "python job"))
    # Then the new search matches and the deleted one no longer does
    assert sorted(pending_post_ids("ana")) == ["x#1", "x#2"]


def test_a_stored_query_that_no_longer_parses_does_not_stop_matching(pipeline: Pipeline) -> None:
    stores.subscribers().create(subscriber("ana"))
    stores.subscribers().create(subscriber("ben"))
    stores.searches().put(search("ana", "bad", 'python "unclosed'))
    stores.searches().put(search("ben", "good", "python"))
    responses = pipeline.publish(post("1", "python job"))
    assert pending_post_ids("ben") == ["x#1"]
    assert all(r["batchItemFailures"] == [] for r in responses)


def test_a_replayed_stream_batch_queues_nothing_twice(
    stack: LocalStack, pipeline: Pipeline
) -> None:
    # Given a batch that was processed once
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python"))
    stores.posts().put_new(post("1", "python job"))
    batches = stream_batches(pipeline.pump.poll(), 100)
    for batch in batches:
        invoke("match", batch)
    # When Lambda retries the same batch
    for batch in batches:
        invoke("match", batch)
    # Then the post is still queued once
    assert pending_post_ids("ana") == ["x#1"]


def test_the_sample_stream_event_is_matched(stack: LocalStack) -> None:
    # Given a subscriber whose search the sample post satisfies
    from tests.support.events import load_event

    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python remote"))
    # When the match function receives the recorded stream payload
    response = invoke("match", load_event("match-dynamodb-stream.json"))
    # Then the post waits for her
    assert response["batchItemFailures"] == []
    assert pending_post_ids("ana") == ["x#1861234567890123456"]


def test_a_stream_batch_of_100_posts_reads_the_subscribers_once(pipeline: Pipeline) -> None:
    # Given three subscribers each with a python search, and 100 new python posts on the stream
    for sid in ("ana", "ben", "cai"):
        stores.subscribers().create(subscriber(sid))
        stores.searches().put(search(sid, f"s-{sid}", "python"))
    for number in range(100):
        pipeline.posts.put_new(post(str(number), f"Python developer number {number}"))
    [batch] = stream_batches(pipeline.pump.poll(), 100)
    assert len(batch["Records"]) == 100
    # And every call the warm match function makes to the subscribers table counted
    load_handler("match")
    service = sys.modules["jobalerts_function_match"].SERVICE
    calls: list[str] = []
    service.subscribers.table.meta.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )

    # When the match function receives the batch
    response = invoke("match", batch)

    # Then the whole batch was matched with one BatchGetItem, not one read per record
    assert response["batchItemFailures"] == []
    assert calls == ["BatchGetItem"]
    assert len(pending_post_ids("ana")) == len(pending_post_ids("cai")) == 100


def test_a_record_that_does_not_parse_fails_alone(pipeline: Pipeline) -> None:
    # Given a subscriber with a search, and a batch where one record lacks its stream details
    stores.subscribers().create(subscriber("ana"))
    stores.searches().put(search("ana", "s1", "python"))
    pipeline.posts.put_new(post("1", "Python developer"))
    pipeline.posts.put_new(post("2", "Python engineer"))
    [batch] = stream_batches(pipeline.pump.poll(), 100)
    broken = batch["Records"][0]["dynamodb"]["SequenceNumber"]
    del batch["Records"][0]["dynamodb"]["StreamViewType"]

    # When the match function receives it
    response = invoke("match", batch)

    # Then only that record is reported failed, and the other post is queued
    assert response["batchItemFailures"] == [{"itemIdentifier": broken}]
    assert len(pending_post_ids("ana")) == 1
