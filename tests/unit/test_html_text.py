"""Mastodon status HTML becomes the text a reader sees, plus the links worth following."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jobalerts.sources.html_text import html_to_text

MASTODON_CONTENT = (
    '<p>We&#39;re <a href="https://mastodon.social/tags/hiring" class="mention hashtag" '
    'rel="tag">#<span>hiring</span></a> a Python dev &amp; SRE<br />Apply: '
    '<a href="https://jobs.acme.example/123?utm_source=mastodon" target="_blank" '
    'rel="nofollow noopener noreferrer"><span class="invisible">https://</span>'
    '<span class="ellipsis">jobs.acme.example/123</span>'
    '<span class="invisible">?utm_source=mastodon</span></a></p>'
    '<p>cc <span class="h-card"><a href="https://mastodon.social/@bob" class="u-url mention">'
    "@<span>bob</span></a></span></p>"
)


def test_paragraphs_and_breaks_become_newlines() -> None:
    # Given a status with two paragraphs and a <br>
    # When it is converted
    result = html_to_text(MASTODON_CONTENT)
    # Then entities are decoded, <br> is a newline and paragraphs are separated by a blank line
    assert result.text == (
        "We're #hiring a Python dev & SRE\n"
        "Apply: https://jobs.acme.example/123?utm_source=mastodon\n\n"
        "cc @bob"
    )


def test_links_keep_hrefs_but_not_hashtags_or_mentions() -> None:
    result = html_to_text(MASTODON_CONTENT)
    assert result.links == ["https://jobs.acme.example/123?utm_source=mastodon"]


def test_repeated_links_are_listed_once_and_non_web_links_ignored() -> None:
    html = (
        '<a href="https://a.example/x">one</a> <a href="https://a.example/x">again</a> '
        '<a href="mailto:jobs@a.example">mail</a> <a>no href</a>'
    )
    assert html_to_text(html).links == ["https://a.example/x"]


def test_scripts_and_styles_are_not_text() -> None:
    assert html_to_text("<p>hi</p><script>alert(1)</script><style>p{}</style>").text == "hi"


def test_broken_or_empty_html_does_not_raise() -> None:
    assert html_to_text("").text == ""
    assert html_to_text("<p>unclosed <a href='https://x.example'>link").text == "unclosed link"
    assert html_to_text("<p>unclosed <a href='https://x.example'>link").links == [
        "https://x.example"
    ]


@given(st.text())
def test_any_input_gives_stripped_text_without_tags_of_its_own(raw: str) -> None:
    # Given arbitrary text (as plain content, angle brackets escaped)
    escaped = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    result = html_to_text(f"<p>{escaped}</p>")
    # Then the result never starts or ends with whitespace and never gains links
    assert result.text == result.text.strip()
    assert result.links == []
