"""`jobalerts fetch`: normalized posts from a source as JSON lines, against the replay server."""

from __future__ import annotations

import json

import pytest

from jobalerts.models import Post
from jobalerts_local.cli import main
from jobalerts_local.replay import ReplayServer
from jobalerts_local.template import repo_root

RECORDINGS = repo_root() / "events" / "sources"


def test_fetch_x_prints_one_post_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a token in the environment and the recorded X pages
    monkeypatch.setenv("X_BEARER_TOKEN", "local-token")
    with ReplayServer(RECORDINGS / "demo") as replay:
        # When fetching with a saved search and two pages
        code = main(
            [
                "fetch",
                "x",
                "--base-url",
                replay.base_url,
                "--query",
                "python remote",
                "--max-pages",
                "2",
            ]
        )
        sent = replay.requests[0].query["query"]
    # Then each line is a Post, as ingest would store it
    out, err = capsys.readouterr()
    posts = [Post.model_validate(json.loads(line)) for line in out.splitlines()]
    assert code == 0
    assert len(posts) == 10
    assert posts[0].url.startswith("https://x.com/")
    assert sent.startswith("((python remote))")
    assert "10 posts, 11 read, 2 pages" in err


def test_missing_credential_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    code = main(["fetch", "x", "--base-url", "http://127.0.0.1:9"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.strip() == "jobalerts fetch: x needs X_BEARER_TOKEN in the environment"


def test_missing_bluesky_password_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLUESKY_HANDLE", "me.bsky.social")
    monkeypatch.delenv("BLUESKY_APP_PASSWORD", raising=False)
    assert main(["fetch", "bluesky"]) == 2
    assert "BLUESKY_APP_PASSWORD" in capsys.readouterr().err


def test_an_unreachable_api_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "local-token")
    with ReplayServer(RECORDINGS / "x-server-down") as replay:
        code = main(["fetch", "x", "--base-url", replay.base_url])
    assert code == 1
    assert "stopped: error" in capsys.readouterr().err


def test_a_refused_token_is_reported_and_fails_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a token X refuses
    monkeypatch.setenv("X_BEARER_TOKEN", "revoked-token")
    with ReplayServer(RECORDINGS / "x-unauthorized") as replay:
        # When the operator fetches with it
        code = main(["fetch", "x", "--base-url", replay.base_url])
    # Then the command fails and says why, without the token
    assert code == 1
    err = capsys.readouterr().err
    assert "stopped: unauthorized" in err
    assert "revoked-token" not in err


def test_plan_prints_the_x_queries_and_their_estimated_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "python remote -senior", "#nursing", "golang OR rust -crypto"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == [
        "(#nursing OR (python remote) OR golang OR rust) (hiring OR #hiring OR #jobopening OR"
        ' #nowhiring OR "we\'re hiring" OR #job OR #jobs OR vacancy OR "apply now" OR'
        ' "job opening") -is:retweet'
    ]
    assert err.startswith("1 X queries for 3 searches (0 fallback); ~")
