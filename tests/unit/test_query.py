# Full-width look-alikes are the point of some tests here.
# ruff: noqa: RUF001
"""The saved-search language, operator by operator: what each query matches and what it does not.

Every example is checked twice, against the reference evaluator and against the Matcher, so the
two can never drift apart on a documented case.
"""

from __future__ import annotations

import dataclasses

import pytest

from jobalerts.matcher import Matcher
from jobalerts.query import (
    And,
    Not,
    Or,
    Phrase,
    Term,
    document,
    evaluate,
    normalize,
    parse,
    to_text,
    tokenize,
)


def matches(query: str, text: str, author: str | None = None, lang: str | None = None) -> bool:
    """Whether `query` matches the post, after checking the evaluator and the index agree."""
    expected = evaluate(parse(query), document(text, author, lang))
    matcher = Matcher()
    matcher.add("s", query)
    assert (matcher.match(text, author, lang) == {"s"}) == expected, "matcher != evaluator"
    return expected


# --- Words, phrases, OR and parentheses --------------------------------------------------------


def test_words_are_anded_in_any_order() -> None:
    # Given a query of two words
    # Then a post needs both, wherever they are
    assert matches("python remote", "Remote role: senior Python engineer")
    assert not matches("python remote", "Python engineer in Berlin")
    assert not matches("python remote", "Remote Go engineer")


def test_explicit_and_is_the_same_as_a_space() -> None:
    assert parse("python AND remote") == parse("python remote")


def test_a_phrase_needs_its_words_consecutive_and_in_order() -> None:
    assert matches('"data engineer"', "Hiring a Data Engineer in Lisbon")
    assert not matches('"data engineer"', "Engineer for data pipelines")
    assert not matches('"data engineer"', "engineer data")
    assert matches('"senior data engineer"', "a senior data engineer, remote")
    assert not matches('"senior data engineer"', "senior big data engineer")


def test_curly_quotes_from_phones_work_like_straight_ones() -> None:
    assert parse("“data engineer”") == parse('"data engineer"')


def test_and_binds_tighter_than_or_as_on_x() -> None:
    # Given `python OR golang remote`
    query = parse("python OR golang remote")
    # Then it reads as python OR (golang remote)
    assert query == Or((Term("python"), And((Term("golang"), Term("remote")))))
    assert matches("python OR golang remote", "Python developer in Berlin")
    assert matches("python OR golang remote", "Golang, fully remote")
    assert not matches("python OR golang remote", "Golang developer in Berlin")


def test_parentheses_group() -> None:
    query = "(python OR golang) remote"
    assert parse(query) == And((Or((Term("python"), Term("golang"))), Term("remote")))
    assert matches(query, "golang, remote")
    assert matches(query, "python, remote")
    assert not matches(query, "Python developer in Berlin")


def test_lowercase_or_is_an_ordinary_word() -> None:
    assert parse("python or golang") == And((Term("python"), Term("or"), Term("golang")))


# --- Exclusions --------------------------------------------------------------------------------


def test_minus_term_excludes_posts_with_that_word() -> None:
    assert matches("python -senior", "Junior Python developer")
    assert not matches("python -senior", "Senior Python developer")


def test_minus_phrase_excludes_only_the_consecutive_words() -> None:
    query = 'engineer -"data engineer"'
    assert not matches(query, "Data Engineer wanted")
    assert matches(query, "Engineer for data pipelines")


def test_minus_group_excludes_posts_matching_the_whole_group() -> None:
    query = "python -(senior berlin)"
    assert not matches(query, "Senior Python dev in Berlin")
    assert matches(query, "Senior Python dev in Paris")
    assert matches(query, "Python dev in Berlin")
    assert parse(query) == And((Term("python"), Not(And((Term("senior"), Term("berlin"))))))


def test_a_hyphen_inside_a_word_is_not_an_exclusion() -> None:
    # "full-stack" is a phrase, not full AND NOT stack
    assert parse("full-stack") == Phrase(("full", "stack"))


# --- Hashtags, mentions, from: and lang: -------------------------------------------------------


def test_a_hashtag_matches_only_the_hashtag() -> None:
    assert matches("#python", "We love #Python")
    assert not matches("#python", "We love Python")


def test_a_bare_word_also_matches_the_same_hashtag() -> None:
    assert matches("python", "We love #Python")
    assert matches('"python developer"', "#Python developer wanted")
    assert matches('"senior python"', "senior #python role")


def test_bare_words_match_posts_that_only_have_their_hashtags() -> None:
    assert matches("remote python", "#remote #python")
    assert matches("remote python", "#Python role, #Remote")
    assert matches('"remote python"', "#remote #python")
    assert not matches("remote python", "#remote #java")
    assert not matches("#remote python", "remote python")


def test_a_mention_matches_the_mentioned_handle() -> None:
    assert matches("@acme_jobs", "cc @Acme_Jobs please share")
    assert not matches("@acme_jobs", "acme_jobs is hiring")
    assert matches("@jobs@mastodon.social", "boost @jobs@mastodon.social")


def test_from_matches_the_posts_author_not_the_text() -> None:
    assert matches("from:acme_jobs python", "Python role", author="Acme_Jobs")
    assert matches("from:@acme_jobs python", "Python role", author="@acme_jobs")
    assert not matches("from:acme_jobs python", "Python role, from acme_jobs", author="other")
    assert not matches("from:acme_jobs python", "Python role")


def test_lang_matches_the_posts_language_and_its_base_language() -> None:
    assert matches("python lang:de", "Python Entwickler gesucht", lang="de")
    assert matches("python lang:en", "Python developer", lang="en-US")
    assert matches("python lang:en-us", "Python developer", lang="en_US")
    assert not matches("python lang:de", "Python developer", lang="en")
    assert not matches("python lang:de", "Python developer")


def test_operators_and_their_values_ignore_case() -> None:
    assert parse("FROM:Acme LANG:DE python") == parse("from:acme lang:de python")


# --- Case, width and accents -------------------------------------------------------------------


def test_case_and_width_are_ignored() -> None:
    assert matches("python", "PYTHON developer")
    assert matches("ＰＹＴＨＯＮ", "python developer")
    assert matches("python", "ｐｙｔｈｏｎ developer")
    assert matches("strasse", "Straße 1, Berlin")  # casefold, not lower()
    assert normalize("ＰＹＴＨＯＮ   Remote") == "python remote"


def test_accents_are_kept_distinct() -> None:
    assert matches("café", "Café staff wanted")
    assert not matches("cafe", "Café staff wanted")
    assert not matches("café", "Cafe staff wanted")
    assert not matches("münchen", "munchen")


def test_composed_and_decomposed_accents_are_the_same_letter() -> None:
    assert matches("münchen", "Mu\u0308nchen")


# --- Job-market terms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("c++", "Modern C++ developer"),
        ("c#", "C# / .NET engineer"),
        ("f#", "We use F#, at scale"),
        (".net", "C# / .NET engineer"),
        ("node.js", "Backend in Node.js."),
        ("asp.net", "ASP.NET Core developer"),
    ],
)
def test_job_market_terms_match_as_typed(term: str, text: str) -> None:
    assert parse(term) == Term(term)
    assert matches(term, text)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("c", "Modern C++ developer"),
        ("c", "C# developer"),
        ("c++", "C developer"),
        ("f#", "F sharp"),
        ("net", ".NET engineer"),
        ("node", "Node.js developer"),
        ("js", "Node.js developer"),
        ("asp", "ASP.NET developer"),
        (".net", "asp.net developer"),
    ],
)
def test_job_market_terms_do_not_match_their_parts(query: str, text: str) -> None:
    assert not matches(query, text)


def test_the_end_of_a_sentence_does_not_glue_onto_a_word() -> None:
    tokens = tokenize("we use node.js. and c++, c#; f#!")
    assert tokens == ["we", "use", "node.js", "and", "c++", "c#", "f#"]
    assert matches("c", "Write C. Then C++.")


def test_hyphenated_words_match_the_phrase() -> None:
    assert matches("full-stack", "Full stack developer")
    assert matches('"full stack"', "Full-Stack developer")
    assert matches("full-stack", "full-stack developer")
    assert not matches("full-stack", "stack full")


# --- Canonical form ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("Python   AND  Remote", "python remote"),
        ("(python OR golang) remote", "(python OR golang) remote"),
        ("python OR (golang remote)", "python OR golang remote"),
        ("python (remote berlin)", "python remote berlin"),
        ("(a OR (b OR c)) d", "(a OR b OR c) d"),
        ("python -(senior OR lead)", "python -(senior OR lead)"),
        ("python -“Data Engineer”", 'python -"data engineer"'),
        ("Full-Stack", '"full stack"'),
        ("FROM:@Acme lang:EN #Jobs @Bob", "from:acme lang:en #jobs @bob"),
    ],
)
def test_normalize_prints_the_canonical_query(query: str, canonical: str) -> None:
    assert normalize(query) == canonical
    assert parse(to_text(parse(query))) == parse(query)


def test_a_parsed_query_is_an_immutable_value_that_can_key_a_cache() -> None:
    # Given two spellings of one search, with a phrase, a group and an exclusion
    first = parse('python "machine learning" (remote OR hybrid) -senior')
    second = parse('Python  "Machine Learning"  (remote  OR  hybrid)  -senior')
    # Then they are equal and hash alike, so one compiled form can serve both
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    # And no part of a parsed query can be changed behind a cache's back
    assert isinstance(first, And)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.children[0].value = "java"  # type: ignore[misc, union-attr]


# --- Quoted operators, hashtags at the edges, phrases closing a group ---------------------------


def test_a_quoted_or_and_is_a_word_not_an_operator() -> None:
    # When OR and AND are quoted
    # Then they are words every match must contain, not operators
    assert parse('python "OR" java') == And((Term("python"), Term("or"), Term("java")))
    assert parse('python "AND" java') == And((Term("python"), Term("and"), Term("java")))


def test_a_phrase_can_close_a_group() -> None:
    # When a phrase is the last thing in a group
    query = parse('(python OR "data engineer") berlin')
    # Then the group closes right after its quote
    assert query == And((Or((Term("python"), Phrase(("data", "engineer")))), Term("berlin")))


def test_hashtag_forms_join_only_their_real_neighbours() -> None:
    # Given posts with a hashtag first, in the middle and last
    first = document("#python developer").terms
    middle = document("hiring #python developer").terms
    # Then a hashtag's word pairs with the words beside it
    assert {"python developer", "hiring python"} <= middle
    assert "python developer" in first
    # and the first token has no word before it (not the last one, wrapped around)
    assert "developer python" not in first


def test_terms_from_stored_tokens_include_a_hashtags_bare_word() -> None:
    # Given the tokens of a post that is only hashtags
    from jobalerts.query import fold, single_terms

    tokens = tokenize(fold("#Python #Remote"))
    # Then the terms kept for an index find the bare words too, as `document` does
    assert single_terms(tokens) >= {"python", "remote", "#python", "#remote"}
    assert single_terms(tokens) == document("#Python #Remote").terms - {"#python #remote"}
