"""Repositories on moto: TTL that DynamoDB applies lazily, races, and unprocessed batch keys."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from jobalerts.errors import NotFound, Throttled
from jobalerts.ingest import Ingest
from jobalerts.models import Channel, DeliveryRequest, SearchStatus
from jobalerts.store import SubscribersRepository, keys
from jobalerts.store._dynamo import BATCH_GET_ROUNDS
from jobalerts.store.matches import STAMP_CONCURRENCY, MatchesRepository
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.support import stores
from tests.support.digests import make_post, make_search, make_subscriber

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LINK = "https://jobs.example/openings/4711"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# ---------------------------------------------------------------- TTL: expired but still there


def test_an_expired_record_reads_as_absent(stack: LocalStack) -> None:
    # Given a record whose expiration has passed but which DynamoDB has not deleted yet
    inbound = stores.inbound()
    inbound.remember("m1", "stop", epoch(T0))
    # Then it is absent after its expiration and present before
    assert not inbound.seen("m1", T0 + timedelta(seconds=1))
    assert inbound.seen("m1", T0 - timedelta(seconds=1))
    # And a record without an expiration never expires
    state = stores.state()
    state.put_pause("x", "later")
    assert state.get_pause("x", T0 + timedelta(days=3650)) is not None


def test_a_near_duplicate_marker_replaces_an_expired_one_and_keeps_a_live_one(
    stack: LocalStack,
) -> None:
    state = stores.state()
    assert state.first_post("k", "x#1", T0, T0) is None
    later = T0 + timedelta(seconds=1)
    # A live marker wins
    live = state.first_post("k", "x#2", later, T0)
    assert live is not None
    assert live["original"] == "x#1"
    # An expired one is replaced
    assert state.first_post("k", "x#3", later + timedelta(days=7), later) is None
    assert (state.first_post("k", "x#4", later + timedelta(days=7), later) or {})[
        "original"
    ] == "x#3"


def test_a_repost_after_the_first_posts_marker_expired_is_stored(stack: LocalStack) -> None:
    # Given a job stored a while ago (its near-duplicate marker is past its TTL, not yet deleted)
    with httpx.Client() as client:
        ingest = Ingest(get_settings(), stores.posts(), stores.state(), stores.sources(), client)
        first = make_post("1", "hiring", at=T0, links=[LINK])
        assert ingest.store_post(first, T0) == "stored"
        # When the same job is posted again after the posts' TTL
        later = T0 + timedelta(days=get_settings().post_ttl_days, seconds=1)
        again = make_post("2", "hiring again", at=later, links=[LINK])
        # Then it is a new post, stored and matched, not a near-duplicate of an expired one
        assert ingest.store_post(again, later) == "stored"
        # And within the TTL a repost is still a near-duplicate
        soon = make_post("3", "still hiring", author="jane", at=later, links=[LINK])
        assert ingest.store_post(soon, later) == "near_duplicate"


def test_an_expired_delivery_window_reads_as_absent_and_can_be_claimed(stack: LocalStack) -> None:
    log = stores.deliveries()
    request = DeliveryRequest(subscriber_id="ana", channel=Channel.EMAIL, due_at=T0)
    log.claim(request, digest_id="d", attempt_id="a1", post_ids=(), fingerprints=(), now=T0)
    log.mark_sent(request, attempt_id="a1", provider_message_id="m", now=T0)
    expired = T0 + timedelta(days=31)
    assert log.get(request, T0 + timedelta(days=29)) is not None
    assert log.get(request, expired) is None
    log.claim(request, digest_id="d", attempt_id="a2", post_ids=(), fingerprints=(), now=expired)
    record = log.get(request, expired)
    assert record is not None
    assert (record.status, record.attempt_id) == ("sending", "a2")


def test_an_expired_digest_page_is_gone(stack: LocalStack) -> None:
    archive = stores.archive()
    archive.put("ana", "dg1", "<p>page</p>", T0, short_link=True)
    assert archive.get("ana", "dg1", T0) == "<p>page</p>"
    assert archive.get_by_id("dg1", T0) == "<p>page</p>"
    gone = T0 + timedelta(days=31)
    assert archive.get("ana", "dg1", gone) is None
    assert archive.get_by_id("dg1", gone) is None


def test_only_a_text_digest_gets_the_pointer_its_short_link_needs(stack: LocalStack) -> None:
    # Given an email digest and a text digest archived
    archive = stores.archive()
    archive.put("ana", "email1", "<p>email</p>", T0, short_link=False)
    archive.put("ana", "text1", "<p>text</p>", T0, short_link=True)
    # Then both show through the link that names the subscriber
    assert archive.get("ana", "email1", T0) == "<p>email</p>"
    assert archive.get("ana", "text1", T0) == "<p>text</p>"
    # And only the text's short link finds its page: the email's has no pointer to write
    assert archive.get_by_id("text1", T0) == "<p>text</p>"
    assert archive.table.get_item(Key=keys.digest_link("email1")).get("Item") is None


def test_a_page_is_stored_compressed_and_one_stored_as_text_before_is_still_read(
    stack: LocalStack,
) -> None:
    # Given a page archived now and one archived as text before pages were compressed
    archive = stores.archive()
    page = "<li>Python developer, remote</li>\n" * 400
    archive.put("ana", "dg1", page, T0, short_link=False)
    old = {**keys.archived_digest("ana", "dg0"), "html": "<p>old</p>", "expiration": 2**40}
    archive.table.put_item(Item=old)
    # Then the new one is stored as compressed bytes (a write unit per KB stored), not as text
    item = archive.table.get_item(Key=keys.archived_digest("ana", "dg1"))["Item"]
    assert "html" not in item
    assert len(bytes(item["page"].value)) < len(page.encode()) / 20
    # And both read back as they were written
    assert archive.get("ana", "dg1", T0) == page
    assert archive.get("ana", "dg0", T0) == "<p>old</p>"


def test_a_deleted_search_is_a_tombstone_that_expires_seven_days_after_the_delete(
    stack: LocalStack,
) -> None:
    # Given a saved search
    searches = stores.searches()
    searches.put(make_search("ana", "s1", "python"))
    # When it is deleted at T0
    searches.delete("ana", "s1", now=T0)
    # Then it stays as a deleted tombstone whose TTL is a week after T0, not after the wall clock
    item = searches.table.get_item(Key={"subscriber_id": "ana", "search_id": "s1"})["Item"]
    assert item["status"] == SearchStatus.DELETED.value
    assert int(item["expires_at"]) == int((T0 + timedelta(days=7)).timestamp())
    # And it is gone for readers, and a second delete (or one of a search never saved) finds none
    with pytest.raises(NotFound):
        searches.get("ana", "s1")
    with pytest.raises(NotFound):
        searches.delete("ana", "s1", now=T0)
    with pytest.raises(NotFound):
        searches.delete("ana", "s9", now=T0)


# ---------------------------------------------------------------- races


def test_set_live_does_not_bring_back_a_search_deleted_meanwhile(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a search listed by set_live, and deleted before set_live writes
    searches = stores.searches()
    search = make_search("ana", "s1", "python")
    searches.put(search)
    listed = [s.model_copy(update={"live": False}) for s in searches.list_for("ana")]
    searches.delete("ana", "s1", now=T0)
    deleted_at = searches.list_for("ana", include_deleted=True)[0].updated_at
    monkeypatch.setattr(searches, "list_for", lambda *_a, **_k: listed)
    # When the subscriber's searches are switched live
    searches.set_live("ana", True)
    # Then the search stays deleted, its tombstone untouched (match workers are not sent to
    # re-read it)
    with pytest.raises(NotFound):
        searches.get("ana", "s1")
    [tombstone] = stores.searches().list_for("ana", include_deleted=True)
    assert tombstone.status is SearchStatus.DELETED
    assert tombstone.updated_at == deleted_at


def test_set_live_does_not_make_up_a_search_whose_item_is_gone(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a search listed by set_live whose item is gone before set_live writes (TTL)
    searches = stores.searches()
    searches.put(make_search("ana", "s1", "python").model_copy(update={"live": False}))
    listed = searches.list_for("ana")
    searches.table.delete_item(Key={"subscriber_id": "ana", "search_id": "s1"})
    monkeypatch.setattr(searches, "list_for", lambda *_a, **_k: listed)
    # When the subscriber's searches are switched live
    searches.set_live("ana", True)
    # Then no item is written for it
    assert "Item" not in searches.table.get_item(Key={"subscriber_id": "ana", "search_id": "s1"})


def test_an_edit_does_not_bring_back_a_search_deleted_since_it_was_read(
    stack: LocalStack,
) -> None:
    # Given a search read for an edit, then deleted before the edit is written
    searches = stores.searches()
    searches.put(make_search("ana", "s1", "python"))
    edited = searches.get("ana", "s1").model_copy(update={"query": "golang"})
    searches.delete("ana", "s1", now=T0)
    # When the edit is written, Then it is NotFound and the tombstone stays as it was
    with pytest.raises(NotFound):
        searches.replace(edited)
    [tombstone] = searches.list_for("ana", include_deleted=True)
    assert tombstone.status is SearchStatus.DELETED
    assert tombstone.query == "python"
    # And an edit of a search that was never saved writes nothing either
    with pytest.raises(NotFound):
        searches.replace(edited.model_copy(update={"search_id": "s9"}))
    assert "Item" not in searches.table.get_item(Key={"subscriber_id": "ana", "search_id": "s9"})


def test_set_live_switches_live_searches(stack: LocalStack) -> None:
    searches = stores.searches()
    searches.put(make_search("ana", "s1", "python").model_copy(update={"live": False}))
    before = searches.get("ana", "s1").updated_at
    searches.set_live("ana", True)
    after = searches.get("ana", "s1")
    assert after.live is True
    assert after.updated_at > before
    searches.set_live("ana", False)
    assert searches.get("ana", "s1").live is False


# ---------------------------------------------------------------- unprocessed keys


def leave_unprocessed(client: Any, rounds: int) -> list[int]:
    """Make DynamoDB answer the next `rounds` BatchGetItem calls with every key unprocessed."""
    calls: list[int] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        requested = json.loads(params["body"])["RequestItems"]  # as sent: typed values

        def after(parsed: dict[str, Any], **_: Any) -> None:
            if len(calls) <= rounds:
                parsed["Responses"] = {}
                parsed["UnprocessedKeys"] = requested

        client.meta.events.unregister("after-call.dynamodb.BatchGetItem", unique_id="unproc")
        client.meta.events.register_first(
            "after-call.dynamodb.BatchGetItem", after, unique_id="unproc"
        )
        calls.append(1)

    client.meta.events.register("before-call.dynamodb.BatchGetItem", hook)
    return calls


def test_unprocessed_keys_are_asked_again_after_a_growing_pause(stack: LocalStack) -> None:
    # Given two subscribers, and DynamoDB leaving every key unprocessed twice
    sleeps: list[float] = []
    subscribers = SubscribersRepository(stores.subscribers().table, sleep=sleeps.append)
    for sid in ("ana", "bob"):
        subscribers.create(make_subscriber(sid))
    calls = leave_unprocessed(subscribers.table.meta.client, rounds=2)
    # When both are read in one batch
    found = subscribers.get_many({"ana", "bob"})
    # Then both come back after two pauses, the second longer than the first
    assert sorted(found) == ["ana", "bob"]
    assert len(calls) == 3
    assert len(sleeps) == 2
    assert 0 < sleeps[0] < sleeps[1] <= 1.0


def test_keys_left_unprocessed_round_after_round_end_in_throttled(stack: LocalStack) -> None:
    sleeps: list[float] = []
    matches = MatchesRepository(
        stores.matches().table, ttl_days=stores.settings().match_ttl_days, sleep=sleeps.append
    )
    calls = leave_unprocessed(matches.table.meta.client, rounds=BATCH_GET_ROUNDS + 5)
    with pytest.raises(Throttled):
        matches.already_sent("ana", Channel.EMAIL, ["x#1"], ["t1"])
    assert len(calls) == BATCH_GET_ROUNDS
    assert max(sleeps) <= 1.0
    assert sum(sleeps) < 5


def test_due_markers_are_stamped_one_plain_write_each_and_a_gone_one_stays_gone(
    stack: LocalStack,
) -> None:
    # Given two due markers, one of which a delivery completed (deleted) meanwhile
    matches = stores.matches()
    due = datetime(2027, 6, 1, 12, tzinfo=UTC)
    matches.mark_due("ana", Channel.EMAIL, due)
    matches.mark_due("ben", Channel.EMAIL, due)
    matches.clear_markers("ben", Channel.EMAIL, due)
    seen: list[str] = []
    matches.table.meta.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: seen.append(model.name)
    )
    # When the digest run stamps both as queued
    markers = [("ana", Channel.EMAIL, due), ("ben", Channel.EMAIL, due)]
    matches.mark_enqueued_many(markers, due)
    # Then each took one conditional update, no transaction (it costs two units an item)
    assert seen == ["UpdateItem", "UpdateItem"]
    # And the live one is no longer due while the completed one did not come back
    assert list(matches.due(due + timedelta(hours=1))) == []
    later = due + timedelta(hours=1, minutes=1)
    assert list(matches.due(later)) == [("ana", Channel.EMAIL, due)]


def due_markers(count: int) -> tuple[MatchesRepository, datetime, list[str]]:
    """`count` email markers due at one window, for subscribers p0, p1, ..."""
    matches = stores.matches()
    due = datetime(2027, 6, 1, 12, tzinfo=UTC)
    people = [f"p{n}" for n in range(count)]
    for person in people:
        matches.mark_due(person, Channel.EMAIL, due)
    return matches, due, people


def test_due_markers_are_stamped_several_at_a_time(stack: LocalStack) -> None:
    # Given twenty due markers and a table that takes a while to answer each write
    matches, due, people = due_markers(20)
    lock = threading.Lock()
    in_flight, most = [0], [0]

    def started(**_: Any) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)  # the round trip, during which the next stamps should go out

    def answered(**_: Any) -> None:
        with lock:
            in_flight[0] -= 1

    events = matches.table.meta.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", started)
    events.register("after-call.dynamodb.UpdateItem", answered)
    # When the digest run stamps them
    matches.mark_enqueued_many([(p, Channel.EMAIL, due) for p in people], due)
    # Then up to STAMP_CONCURRENCY were in flight at once, and every one was stamped
    assert most[0] == STAMP_CONCURRENCY
    assert list(matches.due(due + timedelta(minutes=59))) == []


def test_a_stamp_that_fails_is_raised_after_every_other_was_tried(stack: LocalStack) -> None:
    # Given five due markers, and DynamoDB throttling the stamp of the third
    matches, due, people = due_markers(5)

    def throttle_p2(params: dict[str, Any], **_: Any) -> None:
        body = params["body"]
        if b'"p2"' in (body if isinstance(body, bytes) else body.encode()):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"
            )

    matches.table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", throttle_p2)
    # When the digest run stamps them
    with pytest.raises(Throttled):
        matches.mark_enqueued_many([(p, Channel.EMAIL, due) for p in people], due)
    # Then the others were stamped, and only the throttled one is handed out again next minute
    assert list(matches.due(due + timedelta(minutes=1))) == [("p2", Channel.EMAIL, due)]
