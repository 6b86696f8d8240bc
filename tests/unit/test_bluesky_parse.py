"""Bluesky searchPosts hits (as recorded from the API) become Posts; wrecks are dropped."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobalerts.sources.bluesky import (
    Session,
    iso,
    jwt_expiry,
    parse_post,
    sort_time,
    split_queries,
)

RECORDINGS = Path(__file__).parents[2] / "events" / "sources"


def recorded_posts(scenario: str) -> dict[str, dict[str, Any]]:
    posts: dict[str, dict[str, Any]] = {}
    for path in sorted((RECORDINGS / scenario).glob("*.json")):
        for route in json.loads(path.read_text())["routes"]:
            for response in route["responses"]:
                body = response.get("body")
                if isinstance(body, dict) and isinstance(body.get("posts"), list):
                    for post in body["posts"]:
                        if isinstance(post, dict):
                            posts[post["cid"].removeprefix("bafyreib")] = post
    return posts


def test_a_post_with_link_and_tag_facets_becomes_a_post() -> None:
    # Given a hit whose record carries a #tag facet and a link facet with tracking parameters
    hit = recorded_posts("bluesky-search")["3kx3"]
    # When it is parsed
    post = parse_post(hit)
    # Then id, web link, author, text, canonical link, hashtag and language come out
    assert post is not None
    assert post.id == "bluesky#did:plc:acmejobs00000000000000/3kx3"
    assert post.source == "bluesky"
    assert post.url == "https://bsky.app/profile/acme-jobs.bsky.social/post/3kx3"
    assert post.author_handle == "acme-jobs.bsky.social"
    assert post.author_name == "ACME Jobs"
    assert post.text.startswith("We're #hiring a data engineer in Berlin")
    assert post.links == ["https://jobs.acme.example/de/42"]
    assert post.hashtags == ["hiring"]
    assert post.lang == "en"
    assert post.created_at == datetime(2026, 11, 23, 10, 3, tzinfo=UTC)


def test_link_cards_are_links_and_the_first_language_wins() -> None:
    post = parse_post(recorded_posts("bluesky-search")["3kx1"])
    assert post is not None
    assert post.links == ["https://careers.example.org/python-junior"]
    assert post.lang == "en"


def test_a_post_without_text_reads_its_link_card() -> None:
    post = parse_post(recorded_posts("bluesky-search")["3kx0"])
    assert post is not None
    assert post.text == "Site reliability engineer\nBerlin"


def test_a_post_without_author_falls_back_to_its_did() -> None:
    post = parse_post(recorded_posts("bluesky-faults")["3km1"])
    assert post is not None
    assert post.author_handle == "did:plc:acmejobs00000000000000"
    assert post.url == "https://bsky.app/profile/did:plc:acmejobs00000000000000/post/3km1"


def test_posts_without_uri_time_or_any_content_are_dropped() -> None:
    faults = recorded_posts("bluesky-faults")
    assert parse_post(faults["3km2"]) is None  # no record at all
    assert parse_post(faults["3km3"]) is None  # no text, no link
    assert parse_post(faults["3km4"]) is None  # no time
    assert parse_post(recorded_posts("bluesky-search")["3kxz"]) is None  # no uri
    assert parse_post({"uri": "at://did:plc:x/app.bsky.feed.post"}) is None
    assert parse_post({}) is None


def test_sort_time_is_the_earlier_of_created_and_indexed() -> None:
    hit = recorded_posts("bluesky-search")["3kx3"]
    assert iso(sort_time(hit) or datetime.min) == "2026-11-23T10:03:00.000Z"
    assert sort_time({}) is None


def _jwt(claims: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"e30.{payload}.sig"


def test_token_expiry_is_read_from_the_jwt_and_unknown_when_unreadable() -> None:
    assert jwt_expiry(_jwt({"exp": 4102444800})) == datetime(2100, 1, 1, tzinfo=UTC)
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry(_jwt({"sub": "no exp"})) is None


def test_a_session_never_shows_its_tokens() -> None:
    session = Session("did:plc:a", "a.bsky.social", "ACCESS-SECRET", "REFRESH-SECRET")
    assert "SECRET" not in repr(session)
    assert "SECRET" not in str(session)


def test_queries_are_split_on_commas_and_deduplicated() -> None:
    assert split_queries('#hiring, "we\'re hiring",#hiring,,') == ["#hiring", '"we\'re hiring"']


def mention_facet(text: str, written: str, did: str) -> dict[str, Any]:
    start = text.encode().index(written.encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(written.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def test_mentions_come_from_the_facets_with_the_profile_of_their_did() -> None:
    # Given a hit whose text (with a multi-byte character before it) mentions two accounts
    hit = copy.deepcopy(recorded_posts("bluesky-search")["3kx3"])
    text = "Café team hiring: ask @data-lab.bsky.social or @ana.example.com"
    hit["record"]["text"] = text
    hit["record"]["facets"] = [
        mention_facet(text, "@data-lab.bsky.social", "did:plc:datalab000"),
        mention_facet(text, "@ana.example.com", "did:web:ana.example.com"),
        # A facet pointing at plain words, and one with no DID, are not mentions
        mention_facet(text, "team", "did:plc:nobody"),
        {"index": {"byteStart": 0, "byteEnd": 4}, "features": [{"$type": "x"}]},
    ]

    # When it is parsed
    post = parse_post(hit)

    # Then both mentions are known by handle, linked by the DID that names the account
    assert post is not None
    assert post.mentions == ["data-lab.bsky.social", "ana.example.com"]
    assert post.mention_urls == {
        "data-lab.bsky.social": "https://bsky.app/profile/did:plc:datalab000",
        "ana.example.com": "https://bsky.app/profile/did:web:ana.example.com",
    }


def test_a_mention_facet_with_broken_offsets_or_did_is_ignored() -> None:
    hit = copy.deepcopy(recorded_posts("bluesky-search")["3kx3"])
    hit["record"]["text"] = "ask @ana.example.com"
    bad = [
        {"index": {"byteStart": 4, "byteEnd": 400}, "features": [{"did": "did:plc:a"}]},
        {"index": {"byteStart": "4", "byteEnd": 20}, "features": [{"did": "did:plc:a"}]},
        {"index": {"byteStart": 4, "byteEnd": 20}, "features": [{"did": "javascript:x"}]},
    ]
    for facet in bad:
        facet["features"][0]["$type"] = "app.bsky.richtext.facet#mention"
    hit["record"]["facets"] = bad

    post = parse_post(hit)

    assert post is not None
    assert post.mention_urls == {}
