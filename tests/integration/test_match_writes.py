"""What queuing a match writes: the sooner schedule wins, and a first match pays no extra write."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from jobalerts.models import Channel, Post
from jobalerts.store import MatchesRepository
from jobalerts_local.template import LocalStack
from tests.conftest import FIXED_NOW
from tests.support import stores

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
