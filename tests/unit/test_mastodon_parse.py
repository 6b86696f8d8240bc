"""Mastodon statuses (as recorded from the API) become Posts; boosts and wrecks do not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jobalerts.sources.mastodon import (
    _split,
    id_key,
    link_params,
    newest_id,
    parse_status,
)

RECORDINGS = Path(__file__).parents[2] / "events" / "sources" / "mastodon-timeline"


def recorded_statuses() -> dict[str, dict[str, Any]]:
    statuses: dict[str, dict[str, Any]] = {}
    for path in sorted(RECORDINGS.glob("*.json")):
        for route in json.loads(path.read_text())["routes"]:
            for response in route["responses"]:
                for status in response.get("body", []):
                    statuses[status["id"]] = status
    return statuses


def test_a_local_status_becomes_a_post_with_a_qualified_handle() -> None:
    # Given a status by a local account with a link carrying tracking parameters
    status = recorded_statuses()["101"]
    # When it is parsed
    post = parse_status(status, "mastodon.social")
    # Then the id is source- and instance-prefixed, the handle names the instance,
    # the HTML is text and the link is canonical
    assert post is not None
    assert post.id == "mastodon#mastodon.social#101"
    assert post.source == "mastodon"
    assert post.author_handle == "acme_jobs@mastodon.social"
    assert post.author_name == "ACME Jobs"
    assert post.url == "https://mastodon.social/@acme_jobs/101"
    assert post.text == (
        "#hiring Junior Python developer, remote (EU)\n"
        "https://jobs.acme.example/101?utm_source=mastodon"
    )
    assert post.links == ["https://jobs.acme.example/101"]
    assert post.hashtags == ["hiring"]
    assert post.lang == "en"
    assert post.created_at.isoformat() == "2026-11-23T09:01:00+00:00"


def test_a_remote_account_keeps_its_own_instance() -> None:
    post = parse_status(recorded_statuses()["102"], "mastodon.social")
    assert post is not None
    assert post.author_handle == "berlin_dev@fosstodon.org"
    assert post.hashtags == ["hiring", "golang"]


def test_bots_are_noted() -> None:
    post = parse_status(recorded_statuses()["105"], "mastodon.social")
    assert post is not None
    assert post.author_bot is True
    assert post.lang == "de"
    assert post.links == ["https://careers.example.org/de/data-engineer"]


def test_boosts_are_skipped() -> None:
    assert parse_status(recorded_statuses()["106"], "mastodon.social") is None


def test_a_status_without_account_takes_the_handle_from_its_url() -> None:
    post = parse_status(recorded_statuses()["103"], "mastodon.social")
    assert post is not None
    assert post.author_handle == "carol@mastodon.social"
    assert post.author_name == ""


def test_a_status_without_date_or_handle_is_dropped_not_raised() -> None:
    assert parse_status(recorded_statuses()["104"], "mastodon.social") is None
    assert parse_status({"id": "1", "created_at": "2026-11-23T09:00:00Z"}, "m.example") is None
    assert parse_status({}, "m.example") is None
    assert (
        parse_status({"id": "1", "created_at": "yesterday", "url": "https://m/@a/1"}, "m") is None
    )


def test_ids_compare_as_numbers() -> None:
    assert id_key("99") < id_key("100")
    assert newest_id(["99", "113000000000000001", "100"]) == "113000000000000001"
    assert newest_id([]) is None


def test_link_header_gives_query_parameters_only() -> None:
    header = (
        '<https://mastodon.social/api/v1/timelines/tag/hiring?max_id=101>; rel="next", '
        '<https://mastodon.social/api/v1/timelines/tag/hiring?min_id=102>; rel="prev"'
    )
    assert link_params(header) == {"next": {"max_id": "101"}, "prev": {"min_id": "102"}}
    assert link_params(None) == {}


def test_settings_lists_are_split_and_cleaned() -> None:
    assert _split(" #Hiring, jobs,,remoteJobs ") == ["hiring", "jobs", "remotejobs"]


def test_a_content_warning_and_the_mentioned_profiles_are_kept() -> None:
    # Given a status behind a content warning that mentions a local and a remote account
    status = copy.deepcopy(recorded_statuses()["101"])
    status["spoiler_text"] = "  job post,\n salary talk "
    status["mentions"] = [
        {"username": "bob", "acct": "bob", "url": "https://mastodon.social/@bob"},
        {"username": "eve", "acct": "eve@hachyderm.io", "url": "https://hachyderm.io/@eve"},
        {"username": "mal", "acct": "mal@evil.example", "url": "javascript:alert(1)"},
    ]

    # When it is parsed
    post = parse_status(status, "mastodon.social")

    # Then the warning is one line, and each mention as written ("@eve") knows its profile
    assert post is not None
    assert post.content_warning == "job post, salary talk"
    assert post.mentions == ["bob", "eve@hachyderm.io", "mal@evil.example"]
    assert post.mention_urls == {
        "bob": "https://mastodon.social/@bob",
        "eve": "https://hachyderm.io/@eve",
    }


def test_a_status_without_a_content_warning_has_none() -> None:
    post = parse_status(recorded_statuses()["102"], "mastodon.social")
    assert post is not None
    assert post.content_warning == ""
