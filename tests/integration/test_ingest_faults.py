"""ingest.run when things go wrong: rate limits, budgets, storage failures, a broken source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from jobalerts import ingest
from jobalerts.models import SavedSearch
from jobalerts.store._dynamo import now_iso
from jobalerts_local.replay import ReplayServer
from jobalerts_local.settings import Settings
from jobalerts_local.template import LocalStack, repo_root
from tests.support import stores

RECORDINGS = repo_root() / "events" / "sources"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN = {"x_bearer_token": "test-token"}


@pytest.fixture
def searches(stack: LocalStack) -> LocalStack:
    stores.searches().put(
        SavedSearch(
            subscriber_id="sub",
            search_id="s1",
            query="python remote",
            updated_at=now_iso(),
            created_at=NOW,
        )
    )
    return stack


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5) as http:
        yield http


def run(
    scenario: str, client: httpx.Client, now: datetime = NOW, **settings: Any
) -> dict[str, Any]:
    # The recorded rate-limit resets are relative to the run's own time, not the wall clock.
    with ReplayServer(RECORDINGS / scenario, clock=now.timestamp) as replay:
        config = Settings(x_base_url=replay.base_url, enabled_sources="x", **settings)
        return ingest.run(
            now, settings=config, client=client, credentials=TOKEN, **stores.ingest(config)
        )


def test_429_pauses_the_source_until_the_reset(searches: LocalStack, client: httpx.Client) -> None:
    # Given X answers 429 with a reset 15 minutes away
    summary = run("x-rate-limited", client)
    # Then the run stops, remembers when to resume, and stores nothing
    x = summary["sources"]["x"]
    assert x["stopped"] == "rate_limited"
    pause = stores.state().get_pause("x")
    assert pause is not None
    assert pause["resume_after"] == x["resume_after"]
    assert datetime.fromisoformat(pause["resume_after"]) == NOW + timedelta(minutes=15)
    # When the schedule fires again before the reset
    again = run("x-pagination", client, now=NOW + timedelta(minutes=14, seconds=59))
    # Then the source is skipped without calling X
    assert again["sources"]["x"]["skipped"] == "rate_limited"
    assert again["stored"] == 0
    # And after the reset it reads again
    later = run("x-pagination", client, now=NOW + timedelta(minutes=15))
    assert later["sources"]["x"]["stored"] == 9


def test_posts_read_before_a_429_are_stored_and_reread_later_without_duplicates(
    searches: LocalStack, client: httpx.Client
) -> None:
    first = run("x-rate-limited-page-2", client)
    assert first["sources"]["x"]["stored"] == 5
    checkpoint = stores.state().get_checkpoint("x")
    assert checkpoint is not None
    assert checkpoint["since"] == {}  # page two was never read: do not move past it
    later = run("x-pagination", client, now=NOW + timedelta(hours=1))
    assert later["sources"]["x"]["stored"] == 4
    assert later["sources"]["x"]["duplicates"] == 5


def test_a_token_refused_mid_run_keeps_what_was_read_and_rereads_the_secret(
    searches: LocalStack, client: httpx.Client
) -> None:
    # Given the warm instance's credentials, and X refusing its token from page two on
    reads: list[bool] = []

    def read(fresh: bool) -> dict[str, str]:
        reads.append(fresh)
        return TOKEN

    credentials = ingest.SourceCredentials(read)
    with ReplayServer(RECORDINGS / "x-unauthorized-page-2", clock=NOW.timestamp) as replay:
        config = Settings(x_base_url=replay.base_url, enabled_sources="x")
        # When ingest runs
        summary = ingest.run(
            NOW, settings=config, client=client, credentials=credentials, **stores.ingest(config)
        )
    # Then the run stops for X and says why
    x = summary["sources"]["x"]
    assert x["stopped"] == "unauthorized"
    # And page one is stored and its reads counted, but the checkpoint does not move past page two
    assert x["stored"] == 5
    assert stores.state().reads_used("x", f"{NOW:%Y-%m}") == 6
    checkpoint = stores.state().get_checkpoint("x")
    assert checkpoint is not None
    assert checkpoint["since"] == {}
    # And the next run reads the secret again, past every cache
    credentials.get()
    assert reads == [False, True]
    # And, with a token X accepts, it reads the rest and stores nothing twice
    later = run("x-pagination", client, now=NOW + timedelta(minutes=5))
    assert later["sources"]["x"]["stored"] == 4
    assert later["sources"]["x"]["duplicates"] == 5


def test_a_storage_failure_leaves_the_checkpoint_where_it_was(
    searches: LocalStack, client: httpx.Client
) -> None:
    # Given the posts table is gone (a failing write)
    boto3.client("dynamodb").delete_table(TableName=searches.refs["PostsTable"])
    # When ingest reads posts it cannot store
    summary = run("x-pagination", client)
    # Then the source fails and no checkpoint is saved past the posts it lost
    assert summary["sources"]["x"]["error"]
    assert stores.state().get_checkpoint("x") is None


def test_monthly_budget_stops_x_until_next_month(
    searches: LocalStack, client: httpx.Client
) -> None:
    # Given the month's budget is nearly used up
    stores.state().add_reads("x", f"{NOW:%Y-%m}", 95)
    # When a run reads
    summary = run("x-pagination", client, x_monthly_read_budget=100)
    # Then it stops on budget before reading anything (5 left, X's minimum page is 10)
    assert summary["sources"]["x"]["stopped"] == "budget"
    assert summary["sources"]["x"]["reads"] == 0
    # And once the budget is spent the source is skipped this month
    stores.state().add_reads("x", f"{NOW:%Y-%m}", 5)
    assert run("x-pagination", client, x_monthly_read_budget=100)["sources"]["x"]["skipped"] == (
        "budget"
    )
    # And next month it reads again
    next_month = NOW + timedelta(days=10)
    again = run("x-pagination", client, now=next_month, x_monthly_read_budget=100)["sources"]["x"]
    assert "skipped" not in again
    assert again["reads"] == 11


def test_per_run_budget_caps_reads(searches: LocalStack, client: httpx.Client) -> None:
    summary = run("x-pagination", client, x_run_read_budget=12)
    x = summary["sources"]["x"]
    assert x["stopped"] == "budget"
    assert x["reads"] <= 12
    assert stores.state().reads_used("x", f"{NOW:%Y-%m}") == x["reads"]


def test_one_failing_source_does_not_stop_the_others(
    searches: LocalStack, client: httpx.Client, tmp_path: Path
) -> None:
    # Given a source whose module does not exist and a working X
    with ReplayServer(RECORDINGS / "x-pagination") as replay:
        config = Settings(x_base_url=replay.base_url, enabled_sources="nosuch,x")
        summary = ingest.run(
            NOW, settings=config, client=client, credentials=TOKEN, **stores.ingest(config)
        )
    assert summary["sources"]["nosuch"]["error"] == "ConfigurationError"
    assert summary["sources"]["x"]["stored"] == 9


def test_the_plan_is_cached_and_rebuilt_when_searches_change(
    searches: LocalStack, client: httpx.Client
) -> None:
    run("x-empty", client)
    plan = stores.state().get_plan("x")
    assert plan is not None
    assert "python" in json.dumps(plan["value"]["clauses"])
    stores.searches().put(
        SavedSearch(
            subscriber_id="sub2",
            search_id="s2",
            query="#nursing",
            updated_at=now_iso(),
            created_at=NOW,
        )
    )
    run("x-empty", client)
    plan = stores.state().get_plan("x")
    assert plan is not None
    assert ["#nursing"] in plan["value"]["clauses"]


def test_searches_of_unconfirmed_subscribers_cost_no_reads(
    searches: LocalStack, client: httpx.Client
) -> None:
    # Given a sign-up nobody confirmed, whose search is not live
    stores.searches().put(
        SavedSearch(
            subscriber_id="stranger",
            search_id="s9",
            query="#cryptojobs",
            live=False,
            updated_at=now_iso(),
            created_at=NOW,
        )
    )

    # When ingest plans its X queries
    run("x-empty", client)

    # Then only the live search is read for
    plan = stores.state().get_plan("x")
    assert plan is not None
    clauses = json.dumps(plan["value"]["clauses"])
    assert "python" in clauses
    assert "cryptojobs" not in clauses


def test_nothing_is_stored_twice_across_runs(searches: LocalStack, client: httpx.Client) -> None:
    run("x-pagination", client)
    # The same pages again (a checkpoint lost, a retried invocation)
    stores.state().put_checkpoint("x", {})
    again = run("x-pagination", client)
    assert again["sources"]["x"]["stored"] == 0
    post = stores.posts().get("x#1992001000000000012")
    assert post is not None
    assert post.also_posted_by == ["recruiter_jane"]
