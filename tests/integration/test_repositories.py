"""Repositories on moto: TTL that DynamoDB applies lazily, races, and unprocessed batch keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from jobalerts.errors import NotFound, Throttled
from jobalerts.local.template import LocalStack
from jobalerts.models import Channel, SearchStatus
from jobalerts.store import SearchesRepository, SubscribersRepository
from jobalerts.store._dynamo import BATCH_GET_ROUNDS
from jobalerts.store.matches import MatchesRepository
from tests.support.digests import make_search, make_subscriber

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LINK = "https://jobs.example/openings/4711"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# ---------------------------------------------------------------- races


def test_set_live_does_not_bring_back_a_search_deleted_meanwhile(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a search listed by set_live, and deleted before set_live writes
    searches = SearchesRepository()
    search = make_search("ana", "s1", "python")
    searches.put(search)
    listed = [s.model_copy(update={"live": False}) for s in searches.list_for("ana")]
    searches.delete("ana", "s1")
    monkeypatch.setattr(searches, "list_for", lambda *_a, **_k: listed)
    # When the subscriber's searches are switched live
    searches.set_live("ana", True)
    # Then the search stays deleted
    with pytest.raises(NotFound):
        searches.get("ana", "s1")
    [tombstone] = SearchesRepository().list_for("ana", include_deleted=True)
    assert tombstone.status is SearchStatus.DELETED


def test_set_live_switches_live_searches(stack: LocalStack) -> None:
    searches = SearchesRepository()
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
    subscribers = SubscribersRepository(sleep=sleeps.append)
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
    matches = MatchesRepository(sleep=sleeps.append)
    calls = leave_unprocessed(matches.table.meta.client, rounds=BATCH_GET_ROUNDS + 5)
    with pytest.raises(Throttled):
        matches.already_sent("ana", Channel.EMAIL, ["x#1"], ["t1"])
    assert len(calls) == BATCH_GET_ROUNDS
    assert max(sleeps) <= 1.0
    assert sum(sleeps) < 5
