"""The saved-search language: tokenizer, parser, canonical form and the reference evaluator.

Queries and posts go through the same `tokenize`, so a query term means exactly what the same
characters mean in a post. The matcher (`jobalerts.matcher`) compiles the AST built here; the
brute-force `evaluate` below is the specification it is tested against.
"""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import TypeAlias

from jobalerts.errors import InvalidInput

MAX_QUERY_LENGTH = 512
# Groups nest at most this deep: nobody writes more, and the parser recurses once per level.
MAX_NESTING = 10
OPERATORS = ("from", "lang")

# One pattern for queries and posts. Job-market terms keep their punctuation: a `+` or a final `#`
# is part of the word (c++, c#, f#), dots join words (node.js, asp.net), and a leading dot after a
# space starts one (.net). A hyphen splits words, so "full-stack" reads as the phrase "full stack".
_WORD = r"\w+(?:\.\w+)*\+*(?:\#(?!\w))?"
_TOKEN_RE = re.compile(
    rf"""
      (?<![\w@])@\w(?:[\w.\-]*\w)?(?:@\w(?:[\w.\-]*\w)?)?   # @handle, @user@server, @name.bsky.social
    | (?<![\w\#])\#{_WORD}                                  # #hashtag
    | (?:(?<![\w.])\.(?=\w))?{_WORD}                        # word
    """,
    re.VERBOSE,
)
_HANDLE_RE = re.compile(r"\w(?:[\w.\-]*\w)?(?:@\w(?:[\w.\-]*\w)?)?")
_LANG_RE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_OPERATOR_RE = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
# Phones turn straight quotes into curly ones; people should not have to fight their keyboard.
_QUOTES = frozenset('"“”')
_CHUNK_END = _QUOTES | {"(", ")"}
_OPERATOR_HINTS = {
    "NOT": "use -word to exclude",
    "&": "words are already ANDed, leave a space",
    "&&": "words are already ANDed, leave a space",
    "|": "use OR",
    "||": "use OR",
}


class QuerySyntaxError(InvalidInput):
    """A saved search that cannot be used; `str(exc)` is safe to show as is."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column


# --- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """One term: a word, `#tag`, `@handle`, `from:handle` or `lang:xx`."""

    value: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more terms at consecutive positions."""

    words: tuple[str, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Query
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Query, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Query, ...]
    column: int = field(default=0, compare=False)


Query: TypeAlias = Term | Phrase | Not | And | Or


# --- Text normalization and tokenizing ---------------------------------------------------------


def fold(text: str) -> str:
    """Ignore case and width: NFKC, casefold, and NFKC again since casefold can undo it."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def tokenize(folded: str) -> list[str]:
    """Tokens of already folded text, in order; a hashtag keeps its `#` here."""
    return _TOKEN_RE.findall(folded)


def author_term(author: str) -> str:
    return "from:" + fold(author).lstrip("@")


def lang_terms(lang: str) -> list[str]:
    """`en-US` is also `en`, so `lang:en` finds every English post."""
    code = fold(lang).replace("_", "-")
    terms = [f"lang:{code}"]
    if "-" in code:
        terms.append(f"lang:{code.split('-', 1)[0]}")
    return terms


class Document:
    """A post, tokenized once: its set of terms, and positions for phrases on demand."""

    __slots__ = ("_positions", "terms", "tokens")

    def __init__(self, terms: set[str], tokens: list[str]) -> None:
        self.terms = terms
        self.tokens = tokens
        self._positions: dict[str, list[int]] | None = None

    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for index, token in enumerate(self.tokens):
                positions.setdefault(token, []).append(index)
                if token[0] == "#":
                    positions.setdefault(token[1:], []).append(index)
            self._positions = positions
        return self._positions

    def has_phrase(self, words: tuple[str, ...]) -> bool:
        positions = self.positions()
        spots = [positions.get(word) or () for word in words]
        if not all(spots):
            return False
        following = list(enumerate(spots[1:], 1))
        return any(
            all(start + offset in later for offset, later in following) for start in spots[0]
        )


def bigram(first: str, second: str) -> str:
    """The term for two adjacent tokens; no token contains a space, so it never clashes."""
    return f"{first} {second}"


def document(text: str, author: str | None = None, lang: str | None = None) -> Document:
    """Tokenize a post once; hashtags and mentions come from the text itself.

    Besides its tokens, the terms include every pair of adjacent tokens (`bigram`): the matcher
    uses them as rare keys for phrases. The reference evaluator ignores them and uses positions.
    """
    folded = fold(text)
    tokens = tokenize(folded)
    terms = set(tokens)
    terms.update([f"{first} {second}" for first, second in itertools.pairwise(tokens)])
    return Document(_with_extras(terms, tokens, author, lang, hashtags="#" in folded), tokens)


def single_terms(tokens: list[str], author: str | None = None, lang: str | None = None) -> set[str]:
    """The terms `document` gives the same post, without the bigrams: everything the reference
    evaluator looks up (phrases use positions). For indexes kept from stored tokens."""
    hashtags = any(token[0] == "#" for token in tokens)
    return _with_extras(set(tokens), tokens, author, lang, hashtags=hashtags)


def _with_extras(
    terms: set[str], tokens: list[str], author: str | None, lang: str | None, *, hashtags: bool
) -> set[str]:
    if hashtags:
        _add_hashtag_forms(tokens, terms)
    if author:
        terms.add(author_term(author))
    if lang:
        terms.update(lang_terms(lang))
    return terms


def _add_hashtag_forms(tokens: list[str], terms: set[str]) -> None:
    """A bare word also finds the hashtag: `python` and "python developer" match "#Python dev"."""
    for position, token in enumerate(tokens):
        if token[0] != "#":
            continue
        word = token[1:]
        terms.add(word)
        if position > 0:
            before = tokens[position - 1]
            terms.update(bigram(form, word) for form in _forms(before))
        if position + 1 < len(tokens):
            terms.update(bigram(word, form) for form in _forms(tokens[position + 1]))


def _forms(token: str) -> tuple[str, ...]:
    return (token, token[1:]) if token[0] == "#" else (token,)


EMPTY_DOCUMENT = Document(set(), [])


# --- Reference evaluator -----------------------------------------------------------------------


def evaluate(query: Query, doc: Document) -> bool:
    """Brute force, straight from the AST: the specification the index is tested against."""
    if isinstance(query, Term):
        return query.value in doc.terms
    if isinstance(query, Phrase):
        return doc.has_phrase(query.words)
    if isinstance(query, Not):
        return not evaluate(query.child, doc)
    if isinstance(query, And):
        return all(evaluate(child, doc) for child in query.children)
    return any(evaluate(child, doc) for child in query.children)


# --- Lexer -------------------------------------------------------------------------------------

# Lexemes: (kind, text, index into the NFKC text). Kinds: ( ) - OR AND PHRASE CHUNK END.
_Lexeme: TypeAlias = tuple[str, str, int]


def _nfkc_with_columns(raw: str) -> tuple[str, list[int]]:
    """NFKC the query (so full-width ( ) " - OR work) and map each index back to a raw column."""
    text = unicodedata.normalize("NFKC", raw)
    if text == raw:
        return text, list(range(1, len(raw) + 2))
    pieces: list[str] = []
    columns: list[int] = []
    start = 0
    while start < len(raw):
        end = start + 1
        while end < len(raw) and unicodedata.combining(raw[end]):
            end += 1
        piece = unicodedata.normalize("NFKC", raw[start:end])
        pieces.append(piece)
        columns.extend([start + 1] * len(piece))
        start = end
    columns.append(len(raw) + 1)
    return "".join(pieces), columns


def _lex(text: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "()":
            lexemes.append((char, char, index))
            index += 1
        elif char in _QUOTES:
            index = _lex_phrase(text, index, lexemes)
        elif char == "-":
            following = text[index + 1 : index + 2]
            if not following or following.isspace() or following in ")-":
                raise _Error("'-' must be directly followed by a word, phrase or group", index)
            lexemes.append(("-", char, index))
            index += 1
        else:
            index = _lex_chunk(text, index, lexemes)
    lexemes.append(("END", "", len(text)))
    return lexemes


def _lex_phrase(text: str, start: int, lexemes: list[_Lexeme]) -> int:
    end = start + 1
    while end < len(text) and text[end] not in _QUOTES:
        end += 1
    if end == len(text):
        raise _Error("unbalanced quote", start)
    lexemes.append(("PHRASE", text[start + 1 : end], start))
    return end + 1


def _lex_chunk(text: str, start: int, lexemes: list[_Lexeme]) -> int:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _CHUNK_END:
        end += 1
    chunk = text[start:end]
    kind = chunk if chunk in ("OR", "AND") else "CHUNK"
    lexemes.append((kind, chunk, start))
    return end


class _Error(Exception):
    """Raised at an index of the NFKC text; `parse` turns it into a column of the raw query."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.message = message
        self.index = index


# --- Parser ------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent; AND (a space or `AND`) binds tighter than OR, as on X."""

    def __init__(self, lexemes: list[_Lexeme], columns: list[int]) -> None:
        self.lexemes = lexemes
        self.columns = columns
        self.position = 0
        self.depth = 0

    def peek(self) -> _Lexeme:
        return self.lexemes[self.position]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.position]
        self.position += 1
        return lexeme

    def column(self, index: int) -> int:
        return self.columns[index]

    def parse(self) -> Query:
        if self.peek()[0] == "END":
            raise _Error("query is empty", 0)
        query = self.parse_or()
        kind, _, index = self.peek()
        if kind == ")":
            raise _Error("unbalanced parenthesis: ')' has no matching '('", index)
        return query

    def parse_or(self) -> Query:
        start = self.peek()[2]
        branches = [self.parse_and()]
        while self.peek()[0] == "OR":
            _, _, index = self.take()
            if self.peek()[0] in ("OR", "AND", ")", "END"):
                raise _Error("dangling OR: nothing after it", index)
            branches.append(self.parse_and())
        if len(branches) == 1:
            return branches[0]
        return Or(_flatten(branches, Or), self.column(start))

    def parse_and(self) -> Query:
        start = self.peek()[2]
        items = [self.parse_unary()]
        while self.peek()[0] not in ("OR", ")", "END"):
            if self.peek()[0] == "AND":
                _, _, index = self.take()
                if self.peek()[0] in ("OR", "AND", ")", "END"):
                    raise _Error("dangling AND: nothing after it", index)
            items.append(self.parse_unary())
        if len(items) == 1:
            return items[0]
        return And(_flatten(items, And), self.column(start))

    def parse_unary(self) -> Query:
        if self.peek()[0] != "-":
            return self.parse_primary()
        _, _, index = self.take()
        if self.peek()[0] not in ("(", "PHRASE", "CHUNK"):
            raise _Error("'-' must be directly followed by a word, phrase or group", index)
        return Not(self.parse_primary(), self.column(index))

    def parse_primary(self) -> Query:
        kind, text, index = self.take()
        if kind == "(":
            return self.parse_group(index)
        if kind == "PHRASE":
            return self.phrase(text, index)
        if kind == "CHUNK":
            return self.chunk(text, index)
        if kind in ("OR", "AND"):
            raise _Error(f"dangling {kind}: nothing before it", index)
        raise _Error("unbalanced parenthesis: ')' has no matching '('", index)

    def parse_group(self, open_index: int) -> Query:
        if self.depth >= MAX_NESTING:
            raise _Error(f"too many nested parentheses: at most {MAX_NESTING} deep", open_index)
        self.depth += 1
        try:
            return self._group_body(open_index)
        finally:
            self.depth -= 1

    def _group_body(self, open_index: int) -> Query:
        if self.peek()[0] == ")":
            raise _Error("empty parentheses", open_index)
        if self.peek()[0] == "END":
            raise _Error("unbalanced parenthesis: '(' is never closed", open_index)
        query = self.parse_or()
        if self.peek()[0] != ")":
            raise _Error("unbalanced parenthesis: '(' is never closed", open_index)
        self.take()
        return query

    def phrase(self, text: str, index: int) -> Query:
        words = tokenize(fold(text))
        if not words:
            raise _Error("empty phrase: nothing to search for between the quotes", index)
        return self.words(words, index)

    def chunk(self, text: str, index: int) -> Query:
        if text in _OPERATOR_HINTS:
            raise _Error(f"unknown operator '{text}': {_OPERATOR_HINTS[text]}", index)
        operator = _OPERATOR_RE.fullmatch(text)
        # "python:" is a word with a colon; "since:2024" is an operator we do not support.
        if operator and (operator[2] or operator[1].casefold() in OPERATORS):
            return self.operator(operator[1], operator[2], index)
        words = tokenize(fold(text))
        if not words:
            raise _Error(f"nothing to search for in '{text}'", index)
        return self.words(words, index)

    def words(self, words: list[str], index: int) -> Query:
        column = self.column(index)
        if len(words) == 1:
            return Term(sys.intern(words[0]), column)
        return Phrase(tuple(sys.intern(word) for word in words), column)

    def operator(self, name: str, value: str, index: int) -> Query:
        name = name.casefold()
        if name not in OPERATORS:
            supported = ", ".join(f"{op}:" for op in OPERATORS)
            raise _Error(f"unknown operator '{name}:' (supported: {supported})", index)
        value = fold(value)
        if name == "from":
            handle = value.lstrip("@")
            if not _HANDLE_RE.fullmatch(handle):
                raise _Error("from: needs a handle, like from:acme_jobs", index)
            return Term(sys.intern(f"from:{handle}"), self.column(index))
        if not _LANG_RE.fullmatch(value):
            raise _Error("lang: needs a language code, like lang:en", index)
        return Term(sys.intern(f"lang:{value}"), self.column(index))


def _flatten(items: list[Query], kind: type[And] | type[Or]) -> tuple[Query, ...]:
    """`a (b c)` is `a b c`, so equivalent spellings get one canonical form."""
    flat: list[Query] = []
    for item in items:
        flat.extend(item.children if isinstance(item, kind) else (item,))
    return tuple(flat)


def _unbounded_column(query: Query) -> int | None:
    """Column of the part that lets `query` match a post with no terms at all, if any."""
    if not evaluate(query, EMPTY_DOCUMENT):
        return None
    if isinstance(query, Or):
        for child in query.children:
            column = _unbounded_column(child)
            if column is not None:
                return column
    return query.column


def parse(text: str) -> Query:
    """Parse a saved search; raises QuerySyntaxError naming the 1-based column of the problem."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"query is longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH + 1
        )
    normalized, columns = _nfkc_with_columns(text)
    try:
        query = _Parser(_lex(normalized), columns).parse()
    except _Error as exc:
        raise QuerySyntaxError(exc.message, columns[exc.index]) from None
    column = _unbounded_column(query)
    if column is not None:
        raise QuerySyntaxError(
            "query can match every post: add a word, phrase or #tag that must be present",
            column or 1,
        )
    return query


# --- Canonical form ----------------------------------------------------------------------------


def to_text(query: Query) -> str:
    """The canonical spelling of an AST; `parse(to_text(q)) == q`."""
    if isinstance(query, Term):
        return query.value
    if isinstance(query, Phrase):
        return '"' + " ".join(query.words) + '"'
    if isinstance(query, Not):
        inner = to_text(query.child)
        return f"-({inner})" if isinstance(query.child, And | Or | Not) else f"-{inner}"
    if isinstance(query, And):
        return " ".join(
            f"({to_text(child)})" if isinstance(child, Or | And) else to_text(child)
            for child in query.children
        )
    return " OR ".join(
        f"({to_text(child)})" if isinstance(child, Or) else to_text(child)
        for child in query.children
    )


def normalize(text: str) -> str:
    """Parse and print back in canonical form: folded terms, single spaces, minimal parentheses."""
    return to_text(parse(text))
