"""Property: the reverse index finds exactly the searches the reference evaluator finds.

Queries are random ASTs rendered to text from a small vocabulary (so terms collide often and
every index path is taken: shared clauses, pair keys, fanned-out checks, DNF fallbacks), posts
are random sequences of the same words in the styles people type them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobalerts.matcher import Matcher
from jobalerts.query import Query, QuerySyntaxError, document, evaluate, normalize, parse

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "python", "remote", "senior", "berlin", "go", "data", "engineer",
    "c", "c++", "c#", "f#", ".net", "node.js", "asp.net", "full", "stack", "café", "cafe",
]  # fmt: skip
TAGS = ["#python", "#hiring", "#remote"]
MENTIONS = ["@acme", "@bob"]
AUTHORS = ["acme", "bob"]
LANGS = ["en", "de", "en-US"]

# --- Queries: an AST, rendered to text ---------------------------------------------------------


def _leaf() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    phrase = st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
    return st.one_of(
        word,
        word,
        word.map(str.upper),
        phrase,
        st.just("full-stack"),
        st.sampled_from(TAGS + MENTIONS),
        st.sampled_from(AUTHORS).map(lambda a: f"from:{a}"),
        st.sampled_from(["en", "de"]).map(lambda lang: f"lang:{lang}"),
    )


def _node(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    group = st.lists(children, min_size=2, max_size=3)
    return st.one_of(
        group.map(lambda items: "(" + " ".join(items) + ")"),
        group.map(lambda items: "(" + " AND ".join(items) + ")"),
        group.map(lambda items: "(" + " OR ".join(items) + ")"),
        children.map(lambda item: f"-{item}"),
    )


QUERIES = st.recursive(_leaf(), _node, max_leaves=10)


def _parsed(text: str) -> Query | None:
    try:
        return parse(text)
    except QuerySyntaxError:
        return None  # only exclusions: rightly refused, nothing to index


# --- Posts -------------------------------------------------------------------------------------

_STYLED_WORD = st.sampled_from(WORDS).flatmap(
    lambda w: st.sampled_from([w, w.upper(), w.title(), f"#{w}", f"{w},", f"{w}."])
)
_TOKEN = st.one_of(
    _STYLED_WORD, _STYLED_WORD, st.sampled_from([*TAGS, *MENTIONS, "full-stack", "x", "-"])
)
POSTS = st.tuples(
    st.lists(_TOKEN, max_size=12).map(" ".join),
    st.one_of(st.none(), st.sampled_from(AUTHORS)),
    st.one_of(st.none(), st.sampled_from(LANGS)),
)


def _expected(searches: dict[str, Query], post: tuple[str, str | None, str | None]) -> set[str]:
    doc = document(*post)
    return {sid for sid, query in searches.items() if evaluate(query, doc)}


# --- Properties --------------------------------------------------------------------------------


@PROPERTY
@given(queries=st.lists(QUERIES, min_size=1, max_size=40), posts=st.lists(POSTS, max_size=8))
def test_the_index_finds_exactly_what_the_reference_evaluator_finds(
    queries: list[str], posts: list[tuple[str, str | None, str | None]]
) -> None:
    # Given many saved searches in one index (ids are positions; duplicates share clauses)
    searches = {f"s{n}": ast for n, text in enumerate(queries) if (ast := _parsed(text))}
    matcher = Matcher()
    for sid in searches:
        matcher.add(sid, queries[int(sid[1:])])
    # When each post is matched
    # Then the index finds exactly the searches the evaluator accepts
    for post in posts:
        assert matcher.match(*post) == _expected(searches, post), post


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 11), QUERIES),
        st.tuples(st.just("remove"), st.integers(0, 11), st.just("")),
        st.tuples(st.just("match"), st.just(0), st.just("")),
    ),
    max_size=40,
)


@PROPERTY
@given(operations=OPERATIONS, posts=st.lists(POSTS, min_size=1, max_size=4))
def test_adding_and_removing_keeps_the_index_equal_to_the_reference(
    operations: list[tuple[str, int, str]], posts: list[tuple[str, str | None, str | None]]
) -> None:
    # Given searches added, replaced and removed in any order, with matches in between
    # (a match files the staged searches, so later changes hit a filed index)
    matcher = Matcher()
    reference: dict[str, Query] = {}
    for action, number, text in operations:
        sid = f"s{number}"
        if action == "add" and (ast := _parsed(text)):
            matcher.add(sid, text)
            reference[sid] = ast
        elif action == "remove":
            matcher.remove(sid)
            reference.pop(sid, None)
        elif action == "match":
            assert matcher.match(*posts[0]) == _expected(reference, posts[0])
        # Then the index holds exactly the live searches
        assert len(matcher) == len(reference)
        assert all(sid in matcher for sid in reference)
    # and matches exactly as the reference does
    for post in posts:
        assert matcher.match(*post) == _expected(reference, post), post


@PROPERTY
@given(text=QUERIES)
def test_the_canonical_form_parses_back_to_the_same_query(text: str) -> None:
    ast = _parsed(text)
    if ast is not None:
        assert parse(normalize(text)) == ast
        assert normalize(normalize(text)) == normalize(text)
