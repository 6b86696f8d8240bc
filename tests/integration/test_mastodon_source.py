"""The Mastodon source against a real local HTTP server replaying recorded API responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobalerts.sources.base import BUDGET, ERROR, RATE_LIMITED, UNAUTHORIZED
from jobalerts.sources.mastodon import MastodonSource
from jobalerts_local.replay import Recorded, ReplayServer, Route
from tests.conftest import FIXED_NOW
from tests.support import stores

RECORDINGS = Path(__file__).parents[2] / "events" / "sources"
HIRING = "/api/v1/timelines/tag/hiring"


@pytest.fixture
def timeline() -> Iterator[ReplayServer]:
    with ReplayServer(RECORDINGS / "mastodon-timeline") as server:
        yield server


@pytest.fixture
def faults() -> Iterator[ReplayServer]:
    with ReplayServer(RECORDINGS / "mastodon-faults") as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.5)) as http:
        yield http


def source(server: ReplayServer, client: httpx.Client, tags: str) -> MastodonSource:
    return MastodonSource(
        client,
        "mastodon.social",
        tags,
        base_url=server.base_url,
        limit=2,
        retries=2,
        sleep=lambda _: None,
    )


def test_first_run_reads_the_newest_page_of_each_tag_once(
    timeline: ReplayServer, client: httpx.Client
) -> None:
    # Given no checkpoint and two tags whose timelines share a status and hold a boost
    # When the source is fetched
    result = source(timeline, client, "hiring,jobs").fetch(None, max_pages=5, budget=None)
    # Then each tag's newest page is read once, the shared status counted once, the boost and
    # the status without a date dropped, and each stream's checkpoint is its newest id
    assert [p.id for p in result.posts] == ["mastodon#mastodon.social#105"]
    assert result.posts[0].author_bot is True
    assert result.checkpoint == {
        "streams": {"mastodon.social#hiring": "105", "mastodon.social#jobs": "106"}
    }
    assert result.pages == 2
    assert result.reads == 4
    assert result.stopped is None
    assert [r.query for r in timeline.served(HIRING)] == [{"limit": "2"}]


def test_later_runs_page_forward_with_min_id_until_caught_up(
    timeline: ReplayServer, client: httpx.Client
) -> None:
    # Given a checkpoint at status 100 on #hiring
    checkpoint = {"streams": {"mastodon.social#hiring": "100", "mastodon.social#jobs": "106"}}
    # When the source is fetched
    result = source(timeline, client, "hiring,jobs").fetch(checkpoint, max_pages=10, budget=None)
    # Then it follows the Link header's min_id forward until a short page
    assert [r.query.get("min_id") for r in timeline.served(HIRING)] == ["100", "102", "104"]
    assert [p.id.rsplit("#", 1)[1] for p in result.posts] == ["102", "101", "103", "105"]
    # And the status that came without an account is kept with a handle from its URL
    assert {p.author_handle for p in result.posts} >= {"carol@mastodon.social"}
    assert result.checkpoint == {
        "streams": {"mastodon.social#hiring": "105", "mastodon.social#jobs": "106"}
    }
    assert result.stopped is None


def test_each_tag_read_is_committed_before_the_next_and_a_quiet_one_is_not(
    timeline: ReplayServer, client: httpx.Client
) -> None:
    # Given #jobs caught up and #hiring behind, read in the order jobs, hiring, jobs again
    checkpoint = {"streams": {"mastodon.social#hiring": "100", "mastodon.social#jobs": "106"}}
    commits: list[tuple[list[str], dict[str, Any]]] = []
    mastodon = source(timeline, client, "jobs,hiring,remote")
    # When the source is fetched with a commit
    result = mastodon.fetch(
        checkpoint,
        max_pages=10,
        budget=None,
        commit=lambda posts, at: commits.append(([p.id[-3:] for p in posts], at)),
    )
    # Then quiet #jobs commits nothing, and #hiring's posts and position are committed before
    # the last tag is read (the last one's are the run's own, saved when it ends)
    moved = {"mastodon.social#hiring": "105", "mastodon.social#jobs": "106"}
    assert commits == [(["102", "101", "103", "105"], {"streams": moved})]
    assert result.checkpoint is not None
    assert result.checkpoint["streams"]["mastodon.social#hiring"] == "105"


def test_max_pages_stops_at_a_page_boundary_and_the_next_run_continues(
    timeline: ReplayServer, client: httpx.Client
) -> None:
    # Given a checkpoint at 100 and room for two pages per stream
    mastodon = source(timeline, client, "hiring")
    first = mastodon.fetch({"streams": {"mastodon.social#hiring": "100"}}, max_pages=2, budget=None)
    # Then the checkpoint is the newest status of the pages read, not beyond
    assert first.checkpoint == {"streams": {"mastodon.social#hiring": "104"}}
    assert sorted(p.id[-3:] for p in first.posts) == ["101", "102", "103"]
    # When the next run starts from that checkpoint
    second = mastodon.fetch(first.checkpoint, max_pages=2, budget=None)
    # Then it reads what came after, and nothing twice
    assert [p.id[-3:] for p in second.posts] == ["105"]
    assert second.checkpoint == {"streams": {"mastodon.social#hiring": "105"}}


def test_the_read_budget_stops_the_run(timeline: ReplayServer, client: httpx.Client) -> None:
    checkpoint = {"streams": {"mastodon.social#hiring": "100"}}
    result = source(timeline, client, "hiring,jobs").fetch(checkpoint, max_pages=10, budget=2)
    assert result.stopped == BUDGET
    assert result.reads == 2
    assert result.checkpoint == {"streams": {"mastodon.social#hiring": "102"}}


def test_a_500_then_success_is_retried(faults: ReplayServer, client: httpx.Client) -> None:
    # Given a timeline that fails twice (500, then a 502 with an HTML body) and then answers
    result = source(faults, client, "flaky").fetch(None, max_pages=3, budget=None)
    # Then the retries get the page
    assert [p.id for p in result.posts] == ["mastodon#mastodon.social#201"]
    assert len(faults.served("/api/v1/timelines/tag/flaky")) == 3
    assert result.stopped is None


@pytest.mark.parametrize("tag", ["slow", "garbage", "notalist", "gone"])
def test_a_broken_stream_keeps_its_checkpoint_and_the_others_are_read(
    faults: ReplayServer, client: httpx.Client, tag: str
) -> None:
    # Given a stream that times out / sends truncated JSON / sends an object / is not there
    checkpoint = {"streams": {f"mastodon.social#{tag}": "300"}}
    # When the run reads it and then a healthy stream
    result = source(faults, client, f"{tag},flaky").fetch(checkpoint, max_pages=3, budget=None)
    # Then nothing raises, the run says it met an error, the broken stream's checkpoint stays
    assert result.stopped == ERROR
    assert result.checkpoint == {
        "streams": {f"mastodon.social#{tag}": "300", "mastodon.social#flaky": "201"}
    }
    assert [p.id for p in result.posts] == ["mastodon#mastodon.social#201"]


def test_an_empty_page_reads_nothing_and_keeps_the_checkpoint(
    faults: ReplayServer, client: httpx.Client
) -> None:
    result = source(faults, client, "empty").fetch(
        {"streams": {"mastodon.social#empty": "7"}}, max_pages=3, budget=None
    )
    assert result.posts == []
    assert result.checkpoint == {"streams": {"mastodon.social#empty": "7"}}
    assert result.stopped is None
    assert result.pages == 1


def test_a_429_stops_the_run_until_the_reset(faults: ReplayServer, client: httpx.Client) -> None:
    # Given a rate-limited tag read first
    checkpoint = {"streams": {"mastodon.social#limited": "5"}}
    # When fetched
    result = source(faults, client, "limited,flaky").fetch(checkpoint, max_pages=3, budget=None)
    # Then the run stops at once with the reset from X-RateLimit-Reset and nothing moves
    assert result.stopped == RATE_LIMITED
    assert result.resume_after == datetime(2099, 1, 1, 0, 5, tzinfo=UTC)
    assert result.posts == []
    assert result.checkpoint == checkpoint
    assert faults.served("/api/v1/timelines/tag/flaky") == []


def test_a_refused_token_stops_that_instance_and_says_so(
    faults: ReplayServer, client: httpx.Client
) -> None:
    # Given an instance that answers 401 (the access token was revoked) to the first tag
    checkpoint = {"streams": {"mastodon.social#revoked": "5", "mastodon.social#flaky": "9"}}
    # When the run reads its tags
    result = source(faults, client, "revoked,flaky").fetch(checkpoint, max_pages=3, budget=None)
    # Then its other tags are not asked (they would be refused too), nothing moves, and the
    # run says the token was refused, so ingest reads the secret again before the next run
    assert result.stopped == UNAUTHORIZED
    assert faults.served("/api/v1/timelines/tag/flaky") == []
    assert (result.posts, result.checkpoint) == ([], checkpoint)


@pytest.mark.usefixtures("stack")
def test_the_demo_recordings_go_through_ingest_once() -> None:
    from jobalerts import ingest
    from jobalerts_local.settings import get_settings

    with ReplayServer(RECORDINGS / "demo") as server:
        # Given ingest with only Mastodon enabled, pointed at the demo recordings
        settings = get_settings().model_copy(
            update={"enabled_sources": "mastodon", "mastodon_base_url": server.base_url}
        )
        # When it runs twice
        wired = stores.ingest(settings)
        first = ingest.run(FIXED_NOW, settings=settings, credentials={}, **wired)
        second = ingest.run(FIXED_NOW, settings=settings, credentials={}, **wired)
    # Then the #hiring posts are stored once (the boost and the #jobs repeat are not)
    assert first["sources"]["mastodon"]["stored"] == 5
    assert second["sources"]["mastodon"]["stored"] == 0
    stored = stores.posts().get("mastodon#mastodon.social#113520000000000105")
    assert stored is not None
    assert stored.hashtags == ["nursing", "hiring"]
    assert stored.text.startswith("ICU nurses wanted for night shifts at St. Mary's")


# ------------------------------------------------------------------ a reference model of paging

BASE_ID = 113_000_000_000_000_000


def model_status(n: int) -> dict[str, object]:
    sid = str(BASE_ID + n)
    return {
        "id": sid,
        "created_at": "2026-11-23T09:00:00.000Z",
        "url": f"https://mastodon.social/@a/{sid}",
        "uri": f"https://mastodon.social/users/a/statuses/{sid}",
        "content": f"<p>job {n}</p>",
        "account": {"acct": "a", "display_name": "A", "bot": False},
        "tags": [{"name": "hiring"}],
        "reblog": None,
    }


def model_routes(visible: int, flaky: set[int], limit: int) -> list[Route]:
    """What Mastodon answers for `min_id=m`: the `limit` statuses right after m, newest first;
    a min_id in `flaky` fails every attempt of one request first."""
    routes = []
    for m in range(visible + 1):
        page = list(range(m + 1, min(visible, m + limit) + 1))[::-1]
        ok = Recorded(
            200,
            {
                "content-type": "application/json",
                "link": f'<https://mastodon.social{HIRING}?min_id={BASE_ID + (page[0] if page else m)}>; rel="prev"',
            },
            json.dumps([model_status(n) for n in page]).encode(),
        )
        failures = [Recorded(500)] * 3 if m in flaky else []
        routes.append(Route("GET", HIRING, {"min_id": str(BASE_ID + m)}, [*failures, ok]))
    return routes


@pytest.fixture(scope="module")
def model_server() -> Iterator[ReplayServer]:
    with ReplayServer(Path("."), routes=[]) as server:
        yield server


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(start=0, arrivals=[0, 0, 0, 0, 5], pages=[1, 1, 1, 1, 1, 1], flaky={0, 2, 4})
@given(
    start=st.integers(0, 3),
    arrivals=st.lists(st.integers(0, 5), min_size=1, max_size=5),
    pages=st.lists(st.integers(1, 3), min_size=6, max_size=6),
    flaky=st.sets(st.integers(0, 25), max_size=4),
)
def test_paging_never_skips_a_status_whatever_arrives_and_fails(
    model_server: ReplayServer,
    client: httpx.Client,
    start: int,
    arrivals: list[int],
    pages: list[int],
    flaky: set[int],
) -> None:
    # Given a #hiring stream checkpointed at status `start`, statuses arriving between runs,
    # runs with few pages, and requests that fail all their retries once
    returned: list[int] = []
    checkpoint: dict[str, Any] = {"streams": {"mastodon.social#hiring": str(BASE_ID + start)}}
    visible = start
    mastodon = source(model_server, client, "hiring")
    # Then long runs follow until one is not cut short: each flaky page can stop one run (a
    # stream that errors waits for the next run), so "two long runs" is not always enough.
    long_runs = [50] * (len(flaky) + 2)
    for run, max_pages in enumerate([*pages, *long_runs]):
        if run < len(arrivals):
            visible += arrivals[run]
            model_server.routes = model_routes(visible, flaky, limit=2)
        result = mastodon.fetch(checkpoint, max_pages=max_pages, budget=None)
        returned += [int(p.id.rsplit("#", 1)[1]) - BASE_ID for p in result.posts]
        if result.checkpoint is not None:
            checkpoint = result.checkpoint
        saved = int(checkpoint["streams"]["mastodon.social#hiring"]) - BASE_ID
        # Then the checkpoint never passes a status that was not returned
        assert set(range(start + 1, saved + 1)) <= set(returned)
        if run >= max(len(pages), len(arrivals)) and result.stopped is None:
            break
    # And in the end every status after the start came back, each exactly once
    assert sorted(returned) == list(range(start + 1, visible + 1))
