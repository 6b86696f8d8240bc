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


# ---------------------------------------------------------------- fair, useful digests


def social_match(pid: int, text: str, **fields: object) -> PendingMatch:
    """A post from any source; `fields` override the Post's."""
    data: dict[str, object] = {
        "id": f"x#{pid}",
        "source": "x",
        "author_handle": "acme",
        "author_name": "Acme",
        "text": text,
        "url": f"https://x.com/acme/status/{pid}",
        "created_at": T0 - timedelta(minutes=17 * pid),
    }
    data.update(fields)
    post = Post.model_validate(data)
    return PendingMatch(
        subscriber_id="ana",
        channel=Channel.EMAIL,
        post=post,
        search_ids=["s1"],
        due_at=T0,
        matched_at=post.created_at,
    )


def fair_digest(**overrides: object) -> Digest:
    """Four posts from @acme (one with its job ad linked), a Mastodon post behind a content
    warning mentioning a remote account, and a Bluesky post whose mention is a facet."""
    matches = [
        social_match(
            1,
            "Python backend, remote in the EU. Details: https://acme.example/jobs/42 cc @acme_eng",
            links=["https://acme.example/jobs/42"],
            mentions=["acme_eng"],
        ),
        social_match(2, "Python platform engineer, remote, Go a plus"),
        social_match(3, "Python data tooling, remote-first team"),
        social_match(4, "Python intern, remote, summer 2027"),
        social_match(
            5,
            "Remote Python role with @bob, apply by Friday #hiring",
            id="mastodon#hachyderm.io#111",
            source="mastodon",
            author_handle="recruit@hachyderm.io",
            author_name="Recruit",
            url="https://hachyderm.io/@recruit/111",
            mentions=["bob@hachyderm.io"],
            mention_urls={"bob": "https://hachyderm.io/@bob"},
            content_warning="job post, salary talk",
        ),
        social_match(
            6,
            "Python remote at @datalab.bsky.social, small team",
            **{
                "id": "bluesky#did:plc:poster/3k",
                "source": "bluesky",
                "author_handle": "jobs.bsky.social",
                "author_name": "Jobs",
                "url": "https://bsky.app/profile/jobs.bsky.social/post/3k",
                "mentions": ["datalab.bsky.social"],
                "mention_urls": {"datalab.bsky.social": "https://bsky.app/profile/did:plc:datalab"},
                **overrides,
            },
        ),
    ]
    return digest_of(matches, [search("s1", "python remote", 0)], limit=5)


def test_one_account_shows_three_posts_then_more_from_it_in_every_view() -> None:
    # Given a digest with four posts from @acme for one search
    digest = fair_digest()

    # When it is rendered as an email and as the web view
    rendered = render_email(digest, LINKS)
    page = render_web(digest, LINKS.view)

    # Then the email shows @acme three times and links its fourth post on the web view
    assert rendered.html.count('<strong class="fg" dir="auto" style="color:#16191d;">@acme') == 3
    assert "https://x.com/acme/status/4" not in rendered.html
    assert (
        '<a class="link" href="https://alerts.example/digests/abc123?t=VIEW#s1-more-1"'
        in rendered.html
    )
    assert '+1 more from <span dir="auto">@acme</span></a>' in rendered.html
    assert "+1 more from @acme: https://alerts.example/digests/abc123?t=VIEW#s1-more-1" in (
        rendered.text
    )
    # And the web view keeps it folded away under the same anchor, readable without JavaScript
    folded = page[page.index('<details id="s1-more-1">') : page.index("</details>")]
    assert "https://x.com/acme/status/4" in folded
    assert '+1 more from <span dir="auto">@acme</span></summary>' in folded


def test_the_job_ad_is_the_main_action_and_the_post_the_second() -> None:
    rendered = render_email(fair_digest(), LINKS)
    html, text = rendered.html, rendered.text

    job = html.index(
        'href="https://acme.example/jobs/42" style="color:#1a56db;font-weight:600;">View the job'
    )
    post = html.index('href="https://x.com/acme/status/1" style="color:#1a56db;">Post on X</a>')
    assert job < post
    assert text.index("View the job: https://acme.example/jobs/42") < text.index(
        "Post on X: https://x.com/acme/status/1"
    )
    # A post without a job link keeps the post as its one action
    assert "Open the post on Bluesky &rarr;" in html
    web = render_web(fair_digest(), LINKS.view)
    assert '<a class="primary" href="https://acme.example/jobs/42"' in web


def test_a_content_warning_is_a_label_before_the_text() -> None:
    digest = fair_digest()
    html, text = render_email(digest, LINKS).html, render_email(digest, LINKS).text
    web = render_web(digest, LINKS.view)

    for body in (html, web):
        label = body.index('Content warning: <span dir="auto">job post, salary talk</span>')
        assert label < body.index("<mark>Remote</mark> <mark>Python</mark> role")
    assert text.index("[Content warning: job post, salary talk]") < text.index("Remote Python role")


def test_mentions_link_to_the_profiles_the_source_named() -> None:
    html = render_email(fair_digest(), LINKS).html

    # Bluesky: the facet's DID; Mastodon: the profile URL it sent; X: the handle's profile
    assert (
        '<a class="link" href="https://bsky.app/profile/did:plc:datalab" '
        'rel="noopener noreferrer nofollow">@datalab.bsky.social</a>'
    ) in html
    assert 'href="https://hachyderm.io/@bob" rel="noopener noreferrer nofollow">@bob</a>' in html
    assert 'href="https://x.com/acme_eng" rel="noopener noreferrer nofollow">@acme_eng</a>' in html


def test_hostile_warnings_mentions_and_handles_stay_text() -> None:
    # Given a post whose warning, mention profile and handle are hostile
    digest = fair_digest(
        content_warning='<script>alert(1)</script>"><img src=x onerror=alert(2)>',
        mention_urls={"datalab.bsky.social": "javascript:alert(3)"},
        author_handle='"><svg onload=alert(4)>',
    )

    # When it is rendered everywhere
    rendered = render_email(digest, LINKS)
    page = render_web(digest, LINKS.view)

    # Then nothing of it became markup, and the bad profile link is no link at all
    for body in (rendered.html, page):
        assert "<script" not in body
        assert "<img" not in body
        assert "<svg" not in body
        assert "javascript:" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "@datalab.bsky.social</a>" not in body


# ---------------------------------------------------------------- snapshots


SAMPLES = {"digest-email": sample_digest, "digest-email-fair": fair_digest}


@pytest.mark.parametrize("part", ["html", "txt"])
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_the_sample_email_matches_its_snapshot(sample: str, part: str) -> None:
    rendered = render_email(SAMPLES[sample](), LINKS)
    body = rendered.html if part == "html" else f"Subject: {rendered.subject}\n\n{rendered.text}"
    path = SNAPSHOTS / f"{sample}.{part}"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    assert body == path.read_text(), "run with UPDATE_SNAPSHOTS=1 to accept an intended change"


def test_the_fair_web_view_matches_its_snapshot() -> None:
    body = render_web(fair_digest(), LINKS.view)
    path = SNAPSHOTS / "digest-web-fair.html"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(body)
    assert body == path.read_text(), "run with UPDATE_SNAPSHOTS=1 to accept an intended change"
