"""The recent-posts window behind search previews: summaries, counts per day, the newest ten,
and agreement with the reference evaluator. Pure logic, fixed times, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobalerts import recent
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


def test_a_longer_phrase_needs_its_words_in_a_row_not_just_each_pair_somewhere() -> None:
    # Given a post with the phrase, one with its first word as a hashtag, and one holding both
    # of its pairs apart
    index = window(
        post("x:1", "senior data engineer wanted", NOW),
        post("x:2", "senior data platform, data engineer", NOW - timedelta(minutes=1)),
        post("x:3", "#senior data engineer", NOW - timedelta(minutes=2)),
    )
    # When the three-word phrase is previewed
    found = index.preview(parse('"senior data engineer"'), NOW, UTC_ZONE)
    # Then the posts with the words in a row match, the hashtag standing for its word
    assert (found.newest, found.total) == (("x:1", "x:3"), 2)


WORDS = ["python", "rust", "remote", "berlin", "data", "engineer", "#hiring", "senior"]
texts = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
queries = st.recursive(
    st.sampled_from(
        [
            *WORDS,
            '"data engineer"',
            '"hiring data"',
            '"#hiring data engineer"',
            '"hiring data engineer"',
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


ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
# Whole minutes from 9 days before NOW to an hour after it: days outside the window, midnights
# in every zone, posts stamped after now, and ties (two posts in the same minute).
minutes_ago = st.integers(min_value=-60, max_value=9 * 24 * 60)


def expected_preview(
    posts: list[Post], query: str, now: datetime, zone: ZoneInfo
) -> tuple[list[tuple[str, int]], list[str]]:
    """Counts per day and the newest ids, straight from the reference evaluator per post."""
    parsed = parse(query)
    today = now.astimezone(zone).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    matched = [
        p
        for p in posts
        if p.created_at <= now
        and p.created_at.astimezone(zone).date().isoformat() in days
        and evaluate(parsed, document(p.text, p.author_handle, p.lang))
    ]
    counts = dict.fromkeys(days, 0)
    for p in matched:
        counts[p.created_at.astimezone(zone).date().isoformat()] += 1
    newest = sorted(matched, key=lambda p: (p.created_at.timestamp(), p.id), reverse=True)
    return list(counts.items()), [p.id for p in newest[:NEWEST]]


# Every term's bitset kept and extended as posts arrive (as the window's common terms are).
@mock.patch.object(recent, "_CACHED_FROM", 1)
@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            texts,
            st.sampled_from(["acme", "globex"]),
            st.sampled_from(["en", "de"]),
            minutes_ago,
        ),
        min_size=1,
        max_size=160,
    ),
    st.lists(queries, min_size=1, max_size=3),
    st.sampled_from(ZONES),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=30 * 60),
)
def test_counts_per_day_and_the_newest_ten_are_the_reference_evaluators_as_the_window_grows(
    rows: list[tuple[str, str, str, int]],
    texts_asked: list[str],
    zone_name: str,
    batches: int,
    later_minutes: int,
) -> None:
    # Given posts spread over nine days (some after now), arriving in a few batches, and queries
    valid = []
    for text in texts_asked:
        try:
            parse(text)
        except QuerySyntaxError:
            continue  # a query that could match every post is refused before any preview
        valid.append(text)
    assume(valid)
    zone = ZoneInfo(zone_name)
    posts = [
        post(f"x:{n}", body, NOW - timedelta(minutes=ago), author, lang)
        for n, (body, author, lang, ago) in enumerate(rows)
    ]
    index = RecentIndex()
    size = -(-len(posts) // batches)
    for start in range(0, len(posts), size):
        # When each batch is added and every query previewed at NOW (so what a query or a
        # calendar kept from an earlier batch is brought up to date, not rebuilt)
        index.add(Summary.of(p) for p in posts[start : start + size])
        seen = posts[: start + size]
        for text in valid:
            found = index.preview(parse(text), NOW, zone)
            # Then each day's count, the total and the newest ten are the reference's
            days, newest = expected_preview(seen, text, NOW, zone)
            assert list(found.days) == days
            assert found.total == sum(count for _, count in days)
            assert list(found.newest) == newest
    # And so they are later on, when the window has moved on by up to a day and more
    later = NOW + timedelta(minutes=later_minutes)
    for text in valid:
        found = index.preview(parse(text), later, zone)
        days, newest = expected_preview(posts, text, later, zone)
        assert (list(found.days), list(found.newest)) == (days, newest)
