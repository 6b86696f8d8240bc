"""The Matcher's bookkeeping: shared clauses, crowded keys, huge queries, removal and sharding.

The property tests cover random queries; these pin down the paths that need many searches of
one shape before they are taken, and check that removing searches leaves nothing behind.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobalerts.matcher import MAX_CLAUSES, Matcher, compile_query, shard_for
from jobalerts.models import Post
from jobalerts.query import QuerySyntaxError, document, evaluate, parse


def assert_agrees(matcher: Matcher, searches: dict[str, str], posts: list[str]) -> None:
    parsed = {sid: parse(query) for sid, query in searches.items()}
    for text in posts:
        doc = document(text)
        expected = {sid for sid, query in parsed.items() if evaluate(query, doc)}
        assert matcher.match(text) == expected, text


def test_many_searches_with_the_same_query_share_one_clause_and_leave_one_by_one() -> None:
    # Given 40 people who saved `python remote` (past the point where ids move to a set)
    matcher = Matcher()
    searches = {f"s{n}": "python remote" for n in range(40)}
    for sid, query in searches.items():
        matcher.add(sid, query)
    posts = ["remote python role", "python in berlin"]
    assert_agrees(matcher, searches, posts)
    # When most of them delete their search, in an order unrelated to how they joined
    for n in [*range(0, 40, 2), *range(1, 30, 2)]:
        matcher.remove(f"s{n}")
        del searches[f"s{n}"]
        assert_agrees(matcher, searches, posts)
    # Then the rest still match, and removing everyone leaves an empty index
    assert matcher.match("remote python role") == set(searches)
    for sid in list(searches):
        matcher.remove(sid)
    assert len(matcher) == 0
    assert not matcher._index


def test_a_big_group_growing_over_many_batches_keeps_its_ids_through_each_repack() -> None:
    # Given big groups (a shared clause, a shared check and a shared query too large for DNF)
    # that grow a few searches at a time, a match between batches, so each is repacked often
    huge = " ".join(f"(a{n} OR b{n} OR c{n})" for n in range(4))
    shapes = ["python remote", "python remote -junior", huge]
    matcher = Matcher()
    searches: dict[str, str] = {}
    posts = ["remote python role", "junior python remote", "a0 b1 c2 a3", "python in berlin"]
    for batch in range(20):
        for n in range(batch * 15, batch * 15 + 15):
            sid = f"search-{n}"
            searches[sid] = shapes[n % 3]
            matcher.add(sid, searches[sid])
        # When some leave and come back between batches
        for n in range(0, batch * 15, 7):
            matcher.remove(f"search-{n}")
            searches.pop(f"search-{n}", None)
        # Then every match returns exactly the ids the reference evaluator finds
        assert_agrees(matcher, searches, posts)
    for sid in list(searches):
        matcher.remove(sid)
    assert not matcher._index


def test_many_checks_under_the_same_two_keys_are_fanned_out_by_a_third() -> None:
    # Given searches sharing their two rarest terms, each with a third, commoner term or an
    # exclusion (so more than a handful of checks sit under one pair of keys)
    matcher = Matcher()
    searches: dict[str, str] = {}
    extra = ["senior", "berlin", "data", "go", "rust", "java", "sql", "aws", "react", "lead"]
    for n, word in enumerate(extra):
        searches[f"third{n}"] = f"zeta omega {word}"
        searches[f"not{n}"] = f"zeta omega -{word}"
        searches[f"phrase{n}"] = f'zeta omega "{word} engineer"'
        for k in range(12):  # make every extra word commoner than zeta and omega
            searches[f"filler{n}.{k}"] = f"{word} filler{k}"
    for sid, query in searches.items():
        matcher.add(sid, query)
    posts = [
        "zeta omega",
        "zeta omega senior",
        "zeta omega senior berlin data engineer",
        "omega go engineer zeta rust",
        "zeta rust",
        "sql filler3",
    ]
    assert_agrees(matcher, searches, posts)
    # When they are removed again, one shape at a time
    for prefix in ("third", "phrase", "not", "filler"):
        for sid in [s for s in searches if s.startswith(prefix)]:
            matcher.remove(sid)
            del searches[sid]
        assert_agrees(matcher, searches, posts)
    # Then nothing is left behind
    assert not matcher._index


def test_a_query_too_large_for_dnf_is_verified_against_its_ast() -> None:
    # Given a query that expands to 81 clauses (past the cap)
    query = "(a1 OR a2 OR a3) (b1 OR b2 OR b3) (c1 OR c2 OR c3) (d1 OR d2 OR d3) -nope"
    assert compile_query(parse(query)) is None
    assert MAX_CLAUSES < 81
    matcher = Matcher()
    searches = {"big": query, "twin": query, "small": "a1 b2"}
    for sid, text in searches.items():
        matcher.add(sid, text)
    posts = ["a1 b2 c3 d1", "a3 b3 c3 d3 nope", "a1 b1 c1", "a2 b1 d1 c2 x", "a1 b2"]
    # Then it matches exactly as its AST says
    assert_agrees(matcher, searches, posts)
    matcher.remove("big")
    del searches["big"]
    assert_agrees(matcher, searches, posts)
    matcher.remove("twin")
    matcher.remove("small")
    assert not matcher._index


def test_re_adding_an_id_replaces_its_query() -> None:
    matcher = Matcher()
    matcher.add("s1", "python")
    assert matcher.match("python dev") == {"s1"}
    matcher.add("s1", "golang")
    assert matcher.match("python dev") == set()
    assert matcher.match("golang dev") == {"s1"}
    assert len(matcher) == 1


def test_an_invalid_query_is_refused_and_leaves_the_old_one_in_place() -> None:
    matcher = Matcher()
    matcher.add("s1", "python")
    with pytest.raises(QuerySyntaxError):
        matcher.add("s1", "(python")
    assert matcher.match("python") == {"s1"}


def test_removing_an_unknown_id_is_a_no_op() -> None:
    matcher = Matcher()
    matcher.remove("nobody")
    assert len(matcher) == 0
    assert "nobody" not in matcher


def test_match_post_uses_the_posts_text_author_and_language() -> None:
    matcher = Matcher()
    matcher.add("s1", "python from:acme_jobs lang:en")
    post = Post(
        id="x#1",
        source="x",
        author_handle="Acme_Jobs",
        text="Python role",
        url="https://x.com/acme_jobs/status/1",
        created_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        lang="en",
    )
    assert matcher.match_post(post) == {"s1"}
    assert matcher.match_post(post.model_copy(update={"lang": "de"})) == set()


def test_shard_for_is_stable_balanced_and_splits_cleanly_when_doubled() -> None:
    ids = [f"search-{n}" for n in range(4000)]
    # Given four shards, every search has one, always the same
    four = [shard_for(sid, 4) for sid in ids]
    assert four == [shard_for(sid, 4) for sid in ids]
    assert {int(s) for s in four} == {0, 1, 2, 3}
    assert all(900 < four.count(str(s)) < 1100 for s in range(4))
    # When the deployment grows to eight, shard s splits into s and s + 4
    eight = [shard_for(sid, 8) for sid in ids]
    assert all(int(new) % 4 == int(old) for old, new in zip(four, eight, strict=True))
    # and one shard holds everything
    assert {shard_for(sid, 1) for sid in ids} == {"0"}
    with pytest.raises(ValueError, match="at least 1"):
        shard_for("x", 0)
