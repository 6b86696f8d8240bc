"""Turning one X API v2 tweet into a Post."""

from __future__ import annotations

import httpx

from jobalerts.sources.x import XSource

USERS = {"7": {"id": "7", "username": "acme_jobs", "name": "Acme Jobs"}}


def parse(text: str, urls: list[dict[str, str]]) -> str:
    with httpx.Client() as client:
        source = XSource(client=client, base_url="http://x.test", token="t", queries=list)
        tweet = {
            "id": "42",
            "author_id": "7",
            "created_at": "2026-11-23T10:00:00.000Z",
            "text": text,
            "entities": {"urls": urls},
        }
        post = source._post(tweet, USERS)
    assert post is not None
    return post.text


def test_an_expanded_link_keeps_its_ampersands_while_the_text_is_unescaped() -> None:
    # Given a tweet with escaped text and a t.co link to a URL full of &reg, &sect, &not...
    target = "https://jobs.example/apply?id=42&region=emea&section=it&notify=1&para=2&times=3"
    text = parse(
        "R&amp;D role &lt;remote&gt; https://t.co/abc",
        [{"url": "https://t.co/abc", "expanded_url": target}],
    )
    # Then the text is unescaped once and the link is exactly the expanded one
    assert text == f"R&D role <remote> {target}"
