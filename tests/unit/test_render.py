"""Rendering digests: escaping hostile posts, the email's parts, and checked-in snapshots.

Snapshots of a sample email live in tests/snapshots/. After an intended change to the
templates, regenerate them with `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest
tests/unit/test_render.py` and review the diff before committing.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobalerts.digests.compose import Digest, compose
from jobalerts.digests.render import DigestLinks, render_email, render_sms, render_web
from jobalerts.models import Channel, PendingMatch, Post, SavedSearch, Subscriber

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
T0 = datetime(2027, 6, 1, 6, 0, tzinfo=UTC)
LINKS = DigestLinks(
    view="https://alerts.example/digests/abc123?t=VIEW",
    manage="https://alerts.example/manage?t=MANAGE",
    unsubscribe="https://alerts.example/unsubscribe?t=UNSUB",
)
SUB = Subscriber(subscriber_id="ana", timezone="Europe/Berlin", created_at=T0)


def search(sid: str, query: str, order: int) -> SavedSearch:
    return SavedSearch(
        subscriber_id="ana",
        search_id=sid,
        query=query,
        updated_at=T0.isoformat(),
        created_at=T0 + timedelta(minutes=order),
    )


def pending(
    pid: int, text: str, *sids: str, author: str = "acme", url: str | None = None
) -> PendingMatch:
    post = Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        author_name=author.title(),
        text=text,
        url=url or f"https://x.com/{author}/status/{pid}",
        created_at=T0 - timedelta(minutes=17 * pid),
    )
    return PendingMatch(
        subscriber_id="ana",
        channel=Channel.EMAIL,
        post=post,
        search_ids=list(sids),
        due_at=T0,
        matched_at=post.created_at,
    )


def digest_of(matches: list[PendingMatch], searches: list[SavedSearch], limit: int = 3) -> Digest:
    result = compose(SUB, Channel.EMAIL, T0, matches, searches, max_per_search=limit)
    assert result.digest is not None
    return result.digest


def sample_digest() -> Digest:
    searches = [search("s1", "python remote", 0), search("s2", '"data engineer"', 1)]
    matches = [
        pending(1, "Hiring: Python developer, fully remote (EU hours). #hiring", "s1"),
        pending(
            2, "We need a Data Engineer in Berlin, Python a plus", "s2", "s1", author="datalab"
        ),
        pending(3, "Remote Python backend role, Django & Postgres", "s1", author="shopco"),
        pending(4, "Python + remote + startup = you? DM us", "s1", author="tinyco"),
        pending(5, "Python SRE, remote-first, on-call 1 week in 6", "s1", author="opsco"),
        pending(6, "Senior data engineer, streaming, remote ok", "s2", author="streamy"),
    ]
    return digest_of(matches, searches)


HOSTILE = (
    'Apply now <script>alert("x")</script> "><img src=x onerror=alert(1)> '
    "\u202egnp.exe\u202c python remote "
    + "A" * 120
    + " https://evil.example/"
    + "very-long-path-" * 20
)


def hostile_digest() -> Digest:
    searches = [search("s1", 'python <b onmouseover="x">remote</b>', 0)]
    matches = [
        pending(1, HOSTILE, "s1", author='"><svg onload=alert(1)>', url="javascript:alert(1)"),
    ]
    return digest_of(matches, searches)


# ---------------------------------------------------------------- hostile text


def test_html_escapes_script_tags_and_attribute_breakouts() -> None:
    html = render_email(hostile_digest(), LINKS).html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert "<svg" not in html
    assert "onerror=alert(1)&gt;" in html
    assert "<b " not in html
    assert "javascript:" not in html


def test_rtl_overrides_are_removed_everywhere() -> None:
    digest = hostile_digest()
    rendered = render_email(digest, LINKS)
    web = render_web(digest, LINKS.view)
    for part in (rendered.subject, rendered.html, rendered.text, web):
        assert "\u202e" not in part
        assert "\u202c" not in part
    assert "gnp.exe" in rendered.text


def test_very_long_words_and_urls_get_break_opportunities() -> None:
    html = render_email(hostile_digest(), LINKS).html
    assert "A" * 20 + "<wbr>" + "A" * 20 in html
    assert "A" * 31 not in html
    assert "https://evil.example<wbr>/very-long-path-very<wbr>-long" in html


def test_matched_terms_are_highlighted_inside_escaped_text() -> None:
    html = render_email(sample_digest(), LINKS).html
    assert "Hiring: <mark>Python</mark> developer, fully <mark>remote</mark> (EU hours)" in html
    assert "Senior <mark>data engineer</mark>, streaming" in html
    hostile = render_email(hostile_digest(), LINKS).html
    # Only <mark>, <wbr> and <br> may appear inside post text, never a tag from the post
    start = hostile.index(">Apply now &lt;script") + 1
    paragraph = hostile[start : hostile.index("</p>", start)]
    assert set(re.findall(r"<(/?\w+)", paragraph)) <= {"mark", "/mark", "wbr", "br"}


def test_the_text_part_is_plain_and_keeps_every_link() -> None:
    text = render_email(sample_digest(), LINKS).text
    assert "<mark>" not in text
    assert "https://x.com/acme/status/1" in text
    assert "Unsubscribe: https://alerts.example/unsubscribe?t=UNSUB" in text
    assert "Manage your searches: https://alerts.example/manage?t=MANAGE" in text


# ---------------------------------------------------------------- what the email shows


def test_posts_are_grouped_by_search_with_time_in_the_subscribers_zone() -> None:
    rendered = render_email(sample_digest(), LINKS)
    assert rendered.subject == '6 new jobs: python remote, "data engineer"'
    text = rendered.text
    assert text.index("== python remote (5) ==") < text.index('== "data engineer" (1) ==')
    assert "@acme (Acme) - Tue 1 Jun, 07:43 CEST - X" in text
    assert 'Also matches: "data engineer"' in text


def test_each_search_shows_at_most_n_with_a_more_link() -> None:
    rendered = render_email(sample_digest(), LINKS)
    assert '+2 more for "python remote": https://alerts.example/digests/abc123?t=VIEW' in (
        rendered.text
    )
    assert "+2 more for" in rendered.html


def test_the_web_view_shows_every_post_and_no_account_links() -> None:
    page = render_web(sample_digest(), LINKS.view)
    assert "opsco" in page
    assert "MANAGE" not in page
    assert "UNSUB" not in page


def test_the_html_is_responsive_inline_styled_and_dark_mode_aware() -> None:
    html = render_email(sample_digest(), LINKS).html
    assert 'name="viewport"' in html
    assert "@media only screen and (max-width: 620px)" in html
    assert "prefers-color-scheme: dark" in html
    assert 'name="color-scheme" content="light dark"' in html
    assert html.count('style="') > 20


def test_the_sms_names_the_searches_and_links_the_web_view() -> None:
    text = render_sms(sample_digest(), "https://alerts.example/d/abc")
    assert text.startswith('jobalerts: 6 new jobs: python remote, "data engineer"')
    assert text.endswith("https://alerts.example/d/abc\nReply STOP to opt out")


# ---------------------------------------------------------------- snapshots


@pytest.mark.parametrize("part", ["html", "txt"])
def test_the_sample_email_matches_its_snapshot(part: str) -> None:
    rendered = render_email(sample_digest(), LINKS)
    body = rendered.html if part == "html" else f"Subject: {rendered.subject}\n\n{rendered.text}"
    path = SNAPSHOTS / f"digest-email.{part}"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    assert body == path.read_text(), "run with UPDATE_SNAPSHOTS=1 to accept an intended change"
