"""The ingest function: scheduled event -> new posts from the replayed X API in the posts table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
import time_machine
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from jobalerts.models import SavedSearch
from jobalerts.store._dynamo import now_iso
from jobalerts_local.replay import ReplayServer, load_routes
from jobalerts_local.runtime import invoke
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack, repo_root
from tests.support import stores
from tests.support.events import load_event

DEMO = repo_root() / "events" / "sources" / "demo"
UNAUTHORIZED = repo_root() / "events" / "sources" / "x-unauthorized"
EVENT_TIME = datetime.fromisoformat(load_event("ingest-scheduled-event.json")["time"])
DEMO_SEARCHES = [
    "python remote -senior",
    '"data engineer" (berlin OR remote)',
    "golang OR rust -crypto",
    "#nursing",
]


@pytest.fixture
def x_stack(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LocalStack, ReplayServer]]:
    """Given the stack, the demo X recordings served locally, and the sources secret filled."""
    # Powertools caches the secret per process too; every test starts cold.
    parameters.clear_caches()
    with ReplayServer(DEMO) as replay:
        monkeypatch.setenv("X_BASE_URL", replay.base_url)
        monkeypatch.setenv("ENABLED_SOURCES", "x")
        get_settings.cache_clear()
        boto3.client("secretsmanager").put_secret_value(
            SecretId=stack.refs["SourceCredentialsSecret"],
            SecretString=json.dumps({"x_bearer_token": "test-token"}),
        )
        searches = stores.searches()
        for number, text in enumerate(DEMO_SEARCHES):
            searches.put(
                SavedSearch(
                    subscriber_id=f"sub{number}",
                    search_id=f"s{number}",
                    query=text,
                    updated_at=now_iso(),
                    created_at=EVENT_TIME - timedelta(days=1),
                )
            )
        yield stack, replay
        get_settings.cache_clear()


def ingest() -> dict[str, Any]:
    result: dict[str, Any] = invoke("ingest", load_event("ingest-scheduled-event.json"))
    return result


@pytest.fixture
def secret_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """GetSecretValue calls made so far, through whichever client: Powertools builds its own,
    so they are counted at botocore's one funnel for API calls (as tests/support/iam.py does)."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        if (service, operation) == ("secretsmanager", "GetSecretValue"):
            calls.append(str(params["SecretId"]))
        return original(client, operation, params)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return lambda: len(calls)


def put_sources_secret(stack: LocalStack, value: dict[str, str]) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.refs["SourceCredentialsSecret"], SecretString=json.dumps(value)
    )


def test_sample_scheduled_event_parses() -> None:
    event = EventBridgeModel.model_validate(load_event("ingest-scheduled-event.json"))
    assert event.detail_type == "Scheduled Event"


def test_ingest_stores_new_posts_and_saves_the_checkpoint(
    x_stack: tuple[LocalStack, ReplayServer],
) -> None:
    # Given the demo searches and two recorded pages of X results
    _, replay = x_stack
    # When the scheduled ingest runs
    summary = ingest()
    # Then every kept post is stored once; the retweet was dropped and the repost is "also posted"
    x = summary["sources"]["x"]
    assert x["reads"] == 11
    assert x["pages"] == 2
    assert x["stored"] == 9
    assert x["near_duplicates"] == 1
    posts = stores.posts()
    original = posts.get("x#1992001000000000012")
    assert original is not None
    assert original.also_posted_by == ["recruiter_jane"]
    assert original.url == "https://x.com/acme_jobs/status/1992001000000000012"
    assert posts.get("x#1992001000000000008") is None  # the retweet
    assert posts.get("x#1992001000000000005") is None  # stored as also_posted_by instead
    # And the posts table holds posts only (the near-duplicate marker lives in the State table)
    table = boto3.resource("dynamodb").Table(get_settings().posts_table)
    assert table.scan(Select="COUNT")["Count"] == 9
    escaped = posts.get("x#1992001000000000011")
    assert escaped is not None
    assert "& Analytics" in escaped.text
    assert "<3" in escaped.text
    # And the checkpoint points at the newest post of the first page
    checkpoint = stores.state().get_checkpoint("x")
    assert checkpoint is not None
    assert checkpoint["floor"] == "1992001000000000012"
    # And the planner sent one merged query, with the fields the Post needs
    first = replay.served("/2/tweets/search/recent")[0].query
    assert first["expansions"] == "author_id"
    assert "-is:retweet" in first["query"]
    assert len(first["query"]) <= 512


def test_second_run_resumes_from_since_id_and_stores_nothing_twice(
    x_stack: tuple[LocalStack, ReplayServer],
) -> None:
    # Given a first run
    _, replay = x_stack
    ingest()
    # When the schedule fires again
    summary = ingest()
    # Then X is asked only for newer posts and nothing is stored again
    assert replay.requests[-1].query["since_id"] == "1992001000000000012"
    assert summary["sources"]["x"]["stored"] == 0
    # And the reads are counted under the month of the run (the event's time, not the wall clock)
    run_month = f"{EVENT_TIME:%Y-%m}"
    assert run_month == "2026-11"
    assert stores.state().reads_used("x", run_month) == 11


def test_missing_credentials_fail_the_source_not_the_run(
    x_stack: tuple[LocalStack, ReplayServer],
) -> None:
    # Given a secret without the X token (as after the first deploy)
    stack, _ = x_stack
    put_sources_secret(stack, {})
    with time_machine.travel(EVENT_TIME, tick=True) as traveller:
        # When ingest runs
        summary = ingest()
        # Then the X source reports the missing credential and no checkpoint is saved
        assert summary["sources"]["x"]["error"] == "MissingCredentials"
        assert stores.state().get_checkpoint("x") is None
        # When the operator fills the secret and the schedule fires again
        put_sources_secret(stack, {"x_bearer_token": "test-token"})
        traveller.shift(timedelta(minutes=5))
        # Then that run sees it, not one an hour after the empty secret was read
        assert ingest()["sources"]["x"]["stored"] == 9


def test_a_warm_instance_reads_the_sources_secret_once_an_hour(
    x_stack: tuple[LocalStack, ReplayServer], secret_reads: Callable[[], int]
) -> None:
    # Given a cold ingest instance (the demo recordings answer every run)
    with time_machine.travel(EVENT_TIME, tick=True) as traveller:
        ingest()
        # When the schedule fires again five minutes later, past Powertools' own cache
        traveller.shift(timedelta(minutes=5))
        second = ingest()
        # Then X was read with the token of the first read, and the secret was read once
        assert "error" not in second["sources"]["x"]
        assert secret_reads() == 1
        # When the run comes an hour after that read
        traveller.shift(timedelta(minutes=55))
        ingest()
        # Then the secret is read again, so a rotated token is picked up within the hour
        assert secret_reads() == 2


def test_a_token_x_refuses_is_read_again_on_the_next_run(
    x_stack: tuple[LocalStack, ReplayServer], secret_reads: Callable[[], int]
) -> None:
    # Given a warm ingest instance that read the secret and stored the demo posts
    stack, replay = x_stack
    with time_machine.travel(EVENT_TIME, tick=True) as traveller:
        ingest()
        before = stores.state().get_checkpoint("x")
        assert before is not None
        # And X now refusing the token it holds (revoked, or rotated by the operator)
        refusals = load_routes(UNAUTHORIZED)
        replay.routes[:0] = refusals
        served = len(replay.requests)
        # When the schedule fires five minutes later
        traveller.shift(timedelta(minutes=5))
        refused = ingest()["sources"]["x"]
        # Then X is asked once, not once per query, and the run stops for X
        assert refused["stopped"] == "unauthorized"
        assert len(replay.requests) == served + 1
        # And the checkpoint has not moved past anything unread
        assert stores.state().get_checkpoint("x") == before
        assert secret_reads() == 1
        # When the operator has put the new token and the schedule fires again
        put_sources_secret(stack, {"x_bearer_token": "rotated-token"})
        del replay.routes[: len(refusals)]
        traveller.shift(timedelta(minutes=5))
        again = ingest()["sources"]["x"]
        # Then that run reads the secret again at once, not an hour later, and X answers
        assert secret_reads() == 2
        assert "stopped" not in again
        assert replay.requests[-1].query["since_id"] == before["floor"]
        # And the runs after it use the value read
        traveller.shift(timedelta(minutes=5))
        ingest()
        assert secret_reads() == 2


def test_demo_recordings_exist() -> None:
    assert any(Path(DEMO).glob("x-*.json"))
