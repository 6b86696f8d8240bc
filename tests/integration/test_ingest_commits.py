"""Ingest commits X query by query: a function that keeps dying mid-run still catches up.

Three planned queries, each answered with one page of its own posts by a local X server that
honours `since_id`. The function dies (a BaseException, as a Lambda timeout or an out-of-memory
kill would end it) while storing the third query's first post.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobalerts.ingest import Ingest, SettledPosts, SourceCredentials
from jobalerts.models import Post
from jobalerts.sources.x import SEARCH_PATH, XSource, query_key
from jobalerts.store import PostsRepository, StateRepository
from jobalerts_local.replay import Recorded, ReplayServer, Served
from jobalerts_local.settings import Settings
from tests.support import stores

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
QUERIES = ["python hiring", "golang hiring", "rust hiring"]
# Query n's posts: ids n*100+1..n*100+3, newest (largest) first, as X sends them.
IDS = {
    q: [str(1992001000000000000 + (n + 1) * 100 + i) for i in (3, 2, 1)]
    for n, q in enumerate(QUERIES)
}


class Died(BaseException):
    """The function instance died (not an error any `except Exception` would catch)."""


class SearchByQuery(ReplayServer):
    """One page per query, only tweets newer than `since_id`; `garbage` queries answer junk."""

    def __init__(self) -> None:
        super().__init__(Path("."), routes=[])
        self.garbage: set[str] = set()
        # Posts that appear after the first run, newest first, per query.
        self.later: dict[str, list[str]] = {}

    def answer(self, method: str, path: str, query: dict[str, str]) -> Recorded:
        self.requests.append(Served(method, path, query))
        assert path == SEARCH_PATH
        if query["query"] in self.garbage:
            return Recorded(200, {"content-type": "application/json"}, b'{"data": 7')
        since = int(query.get("since_id") or 0)
        known = self.later.get(query["query"], []) + IDS[query["query"]]
        ids = [i for i in known if int(i) > since]
        body: dict[str, Any] = {"meta": {"result_count": len(ids)}}
        if ids:
            word = query["query"].split()[0]
            body["data"] = [
                {
                    "id": i,
                    "text": f"We are hiring a {word} engineer, role {i[-3:]}",
                    "author_id": "7",
                    "created_at": "2026-11-23T09:00:00.000Z",
                }
                for i in ids
            ]
            body["includes"] = {"users": [{"id": "7", "username": "acme", "name": "Acme"}]}
            body["meta"]["newest_id"] = ids[0]
        return Recorded(200, {"content-type": "application/json"}, json.dumps(body).encode())


class DyingPosts(PostsRepository):
    """The posts table, with the function dying just before it stores one chosen post."""

    def __init__(self, dies_at: str | None) -> None:
        wired = stores.posts()
        super().__init__(wired.table, wired.ttl_days)
        self.dies_at = dies_at
        self.written: list[str] = []

    def put_new(self, post: Post) -> bool:
        if post.id == self.dies_at:
            raise Died(post.id)
        self.written.append(post.id)
        return super().put_new(post)


@pytest.fixture
def x(stack: object) -> Iterator[SearchByQuery]:
    with SearchByQuery() as server:
        yield server


def ingest(
    server: SearchByQuery,
    dies_at: str | None = None,
    at: datetime = NOW,
    *,
    settled: SettledPosts | None = None,
    posts: DyingPosts | None = None,
    state: StateRepository | None = None,
) -> Any:
    with httpx.Client(timeout=2) as client:
        source = XSource(
            client=client, base_url=server.base_url, token="t", queries=lambda: QUERIES
        )
        run = Ingest(
            settings=Settings(x_base_url=server.base_url, enabled_sources="x"),
            posts=posts or DyingPosts(dies_at),
            state=state or stores.state(),
            stores=stores.sources(),
            client=client,
            credentials=SourceCredentials.fixed({"x_bearer_token": "t"}),
            sources={"x": source},
            settled=settled or SettledPosts(),
        )
        return run.run(at)


class CountedState(StateRepository):
    """The state table, counting the checkpoints written."""

    def __init__(self) -> None:
        super().__init__(stores.state().table)
        self.checkpoints: list[dict[str, Any]] = []

    def put_checkpoint(self, name: str, value: dict[str, Any]) -> None:
        self.checkpoints.append(value)
        super().put_checkpoint(name, value)


def stored() -> set[str]:
    repo = stores.posts()
    return {f"x#{i}" for q in QUERIES for i in IDS[q] if repo.get(f"x#{i}") is not None}


def test_a_crash_after_query_two_of_three_resumes_after_query_two(x: SearchByQuery) -> None:
    # Given the function dies storing the first post of the third query
    with pytest.raises(Died):
        ingest(x, dies_at=f"x#{IDS[QUERIES[2]][0]}")
    # Then the first two queries' posts are stored and the checkpoint moved past them only
    assert stored() == {f"x#{i}" for q in QUERIES[:2] for i in IDS[q]}
    checkpoint = stores.state().get_checkpoint("x")
    assert checkpoint is not None
    assert checkpoint["since"] == {query_key(q): IDS[q][0] for q in QUERIES[:2]}
    # The floor (where queries new to the plan start) moves only when a run ends
    assert checkpoint.get("floor") is None

    # When the next run goes through
    x.requests.clear()
    summary = ingest(x, at=NOW + timedelta(minutes=5))
    # Then it asks the first two queries only for what is newer, and stores the third's posts once
    since = {r.query["query"]: r.query.get("since_id") for r in x.requests}
    assert since == {
        QUERIES[0]: IDS[QUERIES[0]][0],
        QUERIES[1]: IDS[QUERIES[1]][0],
        QUERIES[2]: None,
    }
    assert summary["sources"]["x"]["stored"] == 3
    assert summary["sources"]["x"].get("duplicates", 0) == 0
    assert stored() == {f"x#{i}" for q in QUERIES for i in IDS[q]}
    final = stores.state().get_checkpoint("x")
    assert final is not None
    assert final["since"] == {query_key(q): IDS[q][0] for q in QUERIES}
    assert final["floor"] == IDS[QUERIES[2]][0]


def test_a_garbage_answer_is_skipped_without_moving_that_querys_checkpoint(
    x: SearchByQuery,
) -> None:
    # Given X answers the second query with garbage, and the function dies on the third
    x.garbage.add(QUERIES[1])
    with pytest.raises(Died):
        ingest(x, dies_at=f"x#{IDS[QUERIES[2]][0]}")
    # Then only the first query moved on: the second starts where it was, and nothing is lost
    checkpoint = stores.state().get_checkpoint("x")
    assert checkpoint is not None
    assert checkpoint["since"] == {query_key(QUERIES[0]): IDS[QUERIES[0]][0]}
    # When X answers properly again
    x.garbage.clear()
    summary = ingest(x, at=NOW + timedelta(minutes=5))
    # Then the second and third queries' posts are stored, each once
    assert summary["sources"]["x"]["stored"] == 6
    assert stored() == {f"x#{i}" for q in QUERIES for i in IDS[q]}


def test_a_warm_instance_does_not_write_again_what_a_dead_run_already_stored(
    x: SearchByQuery,
) -> None:
    # Given a warm instance whose run died storing the last post of the third query
    settled = SettledPosts()
    last = f"x#{IDS[QUERIES[2]][-1]}"
    with pytest.raises(Died):
        ingest(x, settled=settled, posts=DyingPosts(dies_at=last))
    # When its next run reads that query again
    posts = DyingPosts(dies_at=None)
    summary = ingest(x, at=NOW + timedelta(minutes=5), settled=settled, posts=posts)
    # Then only the post the dead run never stored is written, and every post is stored
    assert posts.written == [last]
    assert summary["sources"]["x"]["stored"] == 1
    assert summary["sources"]["x"]["duplicates"] == 2
    assert stored() == {f"x#{i}" for q in QUERIES for i in IDS[q]}


def test_a_run_that_finds_nothing_new_writes_no_checkpoint(x: SearchByQuery) -> None:
    # Given a run that read every query to its end
    ingest(x)
    before = stores.state().get_checkpoint("x")
    # When the next run finds nothing new on any query
    state = CountedState()
    summary = ingest(x, at=NOW + timedelta(minutes=5), state=state)
    # Then the position is not written again (it was a put per query), and it has not moved
    assert state.checkpoints == []
    assert summary["sources"]["x"]["checkpoint_saved"] is False
    assert stores.state().get_checkpoint("x") == before


def test_only_a_query_that_moved_commits_and_the_run_ends_on_the_new_floor(
    x: SearchByQuery,
) -> None:
    # Given a run that read every query, then one new post on the second query alone
    ingest(x)
    new = str(int(IDS[QUERIES[2]][0]) + 1)
    x.later[QUERIES[1]] = [new]
    # When the next run reads all three
    state = CountedState()
    summary = ingest(x, at=NOW + timedelta(minutes=5), state=state)
    # Then the quiet first query writes nothing, the second commits its post and position,
    # and the run's end writes the floor that moved with it
    assert summary["sources"]["x"]["stored"] == 1
    assert [c["since"][query_key(QUERIES[1])] for c in state.checkpoints] == [new, new]
    assert [c["floor"] for c in state.checkpoints] == [IDS[QUERIES[2]][0], new]
    final = stores.state().get_checkpoint("x")
    assert final is not None
    assert final["since"] == {
        query_key(QUERIES[0]): IDS[QUERIES[0]][0],
        query_key(QUERIES[1]): new,
        query_key(QUERIES[2]): IDS[QUERIES[2]][0],
    }


def test_settled_posts_forget_the_oldest_first() -> None:
    settled = SettledPosts(capacity=2)
    for post_id in ("a", "b", "a", "c"):
        settled.add(post_id)
    assert ("a" in settled, "b" in settled, "c" in settled) == (True, False, True)
