"""The recent-posts window behind search previews: summaries, counts per day, the newest ten,
and agreement with the reference evaluator. Pure logic, fixed times, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobalerts.models import Post
from jobalerts.query import QuerySyntaxError, document, evaluate, parse
from jobalerts.recent import NEWEST, RecentIndex, Summary, decode, encode

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
UTC_ZONE = ZoneInfo("UTC")


def post(
    post_id: str, text: str, at: datetime, author: str = "acme", lang: str | None = "en"
) -> Post:
    return Post(
        id=post_id,
        source="x",
        author_handle=author,
        text=text,
        created_at=at,
        lang=lang,
        url=f"https://x.com/{author}/status/{post_id}",
    )


def window(*posts: Post) -> RecentIndex:
    index = RecentIndex()
    index.add(Summary.of(p) for p in posts)
    return index


def test_summaries_survive_encoding_and_a_chunk_read_twice_is_indexed_once() -> None:
    # Given two posts summarized and encoded as one chunk
    posts = [post("x:1", "Hiring a #Python dev, remote", NOW), post("x:2", "Rust role", NOW)]
    chunk = encode([Summary.of(p) for p in posts])
    # When the chunk is decoded and added twice (a refresh re-reads an overlap)
    index = RecentIndex()
    first = index.add(decode(chunk))
    second = index.add(decode(chunk))
    # Then the summaries are what was written and each post is held once
    assert decode(chunk) == [Summary.of(p) for p in posts]
    assert (first, second, len(index)) == (2, 0, 2)


def test_matches_are_counted_per_day_of_the_last_seven_days() -> None:
    # Given posts today, yesterday twice, six days ago, and eight days ago (outside the window)
    index = window(
        post("x:1", "python remote", NOW - timedelta(hours=1)),
        post("x:2", "python remote", NOW - timedelta(days=1)),
        post("x:3", "python in berlin", NOW - timedelta(days=1, hours=2)),
        post("x:4", "python remote", NOW - timedelta(days=6)),
        post("x:5", "python remote", NOW - timedelta(days=8)),
        post("x:6", "rust remote", NOW - timedelta(hours=3)),
    )
    # When "python" is previewed at NOW in UTC
    found = index.preview(parse("python"), NOW, UTC_ZONE)
    # Then each of the 7 days ending today has its count, oldest first
    assert found.days == (
        ("2026-11-17", 1),
        ("2026-11-18", 0),
        ("2026-11-19", 0),
        ("2026-11-20", 0),
        ("2026-11-21", 0),
        ("2026-11-22", 2),
        ("2026-11-23", 1),
    )
    # And the total and the posts looked at leave out the one older than the window
    assert (found.total, found.scanned) == (4, 5)


def test_days_are_the_asked_zones_days() -> None:
    # Given a post at 03:00 UTC on Monday: still Sunday evening in New York
    index = window(post("x:1", "python", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)))
    # When previewed in UTC and in New York
    in_utc = index.preview(parse("python"), NOW, UTC_ZONE)
    in_new_york = index.preview(parse("python"), NOW, ZoneInfo("America/New_York"))
    # Then it counts on Monday in one and on Sunday in the other
    assert in_utc.days[-1] == ("2026-11-23", 1)
    assert in_new_york.days[-1] == ("2026-11-23", 0)
    assert in_new_york.days[-2] == ("2026-11-22", 1)


def test_a_post_after_now_is_not_counted() -> None:
    # Given a post stamped in the future (a clock-skewed source)
    index = window(post("x:1", "python", NOW + timedelta(minutes=5)))
    # Then a preview at NOW does not count it
    assert index.preview(parse("python"), NOW, UTC_ZONE).total == 0


def test_the_newest_ten_come_newest_first() -> None:
    # Given twelve matching posts an hour apart and one newer post that does not match
    posts = [post(f"x:{n:02d}", "python job", NOW - timedelta(hours=n)) for n in range(12)]
    index = window(*posts, post("x:new", "rust job", NOW))
    # When previewed
    found = index.preview(parse("python"), NOW, UTC_ZONE)
    # Then the ten newest matches come back, newest first
    assert found.newest == tuple(f"x:{n:02d}" for n in range(NEWEST))
    assert found.total == 12


def test_phrases_negations_operators_and_hashtags_follow_the_query_language() -> None:
    index = window(
        post("x:1", "Senior data engineer, Berlin", NOW, author="acme"),
        post("x:2", "engineer for data, remote", NOW, author="acme"),
        post("x:3", "We are #hiring a data engineer", NOW, author="Globex", lang="de"),
    )

    def ids(text: str) -> set[str]:
        found = index.preview(parse(text), NOW, UTC_ZONE)
        return set(found.newest)

    assert ids('"data engineer"') == {"x:1", "x:3"}
    assert ids('"data engineer" -senior') == {"x:3"}
    assert ids("hiring") == {"x:3"}
    assert ids("from:globex") == {"x:3"}
    assert ids("lang:en engineer") == {"x:1", "x:2"}
    assert ids("engineer -berlin") == {"x:2", "x:3"}
    assert ids("remote OR berlin") == {"x:1", "x:2"}


WORDS = ["python", "rust", "remote", "berlin", "data", "engineer", "#hiring", "senior"]
texts = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
queries = st.recursive(
    st.sampled_from(
        [
            *WORDS,
            '"data engineer"',
            '"hiring data"',
            '"#hiring data engineer"',
            "from:acme",
            "lang:en",
        ]
    ),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        inner.map(lambda q: f"-{q}" if not q.startswith("-") else q),
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(texts, st.sampled_from(["acme", "globex"]), st.sampled_from(["en", "de"])),
        max_size=12,
    ),
    queries,
)
def test_the_window_answers_what_the_reference_evaluator_answers(
    rows: list[tuple[str, str, str]], text: str
) -> None:
    # Given posts of the last hours, and any query of the language
    posts = [
        post(f"x:{n}", body, NOW - timedelta(minutes=n), author, lang)
        for n, (body, author, lang) in enumerate(rows)
    ]
    try:
        query = parse(text)
    except QuerySyntaxError:
        assume(False)  # a query that could match every post is refused before any preview
        return
    # When the window is asked
    found = window(*posts).preview(query, NOW, UTC_ZONE)
    # Then it matches exactly the posts the reference evaluator matches
    expected = [p.id for p in posts if evaluate(query, document(p.text, p.author_handle, p.lang))]
    assert found.total == len(expected)
    assert list(found.newest) == expected[:NEWEST]
