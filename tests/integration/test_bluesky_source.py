"""The Bluesky source against a real local HTTP server replaying recorded API responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobalerts.sources import bluesky
from jobalerts.sources.base import BUDGET, ERROR, RATE_LIMITED, UNAUTHORIZED
from jobalerts.sources.bluesky import (
    CREATE_SESSION,
    INITIAL_LOOKBACK,
    REFRESH_SESSION,
    SEARCH,
    BlueskySource,
    iso,
)
from jobalerts_local.replay import Recorded, ReplayServer, Route
from jobalerts_local.settings import get_settings
from tests.conftest import FIXED_NOW
from tests.support import stores

RECORDINGS = Path(__file__).parents[2] / "events" / "sources"
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
PASSWORD = "app-pass-word-1234"


@pytest.fixture(autouse=True)
def cold_start() -> Iterator[None]:
    bluesky.forget_sessions()
    yield
    bluesky.forget_sessions()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.5)) as http:
        yield http


def replay(scenario: str) -> ReplayServer:
    return ReplayServer(RECORDINGS / scenario)


def source(
    server: ReplayServer, client: httpx.Client, queries: str, **kwargs: object
) -> BlueskySource:
    return BlueskySource(
        client,
        server.base_url,
        "demo.bsky.social",
        PASSWORD,
        queries=queries,
        retries=2,
        sleep=lambda _: None,
        clock=lambda: NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def paths(server: ReplayServer) -> list[str]:
    return [r.path for r in server.requests]


def test_a_first_pass_pages_with_cursor_and_sets_since_to_the_newest_post(
    client: httpx.Client,
) -> None:
    with replay("bluesky-search") as server:
        # Given no checkpoint and two queries that share a post
        result = source(server, client, '#hiring,"we\'re hiring"').fetch(
            None, max_pages=5, budget=None
        )
        # Then it logs in once, reads the last day with sort=latest and follows the cursor
        searches = server.served(SEARCH)
        assert paths(server).count(CREATE_SESSION) == 1
        assert searches[0].query["sort"] == "latest"
        assert searches[0].query["since"] == "2026-11-22T11:00:00.000Z"
        assert [s.query.get("cursor") for s in searches[:3]] == [None, "2", "5"]
    # And every usable post comes back once, the one without a uri dropped
    assert [p.id.rsplit("/", 1)[1] for p in result.posts] == [
        "3kx3",
        "3kx2",
        "3kx1",
        "3kx0",
        "3kx4",
    ]
    assert result.reads == 7
    assert result.stopped is None
    assert result.checkpoint == {
        "queries": {
            "#hiring": {"since": "2026-11-23T10:03:00.000Z", "cursor": None, "newest": None},
            '"we\'re hiring"': {
                "since": "2026-11-23T10:04:00.000Z",
                "cursor": None,
                "newest": None,
            },
        }
    }


def test_each_query_read_is_committed_before_the_next(client: httpx.Client) -> None:
    # Given two queries and a commit
    commits: list[tuple[list[str], dict[str, Any]]] = []
    with replay("bluesky-search") as server:
        # When a first pass reads them
        result = source(server, client, '#hiring,"we\'re hiring"').fetch(
            None,
            max_pages=5,
            budget=None,
            commit=lambda posts, at: commits.append(([p.id[-4:] for p in posts], at)),
        )
    # Then the first query's posts and position are committed before the second is read, and
    # the second's are left to the end of the run
    hiring = {"since": "2026-11-23T10:03:00.000Z", "cursor": None, "newest": None}
    assert commits == [(["3kx3", "3kx2", "3kx1", "3kx0"], {"queries": {"#hiring": hiring}})]
    assert [p.id[-4:] for p in result.posts][len(commits[0][0]) :] == ["3kx4"]


def test_the_next_run_asks_only_for_posts_since_the_checkpoint(client: httpx.Client) -> None:
    checkpoint = {"queries": {"#hiring": {"since": "2026-11-23T10:03:00.000Z"}}}
    with replay("bluesky-search") as server:
        result = source(server, client, "#hiring").fetch(checkpoint, max_pages=5, budget=None)
        assert [s.query["since"] for s in server.served(SEARCH)] == ["2026-11-23T10:03:00.000Z"]
    assert [p.id.rsplit("/", 1)[1] for p in result.posts] == ["3kx5"]
    assert result.checkpoint == {
        "queries": {
            "#hiring": {"since": "2026-11-23T10:05:00.000Z", "cursor": None, "newest": None}
        }
    }


def test_a_pass_cut_short_keeps_since_and_resumes_at_the_cursor(client: httpx.Client) -> None:
    with replay("bluesky-search") as server:
        bsky = source(server, client, "#hiring")
        # Given a run allowed one page
        first = bsky.fetch(None, max_pages=1, budget=None)
        # Then since stays at the pass's start; the cursor of the first unread page is kept
        assert first.checkpoint == {
            "queries": {
                "#hiring": {
                    "since": "2026-11-22T11:00:00.000Z",
                    "cursor": "2",
                    "newest": "2026-11-23T10:03:00.000Z",
                }
            }
        }
        # When the next run resumes
        second = bsky.fetch(first.checkpoint, max_pages=5, budget=None)
        searches = [(s.query["since"], s.query.get("cursor")) for s in server.served(SEARCH)]
    # Then it reads the rest of the pass, only then moves since to the newest post seen, and
    # starts a new pass from there for what arrived in front of the old cursor meanwhile
    assert searches == [
        ("2026-11-22T11:00:00.000Z", None),
        ("2026-11-22T11:00:00.000Z", "2"),
        ("2026-11-22T11:00:00.000Z", "5"),
        ("2026-11-23T10:03:00.000Z", None),
    ]
    assert [p.id[-4:] for p in first.posts + second.posts] == [
        "3kx3",
        "3kx2",
        "3kx1",
        "3kx0",
        "3kx5",
    ]
    assert second.checkpoint == {
        "queries": {
            "#hiring": {"since": "2026-11-23T10:05:00.000Z", "cursor": None, "newest": None}
        }
    }


def test_a_resumed_pass_cut_short_again_keeps_its_cursor(client: httpx.Client) -> None:
    with replay("bluesky-search") as server:
        bsky = source(server, client, "#hiring")
        first = bsky.fetch(None, max_pages=1, budget=None)
        # When the resumed run may read just the rest of the old pass
        second = bsky.fetch(first.checkpoint, max_pages=2, budget=None)
    # Then the old pass is finished and no new one begun
    assert second.checkpoint == {
        "queries": {
            "#hiring": {"since": "2026-11-23T10:03:00.000Z", "cursor": None, "newest": None}
        }
    }


def test_the_read_budget_stops_the_run_without_losing_the_rest(client: httpx.Client) -> None:
    with replay("bluesky-search") as server:
        result = source(server, client, '#hiring,"we\'re hiring"').fetch(
            None, max_pages=5, budget=2
        )
    assert result.stopped == BUDGET
    assert result.reads == 2
    assert result.checkpoint is not None
    assert result.checkpoint["queries"]["#hiring"]["cursor"] == "2"
    assert '"we\'re hiring"' not in result.checkpoint["queries"]


def test_an_expired_access_token_is_refreshed_and_the_call_retried(client: httpx.Client) -> None:
    with replay("bluesky-expired") as server:
        result = source(server, client, "#hiring").fetch(None, max_pages=1, budget=None)
        assert paths(server) == [CREATE_SESSION, SEARCH, REFRESH_SESSION, SEARCH]
    assert [p.id[-4:] for p in result.posts] == ["3kx3"]
    assert result.stopped is None


def test_a_refused_refresh_falls_back_to_a_new_login(client: httpx.Client) -> None:
    with replay("bluesky-relogin") as server:
        result = source(server, client, "#hiring").fetch(None, max_pages=1, budget=None)
        assert paths(server) == [CREATE_SESSION, SEARCH, REFRESH_SESSION, CREATE_SESSION, SEARCH]
    assert [p.id[-4:] for p in result.posts] == ["3kx3"]


def test_warm_invocations_reuse_the_session_in_memory(client: httpx.Client) -> None:
    with replay("bluesky-search") as server:
        for _ in range(3):
            source(server, client, "#hiring").fetch(None, max_pages=1, budget=None)
        assert paths(server).count(CREATE_SESSION) == 1


@pytest.mark.usefixtures("stack")
def test_cold_starts_reuse_the_saved_session(client: httpx.Client) -> None:

    state = stores.sessions()
    with replay("bluesky-search") as server:
        # Given one run that logged in and saved its session
        first = source(server, client, "#hiring", state=state)
        first.fetch(None, max_pages=1, budget=None)
        # When a cold start (empty memory) runs again
        bluesky.forget_sessions()
        source(server, client, "#hiring", state=state).fetch(None, max_pages=1, budget=None)
        # Then it did not log in again
        assert paths(server).count(CREATE_SESSION) == 1
    saved = state.get(first.sessions.key, NOW)
    assert saved is not None
    assert saved["did"] == "did:plc:jobalertsdemo0000000000"
    assert saved["expiration"] > NOW.timestamp()  # read as absent once it has passed
    assert PASSWORD not in str(saved)
    # And it is an encrypted parameter under the path only ingest may read
    parameter = boto3.client("ssm").get_parameter(Name=state.name(first.sessions.key))
    assert parameter["Parameter"]["Type"] == "SecureString"
    assert state.name(first.sessions.key).startswith(get_settings().session_parameter_path + "/")
    # And none of it sits in the State table, which the subscriptions function reads
    rows = boto3.resource("dynamodb").Table(get_settings().state_table).scan()["Items"]
    assert saved["did"] not in str(rows)


@pytest.mark.usefixtures("stack")
def test_a_session_past_its_refresh_tokens_expiry_reads_as_absent() -> None:

    sessions = stores.sessions()
    sessions.put("k", {"did": "did:plc:x", "expiration": int(NOW.timestamp())})
    assert sessions.get("k", NOW - timedelta(seconds=1)) is not None
    assert sessions.get("k", NOW + timedelta(seconds=1)) is None


@pytest.mark.usefixtures("stack")
def test_an_access_token_about_to_expire_is_refreshed_before_use(client: httpx.Client) -> None:

    state = stores.sessions()
    with replay("bluesky-search") as server:
        bsky = source(server, client, "#hiring", state=state)
        # Given a stored session whose access token expired an hour ago
        state.put(
            bsky.sessions.key,
            {
                "did": "did:plc:x",
                "handle": "demo.bsky.social",
                "access_jwt": "e30.eyJleHAiOiAxNzk1MDAwMDAwfQ.sig",  # exp 2026-11-18
                "refresh_jwt": "r",
            },
        )
        bsky.fetch(None, max_pages=1, budget=None)
        # Then it refreshed first instead of sending a token the server would refuse
        assert paths(server)[:2] == [REFRESH_SESSION, SEARCH]


def test_a_refused_login_is_an_error_not_a_crash(client: httpx.Client) -> None:
    with replay("bluesky-badlogin") as server:
        result = source(server, client, "#hiring,#jobs").fetch(None, max_pages=1, budget=None)
        # And the second query does not try again
        assert paths(server) == [CREATE_SESSION]
    # And ingest is told the credentials were refused, so it reads the secret again
    assert result.stopped == UNAUTHORIZED
    assert result.posts == []
    assert result.checkpoint is None


def test_a_500_then_success_is_retried(client: httpx.Client) -> None:
    with replay("bluesky-faults") as server:
        result = source(server, client, "flaky").fetch(None, max_pages=1, budget=None)
        assert len(server.served(SEARCH)) == 3
    assert [p.id[-4:] for p in result.posts] == ["3kx1"]
    assert result.stopped is None


@pytest.mark.parametrize("query", ["slow", "garbage", "notalist", "invalid"])
def test_a_broken_query_keeps_its_checkpoint_and_the_others_are_read(
    client: httpx.Client, query: str
) -> None:
    # Given a query that times out / sends truncated JSON / a wrong shape / a 400
    checkpoint = {"queries": {query: {"since": "2026-11-23T09:00:00.000Z"}}}
    with replay("bluesky-faults") as server:
        result = source(server, client, f"{query},flaky").fetch(
            checkpoint, max_pages=1, budget=None
        )
    # Then nothing raises, its checkpoint stays, and the healthy query is still read
    assert result.stopped == ERROR
    assert result.checkpoint is not None
    assert result.checkpoint["queries"][query] == {"since": "2026-11-23T09:00:00.000Z"}
    assert [p.id[-4:] for p in result.posts] == ["3kx1"]


def test_an_empty_page_ends_the_pass_without_moving_since(client: httpx.Client) -> None:
    checkpoint = {"queries": {"empty": {"since": "2026-11-23T09:00:00.000Z"}}}
    with replay("bluesky-faults") as server:
        result = source(server, client, "empty").fetch(checkpoint, max_pages=3, budget=None)
    assert result.posts == []
    assert result.stopped is None
    assert result.checkpoint == {
        "queries": {"empty": {"since": "2026-11-23T09:00:00.000Z", "cursor": None, "newest": None}}
    }


def test_posts_with_missing_fields_are_dropped_or_repaired(client: httpx.Client) -> None:
    with replay("bluesky-faults") as server:
        result = source(server, client, "missing").fetch(None, max_pages=1, budget=None)
    # Only the post without an author survives (handle from its DID); nothing raises
    assert [p.author_handle for p in result.posts] == ["did:plc:acmejobs00000000000000"]
    assert result.reads == 4


def test_a_429_stops_the_run_until_ratelimit_reset(client: httpx.Client) -> None:
    checkpoint = {"queries": {"limited": {"since": "2026-11-23T09:00:00.000Z"}}}
    with replay("bluesky-faults") as server:
        result = source(server, client, "limited,flaky").fetch(checkpoint, max_pages=1, budget=None)
        assert [s.query["q"] for s in server.served(SEARCH)] == ["limited"]
    assert result.stopped == RATE_LIMITED
    assert result.resume_after == datetime(2100, 1, 1, tzinfo=UTC)
    assert result.checkpoint == checkpoint


@pytest.mark.usefixtures("stack")
def test_the_demo_recordings_go_through_ingest_once() -> None:
    from jobalerts import ingest
    from jobalerts_local.settings import get_settings

    credentials = {"bluesky_handle": "demo.bsky.social", "bluesky_app_password": PASSWORD}
    with ReplayServer(RECORDINGS / "demo") as server:
        # Given ingest with only Bluesky enabled, pointed at the demo recordings
        settings = get_settings().model_copy(
            update={"enabled_sources": "bluesky", "bluesky_base_url": server.base_url}
        )
        # When it runs twice
        wired = stores.ingest(settings)
        first = ingest.run(FIXED_NOW, settings=settings, credentials=credentials, **wired)
        second = ingest.run(FIXED_NOW, settings=settings, credentials=credentials, **wired)
        # Then it logged in once (the session is reused), and the posts are stored once
        assert paths(server).count(CREATE_SESSION) == 1
    assert first["sources"]["bluesky"]["stored"] == 4
    assert second["sources"]["bluesky"]["stored"] == 0
    stored = stores.posts().get("bluesky#did:plc:gophercloud000000000000/3lbq2go7")
    assert stored is not None
    assert stored.url == "https://bsky.app/profile/gophercloud.bsky.social/post/3lbq2go7"
    assert stored.links == ["https://gophers.example/jobs/7"]


# ------------------------------------------------------------------ a reference model of search

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def model_time(n: int) -> str:
    return iso(T0 + timedelta(seconds=n))


def model_post(n: int) -> dict[str, object]:
    return {
        "uri": f"at://did:plc:model/app.bsky.feed.post/r{n}",
        "author": {"did": "did:plc:model", "handle": "model.bsky.social"},
        "record": {"text": f"job {n}", "createdAt": model_time(n), "langs": ["en"]},
        "indexedAt": model_time(n),
    }


def model_routes(visible: int, flaky: set[int], limit: int) -> list[Route]:
    """searchPosts over posts 1..visible (post n at T0+n s): `since` inclusive, newest first,
    the cursor an offset, as the AppView's is; some pages fail every attempt once first."""
    session = json.loads((RECORDINGS / "bluesky-search" / "bluesky-session.json").read_text())
    routes = [Route.from_json(r, "session") for r in session["routes"]]
    sinces = [(iso(NOW - INITIAL_LOOKBACK), 0)] + [
        (model_time(n), n) for n in range(1, visible + 1)
    ]
    for since, first in sinces:
        matching = list(range(visible, max(first, 1) - 1, -1))
        for offset in range(0, max(len(matching), 1) + limit, limit):
            page = matching[offset : offset + limit]
            body: dict[str, object] = {"posts": [model_post(n) for n in page]}
            if offset + limit < len(matching):
                body["cursor"] = str(offset + limit)
            ok = Recorded(200, {"content-type": "application/json"}, json.dumps(body).encode())
            failures = [Recorded(502)] * 3 if (first * 7 + offset) % 29 in flaky else []
            query = {"q": "#hiring", "since": since, "cursor": str(offset) if offset else None}
            routes.append(Route("GET", SEARCH, query, [*failures, ok]))
    return routes


@pytest.fixture(scope="module")
def model_server() -> Iterator[ReplayServer]:
    with ReplayServer(RECORDINGS, routes=[]) as server:
        yield server


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    arrivals=st.lists(st.integers(0, 5), min_size=1, max_size=5),
    pages=st.lists(st.integers(1, 3), min_size=6, max_size=6),
    flaky=st.sets(st.integers(0, 28), max_size=4),
)
# Posts 9 and 10 arrive in front of a resumed pass's cursor; the run that ends that pass must
# start a new one rather than leave them to the next run.
@example(arrivals=[2, 3, 5], pages=[1, 1, 1, 1, 1, 1], flaky={1, 16, 22})
def test_search_passes_never_skip_a_post_whatever_arrives_and_fails(
    model_server: ReplayServer,
    client: httpx.Client,
    arrivals: list[int],
    pages: list[int],
    flaky: set[int],
) -> None:
    # Given posts arriving between runs, runs allowed few pages, pages failing all retries once
    returned: set[int] = set()
    checkpoint: dict[str, Any] | None = None
    visible = 0
    bsky = source(model_server, client, "#hiring", limit=2)
    # (then runs allowed many pages until one is not cut short by a failing page; each page
    # fails once at most, so a few suffice)
    clean = False
    for run, max_pages in enumerate([*pages, *[50] * 12]):
        if run < len(arrivals):
            visible += arrivals[run]
            model_server.routes = model_routes(visible, flaky, limit=2)
        result = bsky.fetch(checkpoint, max_pages=max_pages, budget=None)
        returned |= {int(p.id.rsplit("/r", 1)[1]) for p in result.posts}
        checkpoint = result.checkpoint or checkpoint
        if checkpoint is not None:
            since = checkpoint["queries"]["#hiring"]["since"]
            # Then `since` never passes a post that was not returned
            assert {n for n in range(1, visible + 1) if model_time(n) < since} <= returned
        if run >= len(pages) and result.stopped is None:
            clean = True
            break
    # And the first long run after the last arrival that nothing cut short returned every post,
    # even those that arrived in front of a resumed pass's cursor
    assert clean
    assert returned == set(range(1, visible + 1))
