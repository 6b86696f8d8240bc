# Full-width look-alikes are the point of some tests here.
# ruff: noqa: RUF001
"""Every rejected query says why and names the 1-based column of the problem."""

from __future__ import annotations

import pytest

from jobalerts.errors import InvalidInput
from jobalerts.query import MAX_QUERY_LENGTH, QuerySyntaxError, parse

MATCHES_EVERYTHING = "query can match every post: add a word, phrase or #tag that must be present"


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        # unbalanced quote: the column of the quote that is never closed
        ('"python', 1, "unbalanced quote"),
        ('python "data engineer', 8, "unbalanced quote"),
        ('"a" "b" "c', 9, "unbalanced quote"),
        # unbalanced parenthesis, either way round
        ("(python", 1, "unbalanced parenthesis: '(' is never closed"),
        ("remote (python OR go", 8, "unbalanced parenthesis: '(' is never closed"),
        ("((a OR b) c", 1, "unbalanced parenthesis: '(' is never closed"),
        ("python)", 7, "unbalanced parenthesis: ')' has no matching '('"),
        ("(a) b)", 6, "unbalanced parenthesis: ')' has no matching '('"),
        (")", 1, "unbalanced parenthesis: ')' has no matching '('"),
        ("()", 1, "empty parentheses"),
        ("python ()", 8, "empty parentheses"),
        # dangling OR / AND
        ("python OR", 8, "dangling OR: nothing after it"),
        ("python OR ", 8, "dangling OR: nothing after it"),
        ("OR python", 1, "dangling OR: nothing before it"),
        ("a OR OR b", 3, "dangling OR: nothing after it"),
        ("(a OR) b", 4, "dangling OR: nothing after it"),
        ("a (OR b)", 4, "dangling OR: nothing before it"),
        ("python AND", 8, "dangling AND: nothing after it"),
        # unknown operators
        ("python since:2024", 8, "unknown operator 'since:' (supported: from:, lang:)"),
        ("URL:example.com", 1, "unknown operator 'url:' (supported: from:, lang:)"),
        ("python NOT java", 8, "unknown operator 'NOT': use -word to exclude"),
        ("a && b", 3, "unknown operator '&&': words are already ANDed, leave a space"),
        ("a & b", 3, "unknown operator '&': words are already ANDed, leave a space"),
        ("a || b", 3, "unknown operator '||': use OR"),
        ("a | b", 3, "unknown operator '|': use OR"),
        ("python from:", 8, "from: needs a handle, like from:acme_jobs"),
        ("python from:@", 8, "from: needs a handle, like from:acme_jobs"),
        ("python lang:english", 8, "lang: needs a language code, like lang:en"),
        # a lone or trailing minus
        ("python - java", 8, "'-' must be directly followed by a word, phrase or group"),
        ("python -", 8, "'-' must be directly followed by a word, phrase or group"),
        ("python --java", 8, "'-' must be directly followed by a word, phrase or group"),
        ("python -)", 8, "'-' must be directly followed by a word, phrase or group"),
        # nothing to search for
        ("", 1, "query is empty"),
        ("   ", 1, "query is empty"),
        ('python ""', 8, "empty phrase: nothing to search for between the quotes"),
        ('python " !? "', 8, "empty phrase: nothing to search for between the quotes"),
        ("python ???", 8, "nothing to search for in '???'"),
        # only exclusions: would match every post
        ("-python", 1, MATCHES_EVERYTHING),
        ("-python -java", 1, MATCHES_EVERYTHING),
        ('-"data engineer"', 1, MATCHES_EVERYTHING),
        ("-(python remote)", 1, MATCHES_EVERYTHING),
        ("python OR -java", 11, MATCHES_EVERYTHING),
        ("python OR (-java -go)", 12, MATCHES_EVERYTHING),
        ("remote (python OR -java) OR -go", 29, MATCHES_EVERYTHING),
        # a quoted operator is a word, never the operator or a minus
        ('python "-"', 8, "empty phrase: nothing to search for between the quotes"),
        ('(")")', 2, "empty phrase: nothing to search for between the quotes"),
        # after a combining accent (NFKC joins it to its letter) columns still count raw input
        ("cafe\u0301)", 6, "unbalanced parenthesis: ')' has no matching '('"),
        ("cafe\u0301\u0301)", 7, "unbalanced parenthesis: ')' has no matching '('"),
    ],
)
def test_a_bad_query_is_rejected_with_its_message_and_column(
    query: str, column: int, message: str
) -> None:
    # When a malformed query is parsed
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    # Then the error says what is wrong and where, in a form safe to show as is
    assert (caught.value.message, caught.value.column) == (message, column)
    assert str(caught.value) == f"column {column}: {message}"


def test_a_query_over_512_characters_is_rejected_at_column_513() -> None:
    assert parse("a" * MAX_QUERY_LENGTH)
    with pytest.raises(QuerySyntaxError) as caught:
        parse("a" * (MAX_QUERY_LENGTH + 1))
    assert caught.value.message == "query is longer than 512 characters"
    assert caught.value.column == 513


def test_an_exclusion_next_to_a_required_term_is_fine() -> None:
    assert parse("python (remote OR -senior)")
    assert parse("python -java -go")


def test_columns_count_the_characters_the_user_typed_even_when_normalization_changes_them() -> None:
    # Given full-width letters before the error (NFKC keeps one character each)
    # and a ligature (NFKC makes two characters of one)
    assert _column("ＰＹＴＨＯＮ)") == 7
    assert _column("ﬁnance )") == 8
    # and a decomposed accent (two code points the user typed)
    assert _column("mu\u0308nchen (") == 10


def test_full_width_syntax_is_understood() -> None:
    assert parse("（python ＯＲ go） remote") == parse("(python OR go) remote")
    assert _column("（python") == 1


def test_a_query_syntax_error_is_invalid_input_for_the_api() -> None:
    with pytest.raises(InvalidInput):
        parse("(python")


def _column(query: str) -> int:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    return caught.value.column


def test_nesting_is_bounded_with_the_column_of_the_group_too_deep() -> None:
    # Ten levels parse; the eleventh "(" is refused at its column, not by a RecursionError
    assert parse("(" * 10 + "python" + ")" * 10)
    with pytest.raises(QuerySyntaxError) as refused:
        parse("a " + "(" * 200 + "python" + ")" * 200)
    assert refused.value.column == 13
    assert "nested" in refused.value.message


def test_nesting_is_counted_per_group_not_across_groups() -> None:
    # Given a group that closes, then groups nested one deeper than allowed
    from jobalerts.query import MAX_NESTING

    deep = "(" * (MAX_NESTING + 1) + "b" + ")" * (MAX_NESTING + 1)
    # Then the earlier, closed group does not buy the later ones any depth
    with pytest.raises(QuerySyntaxError) as caught:
        parse(f"(a) {deep}")
    assert caught.value.message.startswith("too many nested parentheses")
    assert caught.value.column == 5 + MAX_NESTING
    # and exactly the limit is fine after it
    limit = "(" * MAX_NESTING + "b" + ")" * MAX_NESTING
    assert parse(f"(a) {limit}") is not None
