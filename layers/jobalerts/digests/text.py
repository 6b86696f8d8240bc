"""Making untrusted text safe to show: cleaning, highlighting matched terms, checking links.

Everything a post author or subscriber typed goes through `clean` before it reaches a template,
and `highlight` escapes first and only then wraps matches in <mark>, so it returns Markup that
contains no tag but <mark>, <br>, <wbr> and <a> around a mention, with a checked http(s) URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from jobalerts.query import (
    And,
    Not,
    Or,
    Phrase,
    Query,
    QuerySyntaxError,
    Term,
    fold,
    parse,
    tokenize,
)

# Bidi embeddings, overrides and isolates (plus the Arabic letter mark) let text reorder what
# follows it, e.g. make "exe.pdf" read as "fdp.exe" or flip the rest of an email; LRM/RLM go too.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# Outlook ignores CSS word breaking; long runs get explicit break opportunities instead.
_LONG_RUN = 30
_BREAK_EVERY = 20
_RUN = re.compile(rf"\S{{{_LONG_RUN + 1},}}")
# "@alice", "@alice.bsky.social", "@bob@hachyderm.io"; not the "@" inside an email address.
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_](?:[A-Za-z0-9_.-]*)(?:@[A-Za-z0-9.-]+)?)")


def clean(text: str) -> str:
    """Strip characters that reorder or corrupt the text around them; keep newlines and tabs."""
    return _CONTROL.sub("", _BIDI.sub("", text.replace("\r\n", "\n")))


def one_line(text: str, limit: int = 200) -> str:
    """Clean text for a header, subject or label: one line, bounded."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach a template; `javascript:` and friends are dropped."""
    if not url:
        return None
    url = clean(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url


@dataclass(frozen=True)
class Terms:
    """The positive words and phrases of a saved search: what a post was matched on."""

    words: frozenset[str] = frozenset()
    phrases: tuple[tuple[str, ...], ...] = ()

    def __or__(self, other: Terms) -> Terms:
        return Terms(self.words | other.words, tuple(dict.fromkeys(self.phrases + other.phrases)))

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def terms_of(query_text: str) -> Terms:
    """Words, #tags and phrases a post must contain; negated parts and operators are skipped."""
    try:
        query = parse(query_text)
    except QuerySyntaxError:
        return Terms()
    words: set[str] = set()
    phrases: list[tuple[str, ...]] = []
    _walk(query, words, phrases)
    return Terms(frozenset(words), tuple(dict.fromkeys(phrases)))


def _walk(query: Query, words: set[str], phrases: list[tuple[str, ...]]) -> None:
    if isinstance(query, Term):
        if not query.value.startswith(("from:", "lang:")):
            words.add(query.value)
    elif isinstance(query, Phrase):
        phrases.append(query.words)
    elif isinstance(query, And | Or):
        for child in query.children:
            _walk(child, words, phrases)
    elif isinstance(query, Not):
        return


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded) of each token; `tokenize` returns substrings of its input in order."""
    spans: list[tuple[int, int, str]] = []
    cursor = 0
    for token in tokenize(text):
        start = text.find(token, cursor)
        if start < 0:  # pragma: no cover - findall yields substrings in order
            continue
        cursor = start + len(token)
        spans.append((start, cursor, fold(token)))
    return spans


def _forms(folded: str) -> tuple[str, ...]:
    return (folded, folded[1:]) if folded.startswith("#") else (folded,)


def matched_ranges(text: str, terms: Terms) -> list[tuple[int, int]]:
    """Character ranges of `text` that hold a matched word, #tag or phrase, merged and sorted."""
    if not terms:
        return []
    spans = _spans(text)
    ranges: list[tuple[int, int]] = []
    for index, (start, end, folded) in enumerate(spans):
        if any(form in terms.words for form in _forms(folded)):
            ranges.append((start, end))
        for phrase in terms.phrases:
            last = index + len(phrase)
            if last > len(spans):
                continue
            if all(word in _forms(spans[index + offset][2]) for offset, word in enumerate(phrase)):
                ranges.append((start, spans[last - 1][1]))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _breakable(piece: str) -> Markup:
    """Escape, adding <wbr> inside very long words and URLs so they wrap on narrow screens."""
    out: list[str] = []
    cursor = 0
    for run in _RUN.finditer(piece):
        out.append(str(escape(piece[cursor : run.start()])))
        word = run.group()
        chunks = [word[i : i + _BREAK_EVERY] for i in range(0, len(word), _BREAK_EVERY)]
        out.append("<wbr>".join(str(escape(chunk)) for chunk in chunks))
        cursor = run.end()
    out.append(str(escape(piece[cursor:])))
    return Markup("".join(out).replace("\n", "<br>\n"))  # noqa: S704 - every piece escaped above


def mention_ranges(text: str, profiles: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """(start, end, profile URL) of each "@handle" in `text` whose profile is known. Keys of
    `profiles` are handles without "@", compared case-insensitively; only http(s) URLs count."""
    known = {k.casefold(): url for k, v in profiles.items() if (url := safe_url(v))}
    found: list[tuple[int, int, str]] = []
    if not known:
        return found
    for mention in _MENTION.finditer(text):
        handle = mention.group(1).rstrip(".-")
        # Mastodon writes a remote account as "@bob" or "@bob@host"; it is known as "bob".
        url = known.get(handle.casefold()) or known.get(handle.split("@")[0].casefold())
        if url is not None:
            found.append((mention.start(), mention.start() + 1 + len(handle), url))
    return found


def _marked(text: str, low: int, high: int, marks: list[tuple[int, int]]) -> str:
    """text[low:high], escaped, with the parts of `marks` that fall inside it in <mark>."""
    out: list[str] = []
    cursor = low
    for start, end in marks:
        start, end = max(start, low), min(end, high)
        if start >= end:
            continue
        out.append(_breakable(text[cursor:start]))
        out.append(f"<mark>{_breakable(text[start:end])}</mark>")
        cursor = end
    out.append(_breakable(text[cursor:high]))
    return "".join(out)


def highlight(text: str, terms: Terms, profiles: Mapping[str, str] | None = None) -> Markup:
    """The post text as HTML: escaped, matched terms in <mark>, long runs breakable, and each
    mention whose profile is known (`profiles`: handle -> URL) a link to that profile."""
    text = clean(text)
    marks = matched_ranges(text, terms)
    out: list[str] = []
    cursor = 0
    for start, end, url in mention_ranges(text, profiles or {}):
        out.append(_marked(text, cursor, start, marks))
        out.append(
            f'<a class="link" href="{escape(url)}" rel="noopener noreferrer nofollow">'
            f"{_marked(text, start, end, marks)}</a>"
        )
        cursor = end
    out.append(_marked(text, cursor, len(text), marks))
    return Markup("".join(out))  # noqa: S704 - built only from escaped pieces and checked URLs
