"""Canonical links, unescaped text and near-duplicate fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobalerts.models import Post
from jobalerts.sources.normalize import canonical_link, fingerprint, job_link, unescape


def post(text: str, links: list[str] | None = None, author: str = "acme") -> Post:
    return Post(
        id=f"x#{abs(hash((text, author)))}",
        source="x",
        author_handle=author,
        text=text,
        url="https://x.com/acme/status/1",
        links=links or [],
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "https://WWW.Jobs.Example/python-dev/?utm_source=x&utm_medium=social#apply",
            "https://jobs.example/python-dev",
        ),
        ("https://jobs.example/a?id=7&fbclid=IwAR&gclid=1&ref=jane", "https://jobs.example/a?id=7"),
        ("https://jobs.example/a?b=2&a=1", "https://jobs.example/a?a=1&b=2"),
        ("http://jobs.example:80/", "http://jobs.example"),
        ("https://jobs.example:8443/x", "https://jobs.example:8443/x"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_link(raw: str, canonical: str) -> None:
    assert canonical_link(raw) == canonical


def test_x_text_is_unescaped_once() -> None:
    assert unescape("R&amp;D &lt;3 &amp;amp;") == "R&D <3 &amp;"


def test_the_job_link_skips_links_back_to_the_microblog() -> None:
    found = job_link(post("x", ["https://x.com/acme/status/1/photo/1", "https://jobs.example/a"]))
    assert found == "https://jobs.example/a"


def test_same_job_link_is_the_same_fingerprint_whatever_the_tracking() -> None:
    # Given a recruiter reposting a company's job with their own tracking parameters
    original = post("We're hiring!", ["https://jobs.example/a?utm_source=x"])
    repost = post("Great role, apply", ["https://www.jobs.example/a/?ref=jane"], author="jane")
    # Then both have one fingerprint
    assert fingerprint(original) == fingerprint(repost)
    assert fingerprint(post("Other", ["https://jobs.example/b"])) != fingerprint(original)


def test_same_long_text_is_a_near_duplicate_even_with_other_mentions_and_links() -> None:
    text = "Senior data engineer wanted in Berlin, Spark and Airflow, apply today"
    first = post(text + " @acme #hiring")
    second = post(text.upper() + " @bob https://x.com/i/1 #hiring", author="bob")
    assert fingerprint(first) is not None
    assert fingerprint(first) == fingerprint(second)


def test_short_texts_without_a_link_have_no_fingerprint() -> None:
    # Two different companies posting "We're hiring!" are not duplicates
    assert fingerprint(post("We're hiring! #jobs")) is None


_SEGMENT = st.text(alphabet="abcxyz019-_", min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    host=st.sampled_from(["Jobs.Example", "www.jobs.example", "JOBS.example:8443"]),
    path=st.lists(_SEGMENT, max_size=3),
    params=st.lists(
        st.tuples(st.sampled_from(["id", "utm_source", "ref", "page", "gclid", "q"]), _SEGMENT),
        max_size=4,
    ),
    fragment=st.sampled_from(["", "#apply", "#top"]),
)
def test_canonical_link_is_idempotent_and_drops_tracking(
    host: str, path: list[str], params: list[tuple[str, str]], fragment: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"https://{host}/{'/'.join(path)}{'?' + query if query else ''}{fragment}"
    once = canonical_link(url)
    assert canonical_link(once) == once
    assert "utm_" not in once
    assert "gclid" not in once
    assert "#" not in once
