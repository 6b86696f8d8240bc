"""The X source against recorded API responses served on a real local socket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from jobalerts.sources.base import BUDGET, ERROR, RATE_LIMITED, UNAUTHORIZED, FetchResult
from jobalerts.sources.x import XSource, query_key
from jobalerts_local.replay import ReplayServer
from jobalerts_local.template import repo_root

RECORDINGS = repo_root() / "events" / "sources"
QUERY = "(python OR rust) (hiring OR #hiring) -is:retweet"
NEWEST = "1992001000000000012"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Replay:
    """One scenario's server, an X source pointed at it, and the backoff sleeps it asked for."""

    def __init__(self, server: ReplayServer, queries: list[str]) -> None:
        self.server = server
        self.sleeps: list[float] = []
        self.client = httpx.Client(timeout=0.5)
        self.source = XSource(
            client=self.client,
            base_url=server.base_url,
            token="test-token",
            queries=lambda: queries,
            blocked={"blocked_handle"},
            retries=2,
            sleep=self.sleeps.append,
        )

    def fetch(
        self,
        checkpoint: dict[str, Any] | None = None,
        max_pages: int = 5,
        budget: int | None = 1000,
    ) -> FetchResult:
        return self.source.fetch(checkpoint, max_pages=max_pages, budget=budget)


@pytest.fixture
def replay(request: pytest.FixtureRequest) -> Iterator[Replay]:
    scenario: str = request.param
    # Rate-limit resets in the recordings are relative to this pinned "now", not the wall clock.
    with ReplayServer(RECORDINGS / scenario, clock=NOW.timestamp) as server:
        player = Replay(server, [QUERY])
        yield player
        player.client.close()


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("replay", [name], indirect=True)


def saved(since: str) -> dict[str, Any]:
    return {"since": {query_key(QUERY): since}, "floor": since}


@scenario("x-pagination")
def test_pages_are_followed_and_the_checkpoint_is_the_first_pages_newest_id(
    replay: Replay,
) -> None:
    # When the source reads two recorded pages from scratch
    result = replay.fetch()
    # Then it follows next_token, keeps 10 of 11 posts (the retweet is dropped)
    assert result.pages == 2
    assert result.reads == 11
    assert len(result.posts) == 10
    assert all(not p.text.startswith("RT @") for p in result.posts)
    # And the new checkpoint is the newest id of the first page
    assert result.checkpoint == saved(NEWEST)
    assert result.stopped is None
    # And X was asked for the fields a Post needs
    first = replay.server.requests[0].query
    assert first["max_results"] == "100"
    assert first["tweet.fields"] == "created_at,entities,lang,author_id,referenced_tweets"
    assert first["user.fields"] == "username,name"
    assert replay.server.requests[1].query["next_token"]


@scenario("x-pagination")
def test_posts_are_normalized(replay: Replay) -> None:
    posts = {p.id: p for p in replay.fetch().posts}
    acme = posts["x#1992001000000000012"]
    assert acme.url == "https://x.com/acme_jobs/status/1992001000000000012"
    assert acme.author_handle == "acme_jobs"
    assert acme.author_name == "Acme Jobs"
    assert acme.links == ["https://jobs.acme.example/python-dev"]
    assert "https://jobs.acme.example/python-dev?utm_source" in acme.text  # t.co expanded
    assert acme.hashtags == ["hiring"]
    assert acme.lang == "en"
    assert acme.created_at == datetime(2026, 11, 23, 9, 58, 12, tzinfo=UTC)
    assert posts["x#1992001000000000011"].text.startswith("Data Engineer (Berlin, hybrid) & ")
    assert posts["x#1992001000000000005"].mentions == ["acme_jobs"]


@scenario("x-pagination")
def test_max_pages_bounds_a_run(replay: Replay) -> None:
    result = replay.fetch(max_pages=1)
    assert result.pages == 1
    # A backlog beyond max_pages is skipped on purpose: alerts are about fresh posts.
    assert result.checkpoint == saved(NEWEST)


@scenario("x-pagination")
def test_blocked_authors_are_dropped(replay: Replay) -> None:
    replay.source.blocked = {"acme_jobs", "datahaus"}
    handles = {p.author_handle for p in replay.fetch().posts}
    assert not handles & {"acme_jobs", "datahaus"}


@scenario("x-pagination")
def test_budget_stops_reading_and_keeps_the_old_checkpoint(replay: Replay) -> None:
    # Given 15 reads left: one page of up to 15 posts, then fewer than X's minimum of 10
    result = replay.fetch(checkpoint=saved("1"), budget=15)
    # Then it asks X for 15 at most, stops on budget, and does not move past unread pages
    assert replay.server.requests[0].query["max_results"] == "15"
    assert result.stopped == BUDGET
    assert result.pages == 1
    assert result.checkpoint == saved("1")


@scenario("x-pagination")
def test_a_new_query_starts_at_the_floor_not_seven_days_back(replay: Replay) -> None:
    # Given a checkpoint from an earlier plan, whose queries are gone
    replay.fetch(checkpoint={"since": {"old-query": "5"}, "floor": "1992001000000000001"})
    # Then the new query starts from the newest id seen by any query
    assert replay.server.requests[0].query["since_id"] == "1992001000000000001"


@scenario("x-rate-limited")
def test_429_stops_the_run_with_the_reset_time(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == RATE_LIMITED
    assert result.resume_after is not None
    assert result.resume_after == NOW + timedelta(seconds=900)
    assert result.checkpoint == saved("7")
    assert replay.sleeps == []  # never waits for the window in-process
    assert len(replay.server.requests) == 1


@scenario("x-rate-limited-page-2")
def test_429_on_page_two_keeps_page_one_but_not_the_checkpoint(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == RATE_LIMITED
    assert len(result.posts) == 5  # page one, minus the retweet
    # Page two was never read, so the next run must start from the old position again.
    assert result.checkpoint == saved("7")


@scenario("x-remaining-zero")
def test_no_calls_left_in_the_window_stops_before_a_429(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == RATE_LIMITED
    assert result.resume_after is not None
    assert len(replay.server.requests) == 1
    assert result.checkpoint == saved("7")


@scenario("x-server-error-then-ok")
def test_5xx_is_retried_with_backoff_then_succeeds(replay: Replay) -> None:
    result = replay.fetch()
    assert result.stopped is None
    assert len(result.posts) == 10
    assert result.checkpoint == saved(NEWEST)
    assert len(replay.sleeps) == 3  # two retries on page one, one on page two
    assert all(0 <= s <= 8 for s in replay.sleeps)


@scenario("x-server-down")
def test_5xx_that_outlasts_the_retries_gives_up_without_moving(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == ERROR
    assert result.posts == []
    assert result.checkpoint == saved("7")
    assert len(replay.server.requests) == 3  # one try and two retries, then give up


@scenario("x-timeout")
def test_timeouts_are_bounded(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == ERROR
    assert result.checkpoint == saved("7")
    assert len(replay.sleeps) == 2


@scenario("x-timeout-then-ok")
def test_a_timeout_then_an_answer_reads_normally(replay: Replay) -> None:
    result = replay.fetch()
    assert result.stopped is None
    assert len(result.posts) == 10


@pytest.mark.parametrize("replay", ["x-truncated-json", "x-wrong-shape"], indirect=True)
def test_bad_responses_are_skipped_without_moving_the_checkpoint(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == ERROR
    assert result.posts == []
    assert result.checkpoint == saved("7")


@scenario("x-unauthorized")
def test_a_refused_token_stops_every_query_and_keeps_their_positions(replay: Replay) -> None:
    # Given two planned queries, each with its own position, and X refusing the token (401)
    other = "(golang) (hiring) -is:retweet"
    replay.source.queries = lambda: [QUERY, other]
    checkpoint = {"since": {query_key(QUERY): "7", query_key(other): "3"}, "floor": "2"}
    # When the source reads
    result = replay.fetch(checkpoint=checkpoint)
    # Then it stops after the first refusal (the next query would be refused too), says why,
    # and neither query moves
    assert result.stopped == UNAUTHORIZED
    assert len(replay.server.requests) == 1
    assert result.posts == []
    assert result.checkpoint == checkpoint


@scenario("x-unauthorized-page-2")
def test_a_token_refused_on_page_two_keeps_page_one_but_not_the_checkpoint(
    replay: Replay,
) -> None:
    # Given a token X refuses from page two on (revoked mid-run)
    # When the source reads
    result = replay.fetch(checkpoint=saved("7"))
    # Then page one's posts are returned to be stored, and the query keeps its old position:
    # the pages after it were never read
    assert result.stopped == UNAUTHORIZED
    assert len(result.posts) == 5
    assert result.reads == 6
    assert result.checkpoint == saved("7")


@scenario("x-garbage-page-2")
def test_garbage_on_page_two_keeps_page_one_and_the_old_checkpoint(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped == ERROR
    assert len(result.posts) == 5
    assert result.checkpoint == saved("7")


@scenario("x-missing-fields")
def test_records_missing_fields_are_skipped_one_by_one(replay: Replay) -> None:
    result = replay.fetch()
    # No author, no text, a bad date, an author missing from includes: skipped; the rest kept
    assert [p.id for p in result.posts] == ["x#1992001000000000003"]
    assert result.posts[0].links == []
    assert result.reads == 5
    # Without meta.newest_id, the newest id on the page is used
    assert result.checkpoint == saved("1992001000000000006")


@scenario("x-empty")
def test_an_empty_page_keeps_the_checkpoint(replay: Replay) -> None:
    result = replay.fetch(checkpoint=saved("7"))
    assert result.stopped is None
    assert result.posts == []
    assert result.checkpoint == saved("7")


@scenario("x-pagination")
def test_several_queries_each_keep_their_own_position(replay: Replay) -> None:
    other = "(golang) (hiring) -is:retweet"
    replay.source.queries = lambda: [QUERY, other]
    result = replay.fetch(checkpoint={"since": {query_key(other): "3"}, "floor": "2"})
    assert result.checkpoint is not None
    assert result.checkpoint["since"] == {query_key(QUERY): NEWEST, query_key(other): NEWEST}
    assert [
        r.query.get("since_id") for r in replay.server.requests if "next_token" not in r.query
    ] == [
        "2",
        "3",
    ]


@scenario("x-stale-since-id")
def test_a_since_id_x_no_longer_accepts_restarts_from_the_newest_posts(replay: Replay) -> None:
    # Given a checkpoint from before a month out of budget, which X answers with a 400
    result = replay.fetch(checkpoint=saved("1"))
    # Then the query is read again from the newest posts, and the checkpoint moves on
    assert result.stopped is None
    assert len(result.posts) == 10
    assert result.checkpoint == saved(NEWEST)
    assert "since_id" not in replay.server.requests[1].query


@scenario("x-rate-limited")
def test_queries_left_unread_keep_the_position_they_would_have_started_from(
    replay: Replay,
) -> None:
    # Given a plan with a query that has never run, after a 429 on the first one
    newcomer = "(golang) (hiring) -is:retweet"
    replay.source.queries = lambda: [QUERY, newcomer]
    result = replay.fetch(checkpoint={"since": {query_key(QUERY): "7"}, "floor": "9"})
    # Then neither moves: the newcomer will start from the floor it would have used today
    assert result.checkpoint == {
        "since": {query_key(QUERY): "7", query_key(newcomer): "9"},
        "floor": "9",
    }
