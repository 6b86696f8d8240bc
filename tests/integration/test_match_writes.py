"""What queuing a match writes: the sooner schedule wins, a first match pays no extra write, and
a warm worker marks a future window once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from jobalerts.matching import MARKER_MEMO_MARGIN, LiveIndex, MarkedWindows, MatchService
from jobalerts.models import Channel, Frequency, Post
from jobalerts.store import MatchesRepository
from jobalerts_local.template import LocalStack
from tests.conftest import FIXED_NOW
from tests.support import stores
from tests.support.digests import make_post, make_search, make_subscriber, seed

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
INSTANT_DUE = FIXED_NOW
DAILY_DUE = FIXED_NOW + timedelta(hours=21)


def a_post(pid: str = "1") -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle="acme",
        text="Python developer, remote",
        url=f"https://x.com/acme/status/{pid}",
        created_at=FIXED_NOW,
    )


def counted_updates(repository: MatchesRepository) -> Counter[str]:
    """Every UpdateItem the repository's client sends, conditional ones apart."""
    seen: Counter[str] = Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        # before-call sees the request as it will be sent: DynamoDB's is a JSON body.
        sent = json.loads(params["body"])
        seen["conditional" if "ConditionExpression" in sent else "plain"] += 1

    repository.table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", count)
    return seen


def queue(repository: MatchesRepository, search_id: str, due_at: datetime) -> None:
    repository.add("ana", Channel.EMAIL, a_post(), search_id, due_at, matched_at=FIXED_NOW)


def test_a_first_match_writes_the_pending_item_and_its_marker_only(stack: LocalStack) -> None:
    # Given a subscriber with nothing pending
    repository = stores.matches()
    updates = counted_updates(repository)
    # When a post matches one of her searches
    queue(repository, "s-daily", DAILY_DUE)
    # Then two writes: the pending item and the due marker, no conditional pull-forward
    assert updates == Counter(plain=2)
    [match] = repository.pending("ana", Channel.EMAIL, FAR_FUTURE)
    assert match.due_at == DAILY_DUE


def test_a_sooner_search_pulls_the_post_forward(stack: LocalStack) -> None:
    # Given a post pending for her daily digest
    repository = stores.matches()
    queue(repository, "s-daily", DAILY_DUE)
    updates = counted_updates(repository)
    # When her instant search matches the same post
    queue(repository, "s-instant", INSTANT_DUE)
    # Then it is due with the instant digest, once, carrying both searches
    assert updates["conditional"] == 1
    [match] = repository.pending("ana", Channel.EMAIL, FAR_FUTURE)
    assert match.due_at == INSTANT_DUE
    assert sorted(match.search_ids) == ["s-daily", "s-instant"]


def test_a_later_search_does_not_push_the_post_back(stack: LocalStack) -> None:
    # Given a post pending for her instant digest
    repository = stores.matches()
    queue(repository, "s-instant", INSTANT_DUE)
    updates = counted_updates(repository)
    # When her daily search matches it too
    queue(repository, "s-daily", DAILY_DUE)
    # Then it stays due at the instant time, and no conditional write was tried
    assert updates["conditional"] == 0
    [match] = repository.pending("ana", Channel.EMAIL, FAR_FUTURE)
    assert match.due_at == INSTANT_DUE


def test_a_search_with_the_same_due_time_tries_no_conditional_write(stack: LocalStack) -> None:
    # Given a post pending for her daily digest
    repository = stores.matches()
    queue(repository, "s-daily", DAILY_DUE)
    updates = counted_updates(repository)
    # When a second daily search, due in the same window, matches it too
    queue(repository, "s-daily-2", DAILY_DUE)
    # Then nothing is pulled forward: the pending item and the marker, no conditional write
    assert updates == Counter(plain=2)
    [match] = repository.pending("ana", Channel.EMAIL, FAR_FUTURE)
    assert match.due_at == DAILY_DUE
    assert sorted(match.search_ids) == ["s-daily", "s-daily-2"]


# --- The match worker marks each (subscriber, channel, window) once while it stays warm ---


def match_service(now: datetime) -> MatchService:
    return MatchService(
        index=LiveIndex(stores.searches(), shard="0"),
        subscribers=stores.subscribers(),
        matches=stores.matches(),
        clock=lambda: now,
    )


def counted_markers(service: MatchService) -> Counter[str]:
    """The due markers the worker writes, by window."""
    seen: Counter[str] = Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        sk = json.loads(params["body"])["Key"]["sk"]["S"]
        if sk.startswith("d#"):
            seen[sk] += 1

    client = service.matches.table.meta.client
    client.meta.events.register("before-call.dynamodb.UpdateItem", count)
    return seen


def a_worker_with(frequency: Frequency, now: datetime) -> MatchService:
    ana = make_subscriber("ana", timezone="UTC")
    seed(ana, make_search("ana", "s1", "python", frequency=frequency))
    service = match_service(now)
    service.refresh()
    return service


def test_a_warm_worker_marks_a_future_window_once_for_all_its_matches(stack: LocalStack) -> None:
    # Given a warm worker and a subscriber with a daily search
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    service = a_worker_with(Frequency.DAILY, noon)
    markers = counted_markers(service)
    # When three batches each bring her a match, two of them in one batch
    service.handle([make_post("1", "python dev"), make_post("2", "python lead")])
    service.handle([make_post("3", "python qa")])
    service.handle([make_post("4", "python sre")])
    # Then her daily window was marked once, and all four posts wait for it
    assert list(markers.values()) == [1]
    [window] = [due for _, _, due in stores.matches().due(FAR_FUTURE)]
    pending = stores.matches().pending("ana", Channel.EMAIL, window)
    assert sorted(m.post.id for m in pending) == ["x#1", "x#2", "x#3", "x#4"]


def test_a_window_due_within_the_margin_is_marked_again_by_every_batch(
    stack: LocalStack,
) -> None:
    # Given a warm worker and a subscriber with an instant search
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    service = a_worker_with(Frequency.INSTANT, noon)
    markers = counted_markers(service)
    # When two batches in the same minute each bring her a match
    service.handle([make_post("1", "python dev"), make_post("2", "python lead")])
    service.handle([make_post("3", "python qa")])
    # Then the window (due now: a digest may already have sent and deleted it) is marked by
    # each batch, once per batch
    assert list(markers.values()) == [2]


def test_the_memo_forgets_its_oldest_window_and_never_trusts_one_near_due() -> None:
    # Given a memo of two windows
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    memo = MarkedWindows(capacity=2)
    later = [("ana", Channel.EMAIL, now + timedelta(hours=h)) for h in (1, 2, 3)]
    for key in later:
        memo.written(key, now)
    # Then the oldest entry was forgotten, the others are trusted
    assert [memo.needs_write(key, now) for key in later] == [True, False, False]
    # and a window the margin away (or nearer) is written again, whatever the memo says
    edge = ("ana", Channel.EMAIL, now + MARKER_MEMO_MARGIN)
    memo.written(edge, now)
    assert memo.needs_write(edge, now)
    beyond = ("ana", Channel.EMAIL, now + MARKER_MEMO_MARGIN + timedelta(seconds=1))
    memo.written(beyond, now)
    assert not memo.needs_write(beyond, now)
    assert memo.needs_write(beyond, now + timedelta(seconds=1))
