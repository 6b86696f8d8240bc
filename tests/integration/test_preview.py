"""Search previews through the real handlers on moto: posts reach the window through the match
function's stream, and the API, the landing page and the manage page answer from it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from jobalerts.models import Post
from jobalerts.preview import RecentWindow, remember
from jobalerts_local.abuse import stored_items
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.conftest import FIXED_NOW
from tests.integration.test_match_function import Pipeline
from tests.integration.test_subscriptions_api import (
    EMAIL_SUBSCRIPTION,
    api,
    form_post,
    subscribe_and_confirm,
)
from tests.support import stores

FORM_HEADERS = {"content-type": "application/x-www-form-urlencoded"}


def post(pid: str, text: str, hours_ago: float, author: str = "acme") -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        text=text,
        url=f"https://x.com/{author}/status/{pid}",
        created_at=FIXED_NOW - timedelta(hours=hours_ago),
    )


@pytest.fixture
def published(clock: datetime, stack: LocalStack) -> Pipeline:
    """Given posts of the last days published, fed through the real match handler."""
    pipeline = Pipeline(stack)
    pipeline.publish(
        post("1", "Hiring a python developer, remote", 1),
        post("2", "Rust engineer wanted, remote", 2),
        post("3", "python <script>alert(1)</script> berlin", 3, author="globex"),
        post("4", "python data engineer", 30),
        post("5", "python remote, but from last month", 24 * 20),
    )
    return pipeline


def test_the_match_function_keeps_new_posts_in_the_window(published: Pipeline) -> None:
    # When the window's partition of today is read
    chunks = stores.recent().chunks(FIXED_NOW.date().isoformat())
    # Then the batch is there as one compressed chunk, without the post older than the window
    assert [chunk.count for chunk in chunks] == [4]


def test_the_api_counts_matches_per_day_and_lists_the_newest(published: Pipeline) -> None:
    # When a search is previewed through the JSON API
    response = api("POST", "/api/preview", {"query": "python"})
    # Then it answers with the counts of the last 7 UTC days and the newest posts, newest first
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["days"][-2:] == [
        {"date": "2026-11-22", "matches": 1},
        {"date": "2026-11-23", "matches": 2},
    ]
    assert len(body["days"]) == 7
    assert body["total"] == 3
    assert [p["id"] for p in body["newest"]] == ["x#1", "x#3", "x#4"]
    assert body["newest"][0]["url"] == "https://x.com/acme/status/1"


def test_a_malformed_query_is_a_400_with_its_column_and_writes_nothing(
    published: Pipeline,
) -> None:
    # Given what is stored
    before = stored_items()
    # When a malformed query is previewed through the API and the landing page form
    response = api("POST", "/api/preview", {"query": "python (remote"})
    page = api("POST", "/preview", urlencode({"query": "python (remote"}), headers=FORM_HEADERS)
    # Then both refuse it naming the field and column
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {
        "error": json.loads(response["body"])["error"],
        "field": "query",
        "column": 8,
    }
    assert page["statusCode"] == 400
    assert 'id="subscribe-error"' in page["body"]
    assert "(column 8)" in page["body"]
    # And nothing was written (rate counters aside)
    assert stored_items() == before


def test_a_preview_writes_nothing(published: Pipeline) -> None:
    before = stored_items()

    api("POST", "/api/preview", {"query": "python"})
    api("POST", "/preview", urlencode({"query": "remote"}), headers=FORM_HEADERS)

    assert stored_items() == before


def test_the_landing_page_preview_works_as_a_plain_form_post(published: Pipeline) -> None:
    # When the landing page's form is posted to /preview (the Preview button, no JavaScript)
    form = {"email": "ana@example.com", "query": "python", "channel": "email"}
    page = api("POST", "/preview", urlencode(form), headers=FORM_HEADERS)
    # Then the same page comes back with the form kept and the preview below it
    assert page["statusCode"] == 200
    body = page["body"]
    assert 'value="ana@example.com"' in body
    assert 'id="preview"' in body
    assert '<tr data-date="2026-11-23"><td>' in body
    assert body.count("<article>") == 3
    # And the posts are shown like a digest's items, their text escaped
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Open the post on X" in body


def test_the_manage_page_previews_in_the_subscribers_timezone(published: Pipeline) -> None:
    # Given a subscriber in Auckland (UTC+13 in November)
    _, token = subscribe_and_confirm({**EMAIL_SUBSCRIPTION, "timezone": "Pacific/Auckland"})
    # When they preview a search from their manage page
    page = form_post("/manage/preview", token, {"query": "python"})
    # Then the page shows the preview with days in their zone, and their saved searches
    assert page["statusCode"] == 200
    body = page["body"]
    assert 'id="preview"' in body
    assert "Days are in Pacific/Auckland" in body
    # 10:00 UTC on the 23rd is 23:00 in Auckland: the posts of 1-3 hours ago fall on the 23rd,
    # the one of 30 hours ago on the 22nd.
    assert (
        '<tr data-date="2026-11-23"><td><time datetime="2026-11-23">Mon 23 Nov</time></td><td class="count">2</td>'
        in body
    )


def test_the_manage_preview_refuses_a_malformed_query_on_the_page(published: Pipeline) -> None:
    _, token = subscribe_and_confirm()

    page = form_post("/manage/preview", token, {"query": "python OR"})

    assert page["statusCode"] == 400
    assert 'id="search-error"' in page["body"]


def test_previews_are_rate_limited_per_client(
    published: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given at most 2 previews a minute per client
    monkeypatch.setenv("PREVIEW_LIMIT_PER_CLIENT", "2")
    get_settings.cache_clear()
    # When a client previews three times
    answers = [api("POST", "/api/preview", {"query": "python"}) for _ in range(3)]
    # Then the third is refused with Retry-After
    assert [a["statusCode"] for a in answers] == [200, 200, 429]
    assert int(answers[2]["headers"]["Retry-After"]) > 0


def test_a_warm_window_asks_only_todays_partition_and_only_every_half_minute(
    stack: LocalStack,
) -> None:
    # Given a post that arrived an hour ago, and a window that has read it (cold: 9 days)
    repository = stores.recent()
    asked: list[str] = []
    reads = repository.chunks

    def counted(day: str, after: str | None = None, now: datetime | None = None) -> Any:
        asked.append(day)
        return reads(day, after, now)

    repository.chunks = counted  # type: ignore[method-assign]
    remember(repository, [post("1", "python remote", 1)], FIXED_NOW - timedelta(hours=1))
    window = RecentWindow(repository, stores.posts(), clock=lambda: FIXED_NOW)
    assert window.preview("python", now=FIXED_NOW).total == 1
    assert len(asked) == 9
    # When another post arrives, and previews follow 10 seconds and a minute later
    remember(repository, [post("2", "python berlin", 0)], FIXED_NOW)
    asked.clear()
    soon = window.preview("python", now=FIXED_NOW + timedelta(seconds=10))
    later = window.preview("python", now=FIXED_NOW + timedelta(minutes=1))
    # Then the first shares the last look (no read), the second asks today's partition once
    assert (soon.total, later.total) == (1, 2)
    assert asked == [FIXED_NOW.date().isoformat()]
    # And a chunk read again in the overlap is not indexed twice
    window.refresh(FIXED_NOW + timedelta(minutes=2))
    assert len(window.index) == 2
