"""Search shards built from template.yaml: with SearchShards=3, shard 0's match function reads the
posts stream, the fan-out publishes every post to the shards' topic, and shards 1 and 2 each
match it from their own queue. Every (search, post) pair is matched once, by the search's shard."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest

from jobalerts.matcher import shard_for
from jobalerts.matching import LiveIndex, SearchRoute
from jobalerts.models import Channel, Post, SavedSearch, Subscriber, SubscriberStatus
from jobalerts.query import document, evaluate, parse
from jobalerts.store._dynamo import now_iso
from jobalerts_local.service import LocalService, local_service
from tests.conftest import FIXED_NOW, TEST_BASE_URL
from tests.support import stores

SHARDS = 3
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
QUERIES = [
    "python",
    "python remote",
    "golang OR rust",
    '"data engineer"',
    "#hiring -senior",
    "berlin",
    "from:acme_jobs",
    "kotlin lang:de",
    "remote -(python senior)",
    "(java OR scala) berlin",
]
WORDS = ["python", "golang", "rust", "remote", "berlin", "senior", "java", "scala", "kotlin"]
Pair = tuple[str, str]


@pytest.fixture
def sharded(clock: datetime) -> Iterator[LocalService]:
    """Given the whole service from template.yaml with SearchShards=3, on moto."""
    with local_service(TEST_BASE_URL, parameters={"SearchShards": str(SHARDS)}) as service:
        yield service


@pytest.fixture
def hits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Every (shard, search, post) a worker's index matched, whichever worker it was."""
    seen: list[tuple[str, str, str]] = []
    original = LiveIndex.match

    def recorded(index: LiveIndex, post: Post) -> dict[str, SearchRoute]:
        found = original(index, post)
        seen.extend((index.shard, search_id, post.id) for search_id in found)
        return found

    monkeypatch.setattr(LiveIndex, "match", recorded)
    return seen


def saved(subscriber_id: str, search_id: str, query: str) -> SavedSearch:
    return SavedSearch(
        subscriber_id=subscriber_id,
        search_id=search_id,
        query=query,
        shard=shard_for(search_id, SHARDS),
        updated_at=now_iso(),
        created_at=FIXED_NOW,
    )


def posts(batch: int, count: int) -> list[Post]:
    """Posts mixing the queries' words, some by acme_jobs, some in German."""
    made = []
    for n in range(count):
        words = [WORDS[(n * k + batch) % len(WORDS)] for k in (1, 3, 5)]
        text = " ".join(words) + (" data engineer" if n % 4 == 0 else "") + " #hiring"
        made.append(
            Post(
                id=f"x#{batch}-{n}",
                source="x",
                author_handle="acme_jobs" if n % 5 == 0 else f"writer{n}",
                text=text,
                url=f"https://x.com/a/status/{batch}{n}",
                created_at=FIXED_NOW,
                lang="de" if n % 3 == 0 else "en",
            )
        )
    return made


def should_match(queries: dict[str, str], batch: list[Post]) -> set[Pair]:
    """The reference evaluator's answer, with each search's query as it stood for this batch."""
    return {
        (search_id, post.id)
        for post in batch
        for search_id, query in queries.items()
        if evaluate(parse(query), document(post.text, post.author_handle, post.lang))
    }


def recorded_pairs(subscribers: list[str]) -> set[Pair]:
    """(search, post) of every pending match in the matches table."""
    return {
        (search_id, match.post.id)
        for subscriber_id in subscribers
        for match in stores.matches().pending(subscriber_id, Channel.EMAIL, FAR_FUTURE)
        for search_id in match.search_ids
    }


def worker_index(shard: str) -> LiveIndex:
    """The live index of shard k's warm worker (each copy is its own module, as on Lambda)."""
    name = "jobalerts_function_match" + (
        "" if shard == "0" else f"_shard__MatchShard{shard}Function"
    )
    index: LiveIndex = sys.modules[name].SERVICE.index
    return index


@pytest.mark.timeout(900)
def test_three_shards_match_every_pair_once_even_across_an_edit(
    sharded: LocalService, hits: list[tuple[str, str, str]]
) -> None:
    # Given 15 live searches over 5 subscribers, spread by hash over the 3 shards
    subscribers = [f"sub{n}" for n in range(5)]
    for subscriber_id in subscribers:
        stores.subscribers().create(
            Subscriber(
                subscriber_id=subscriber_id,
                email=f"{subscriber_id}@example.com",
                timezone="Europe/Berlin",
                status=SubscriberStatus.ACTIVE,
                email_confirmed=True,
                created_at=FIXED_NOW,
            )
        )
    queries = {f"search{n}": QUERIES[n % len(QUERIES)] for n in range(15)}
    for n, (search_id, query) in enumerate(queries.items()):
        stores.searches().put(saved(subscribers[n % 5], search_id, query))
    shard_of = {search_id: shard_for(search_id, SHARDS) for search_id in queries}
    assert set(shard_of.values()) == {"0", "1", "2"}
    # And one search, held by a shard fed through the fan-out, that will be edited
    edited = next(s for s in queries if shard_of[s] != "0")
    old_query, new_query = queries[edited], "golang -python"

    # When a first batch of posts flows through the stream, the fan-out and the shards' queues
    first = posts(1, 12)
    for post in first:
        stores.posts().put_new(post)
    sharded.match()
    expected = should_match(queries, first)
    # And the edited search's query changes before the next batches
    owner = subscribers[list(queries).index(edited) % 5]
    stores.searches().replace(saved(owner, edited, new_query))
    queries[edited] = new_query
    for batch_number in (2, 3):
        batch = posts(batch_number, 12)
        for post in batch:
            stores.posts().put_new(post)
        sharded.match()
        expected |= should_match(queries, batch)

    # Then every (search, post) the reference evaluator matches was matched exactly once
    pairs = Counter((search_id, post_id) for _, search_id, post_id in hits)
    assert {pair for pair, times in pairs.items() if times > 1} == set()
    assert set(pairs) == expected
    # And each by the shard its search belongs to, every shard taking its part
    assert {(shard, s) for shard, s, _ in hits} == {(shard_of[s], s) for s, _ in expected}
    assert {shard for shard, _, _ in hits} == {"0", "1", "2"}
    # And the edit took effect on its shard: the old query before it, the new one after
    later = posts(2, 12) + posts(3, 12)
    assert should_match({edited: old_query}, later) != should_match({edited: new_query}, later)
    mine = {
        (s, post_id) for _, s, post_id in hits if s == edited and not post_id.startswith("x#1-")
    }
    assert mine == should_match({edited: new_query}, later)
    # And each worker's index holds its own shard's searches and no other
    for shard in ("0", "1", "2"):
        assert set(worker_index(shard).routes) == {s for s in queries if shard_of[s] == shard}
    # And every match is recorded in the matches table
    assert recorded_pairs(subscribers) == expected
    # And nothing was left on, or dead-lettered from, the shards' queues
    sqs = boto3.client("sqs", region_name="us-east-1")
    for shard in ("1", "2"):
        for queue in (f"MatchShard{shard}Queue", f"MatchShard{shard}DeadLetterQueue"):
            url = sharded.stack.refs[queue]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            assert attributes == {
                "ApproximateNumberOfMessages": "0",
                "ApproximateNumberOfMessagesNotVisible": "0",
            }


def test_a_shard_beyond_search_shards_is_not_created(sharded: LocalService) -> None:
    # Given SearchShards=3: shards 1 and 2 exist, shard 3 does not
    functions = set(sharded.stack.functions)
    assert {"MatchFunction", "PostsFanoutFunction", "MatchShard1Function"} <= functions
    assert "MatchShard2Function" in functions
    assert "MatchShard3Function" not in functions
    assert "MatchShard3Queue" not in sharded.stack.refs
    # And each copy of the worker is told its own shard, which no other function shares
    assert sharded.stack.own_environment("MatchShard2Function") == {"MATCH_SHARD": "2"}
    assert "MATCH_SHARD" not in sharded.stack.merged_environment()
