"""Canonical links and near-duplicate keys: one module for ingest and digests."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobalerts.identity import (
    canonical_link,
    fingerprint,
    fingerprints,
    is_social,
    job_identity,
    text_words,
)
from jobalerts.models import Post

T0 = datetime(2026, 11, 23, tzinfo=UTC)
LINK = "https://jobs.example/openings/4711"


def post(text: str, links: list[str] | None = None, author: str = "acme", n: int = 1) -> Post:
    return Post(
        id=f"x#{n}",
        source="x",
        author_handle=author,
        text=text,
        url=f"https://x.com/{author}/status/{n}",
        links=links or [],
        created_at=T0,
    )


# ---------------------------------------------------------------- canonical links


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
        ("https://jobs.example:443/x", "https://jobs.example/x"),
        ("https://jobs.example:8443/x", "https://jobs.example:8443/x"),
        ("HTTPS://Jobs.Example/A/B/", "https://jobs.example/A/B"),
        ("  https://jobs.example/a  ", "https://jobs.example/a"),
        ("not a url", "not a url"),
        ("mailto:jobs@acme.example", "mailto:jobs@acme.example"),
        ("https://jobs.example/a?id=&ref=", "https://jobs.example/a?id="),
        ("/relative/path", "/relative/path"),
    ],
)
def test_canonical_link(raw: str, canonical: str) -> None:
    assert canonical_link(raw) == canonical


@pytest.mark.parametrize("raw", ["http://a.com:99999", "http://[::1", "http://[::1/x", "http://"])
def test_a_malformed_link_is_kept_as_written_and_never_raises(raw: str) -> None:
    assert canonical_link(raw) == raw
    assert job_identity(raw) is None
    assert is_social(raw) is False


def test_links_back_to_the_microblog_are_social() -> None:
    assert is_social("https://x.com/acme/status/1/photo/1")
    assert is_social("https://WWW.Twitter.com/acme")
    assert not is_social("https://jobs.example/a")


# ---------------------------------------------------------------- which links name one job


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.example/careers",
        "https://acme.example/careers/",
        "https://www.acme.example/jobs?utm_source=x",
        "https://acme.example/en/careers/apply",
        "https://acme.example/join-us",
        "https://acme.example/careers/open-positions",
        "https://acme.example/careers/engineering",
        "https://acme.example/?lang=en",
        "https://boards.greenhouse.example/acme",
        "https://boards.greenhouse.example/acme/jobs",
        "https://indeed.example",
        "https://linktr.ee/acme_jobs",
        "https://x.com/acme/status/12345",
        "https://t.co/Ab12",
    ],
)
def test_pages_shared_by_every_job_are_not_a_jobs_identity(url: str) -> None:
    assert job_identity(url) is None


@pytest.mark.parametrize(
    ("url", "identity"),
    [
        ("https://www.acme.example/jobs/42?utm_medium=x&id=7#apply", "acme.example/jobs/42?id=7"),
        ("https://jobs.example/python-dev", "jobs.example/python-dev"),
        (
            "https://acme.example/jobs/senior-python-engineer/apply",
            "acme.example/jobs/senior-python-engineer/apply",
        ),
        (
            "https://boards.greenhouse.example/acme/jobs/4012345",
            "boards.greenhouse.example/acme/jobs/4012345",
        ),
        ("https://indeed.example/viewjob?jk=3f1b", "indeed.example/viewjob?jk=3f1b"),
        ("http://acme.example/careers?job=42", "acme.example/careers?job=42"),
        ("https://acme.example:8443/jobs/42", "acme.example:8443/jobs/42"),
    ],
)
def test_links_that_name_one_job_are_its_identity(url: str, identity: str) -> None:
    assert job_identity(url) == identity


# ---------------------------------------------------------------- keys


def test_two_jobs_linking_the_same_careers_page_keep_their_own_keys() -> None:
    # Given a company's account posting two different jobs, each linking its careers page
    first = post("We're hiring a Python engineer in Berlin", ["https://acme.example/careers"])
    second = post("We're hiring a nurse in Leeds", ["https://acme.example/careers/"], n=2)
    # Then they are not near-duplicates of each other
    assert fingerprint(first) != fingerprint(second)


def test_the_same_job_link_is_one_key_whatever_the_text_and_tracking() -> None:
    original = post("We're hiring!", ["https://jobs.example/a-1?utm_source=x"])
    repost = post("Great role, apply", ["https://www.jobs.example/a-1/?ref=jane"], "jane", 2)
    assert fingerprint(original) == fingerprint(repost)
    assert fingerprint(post("We're hiring!", ["https://jobs.example/a-2"])) != fingerprint(original)


def test_the_first_link_that_names_a_job_is_the_key() -> None:
    links = ["https://x.com/acme/status/1/photo/1", "https://acme.example/careers"]
    job = "https://jobs.example/openings/4711"
    assert fingerprint(post("hiring", [*links, job])) == fingerprint(post("other", [job]))


def test_the_same_long_text_is_one_key_whatever_the_mentions_links_and_case() -> None:
    text = "Senior data engineer wanted in Berlin, Spark and Airflow, apply today"
    first = post(text + " @acme #hiring")
    second = post(text.upper() + " @bob https://x.com/i/1 #Hiring", author="bob")
    assert fingerprint(first) is not None
    assert fingerprint(first) == fingerprint(second)


def test_a_retweet_like_copy_has_the_key_of_the_original() -> None:
    text = "Hiring a senior python engineer, remote across Europe"
    assert fingerprint(post(f"RT @acme: {text}", author="bob")) == fingerprint(post(text))


def test_job_market_terms_stay_distinct_words() -> None:
    assert text_words("Senior C++ engineer, C# or .NET @acme #Remote https://t.co/x") == [
        "senior",
        "c++",
        "engineer",
        "c#",
        "or",
        ".net",
        "remote",
    ]


def test_five_words_are_too_few_to_be_specific_and_six_are_enough() -> None:
    # "We're" is two words (we, re): the boundary is counted in words, not characters
    assert fingerprint(post("one two three four five")) is None
    assert fingerprint(post("one two three four five six")) is not None
    assert fingerprint(post("RT @acme: one two three four five")) is None
    # and a post without a near-duplicate key is filed in the sent log under its own id
    assert fingerprints(post("We're hiring! #jobs")) == ("p3a139580eeedf4d06c158f79",)
    assert fingerprints(post("We're hiring! #jobs", n=2)) != fingerprints(post("We're hiring!"))
    assert fingerprints(post("Hiring now", n=3)) == fingerprints(post("We're hiring!", n=3))


def test_golden_keys() -> None:
    # Pinned: sent logs and ingest markers store these; a change resends or re-stores posts.
    assert fingerprint(post("one two three four five six")) == "ta172f56dc27e5d4cf0d1c9c3"
    assert fingerprint(post("x", [LINK])) == "l8bdd43d7b57f5d3fe86a5196"
    assert fingerprints(post("x", [LINK])) == ("l8bdd43d7b57f5d3fe86a5196",)


# ---------------------------------------------------------------- properties

_WORD = st.from_regex(r"[a-z]{3,9}", fullmatch=True)
_NAME = st.lists(_WORD, min_size=1, max_size=3).map(" ".join)
_LINK_KIND = st.sampled_from(["job", "careers", "hub", "board", "apply", "none"])
_TRACKING = st.lists(
    st.sampled_from(["utm_source=x", "utm_medium=social", "ref=jane", "fbclid=Iw1", "gclid=7"]),
    min_size=1,
    max_size=3,
)


def _slug(text: str) -> str:
    return re.sub(r"\W+", "-", text).strip("-")


def _job(title: str, place: str, company: str, kind: str, n: int = 1) -> Post:
    """A job post as companies write them, linking the kind of page `kind` names."""
    text = f"{company} is hiring: {title} in {place}. Apply now!"
    host = f"{_slug(company)}.example"
    link = {
        "job": f"https://{host}/jobs/{_slug(title)}/{_slug(place)}/4711",
        "careers": f"https://{host}/careers",
        "hub": f"https://linktr.ee/{_slug(company)}",
        "board": "https://jobs.example/",
        "apply": f"https://{host}/careers/apply",
        "none": None,
    }[kind]
    return post(text, [link] if link else [], author=_slug(company).replace("-", "_"), n=n)


@settings(max_examples=300, deadline=None)
@given(
    first=st.tuples(_NAME, _NAME, _NAME),
    second=st.tuples(_NAME, _NAME, _NAME),
    kinds=st.tuples(_LINK_KIND, _LINK_KIND),
)
def test_posts_for_different_jobs_never_share_a_key(
    first: tuple[str, str, str], second: tuple[str, str, str], kinds: tuple[str, str]
) -> None:
    # Given two posts that differ in title, place or company
    if first == second:
        return
    a, b = _job(*first, kinds[0]), _job(*second, kinds[1], n=2)
    # Then no key of one is a key of the other
    assert not set(fingerprints(a)) & set(fingerprints(b))


@settings(max_examples=300, deadline=None)
@given(job=st.tuples(_NAME, _NAME, _NAME), kind=_LINK_KIND, tracking=_TRACKING)
def test_copies_of_one_job_always_share_its_key(
    job: tuple[str, str, str], kind: str, tracking: list[str]
) -> None:
    original = _job(*job, kind)
    key = fingerprint(original)
    assert key is not None
    # A repost by another account
    repost = post(original.text, list(original.links), author="recruiter", n=2)
    # A retweet-like copy
    copy = post(f"RT @{original.author_handle}: {original.text}", list(original.links), "b", 3)
    # The same job link with tracking parameters (and another spelling of the host)
    tracked = [
        link.replace("https://", "https://WWW.")
        + ("&" if "?" in link else "?")
        + "&".join(tracking)
        for link in original.links
    ]
    retracked = post(original.text, tracked, author="jane", n=4)
    assert fingerprint(repost) == key
    assert fingerprint(copy) == key
    assert fingerprint(retracked) == key


@settings(max_examples=200, deadline=None)
@given(
    host=st.sampled_from(["Jobs.Example", "www.jobs.example", "JOBS.example:8443"]),
    path=st.lists(st.text(alphabet="abcxyz019-_", min_size=1, max_size=6), max_size=3),
    params=st.lists(
        st.tuples(
            st.sampled_from(["id", "utm_source", "ref", "page", "gclid", "q"]),
            st.text(alphabet="abcxyz019-_", min_size=1, max_size=6),
        ),
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
    assert job_identity(once) == job_identity(url)
    assert "utm_" not in once
    assert "gclid" not in once
    assert "#" not in once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_no_text_makes_canonical_link_raise(raw: str) -> None:
    for url in (raw, "http://" + raw, "https://[" + raw):
        canonical_link(url)
        job_identity(url)
        is_social(url)
