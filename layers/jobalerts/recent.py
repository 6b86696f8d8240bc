"""The recent-posts window behind search previews: compact summaries, an in-memory index, and
the evaluation of one query over it.

The match function appends each stream batch's new posts as one compressed chunk of summaries
(`store.recent`): per post its id, time, author, language and folded tokens, which is all the
query language looks at. A preview reader keeps the decoded window in memory, indexed by term
(term -> the positions of the posts that contain it, adjacent token pairs included), and answers
a query with bitset algebra over those postings, bottom-up: a two-word phrase is its pair's
postings, a longer one is checked against the stored tokens of the posts holding all its pairs.
Counts per day are bit counts of the matches against each day's bitset, and only the newest
hours with matches are read to find the newest ten. The answers are the reference evaluator's
(`query.evaluate` on `query.document` of the post); a property test holds them to it.

Pure: no AWS. `RecentIndex` is not thread-safe (one per Lambda worker).
"""

from __future__ import annotations

import heapq
import json
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from jobalerts.models import Post
from jobalerts.query import (
    And,
    Document,
    Not,
    Or,
    Phrase,
    Query,
    Term,
    bigram,
    fold,
    single_terms,
    tokenize,
)

WINDOW_DAYS = 7
NEWEST = 10
# zlib level 6 is the usual balance; summaries are written once and read many times.
_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Summary:
    """What a preview needs of a post: enough to match it and to find it again."""

    post_id: str
    at: float
    """Epoch seconds of the post's own time (not of its arrival)."""
    author: str
    lang: str | None
    tokens: str
    """The folded tokens, space-separated (no token contains a space)."""

    @classmethod
    def of(cls, post: Post) -> Summary:
        return cls(
            post_id=post.id,
            at=post.created_at.timestamp(),
            author=post.author_handle,
            lang=post.lang,
            tokens=" ".join(tokenize(fold(post.text))),
        )


def encode(summaries: Sequence[Summary]) -> bytes:
    rows = [[s.post_id, round(s.at, 3), s.author, s.lang, s.tokens] for s in summaries]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), _LEVEL)


def decode(data: bytes) -> list[Summary]:
    rows = json.loads(zlib.decompress(data))
    return [Summary(str(r[0]), float(r[1]), str(r[2]), r[3], str(r[4])) for r in rows]


@dataclass(frozen=True)
class Preview:
    """What a search would have matched: per day (oldest first), and the newest post ids."""

    days: tuple[tuple[str, int], ...]
    """(ISO date in the asked zone, matches that day), the 7 days ending today."""
    newest: tuple[str, ...]
    """Ids of the newest matches, newest first (at most NEWEST, or as many as asked)."""
    newest_at: tuple[float, ...]
    """Their own times, epoch seconds."""
    total: int
    scanned: int
    """How many recent posts the window held (for the page: "out of N posts")."""


class RecentIndex:
    """The window in memory: summaries by position, and postings per term.

    Sets of posts are Python ints used as bitsets (bit p is the post at position p): over 50,000
    posts an AND, OR or AND-NOT of two of them, or counting one (`int.bit_count`), takes
    microseconds, where the same with Python sets costs milliseconds for the broad terms of a
    query. Postings are kept as arrays while posts are added (appending to a bitset copies it)
    and turned into bitsets when a query asks for them, kept for the next query and extended by
    what was added since.
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.times = array("d")
        self.tokens: list[str] = []
        self.postings: dict[str, array[int]] = {}
        self._seen: set[str] = set()
        self._bits: dict[str, tuple[int, int]] = {}
        """Term -> (its bitset, how many of its postings that covers)."""
        self._calendars: dict[tuple[str, date], _Calendar] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, summaries: Iterable[Summary]) -> int:
        """Index summaries not seen before (a chunk may be read twice); returns how many."""
        added = 0
        postings = self.postings
        for summary in summaries:
            if summary.post_id in self._seen:
                continue
            self._seen.add(summary.post_id)
            position = len(self.ids)
            self.ids.append(summary.post_id)
            self.times.append(summary.at)
            self.tokens.append(summary.tokens)
            words = summary.tokens.split(" ") if summary.tokens else []
            terms = single_terms(words, summary.author, summary.lang)
            # Adjacent pairs too (as `query.document` has them): a phrase's candidates are then
            # the posts holding each of its pairs, and few of them need their positions checked.
            terms.update(bigram(first, second) for first, second in pairwise(words))
            for term in terms:
                found = postings.get(term)
                if found is None:
                    postings[term] = array("I", (position,))
                else:
                    found.append(position)
            added += 1
        return added

    def preview(self, query: Query, now: datetime, zone: ZoneInfo, newest: int = NEWEST) -> Preview:
        """Matches among posts of the last WINDOW_DAYS days in `zone` (today included), with the
        `newest` newest of them."""
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=WINDOW_DAYS - 1)
        calendar = self._calendar(zone, first_day)
        end = now.timestamp()
        universe = calendar.window
        if calendar.latest > end:
            # Posts stamped after `now` (a clock-skewed source) are not counted yet; only today
            # can hold them, and a preview at a fixed `now` rarely meets one.
            times = self.times
            universe &= ~_bitset([p for p in _positions(calendar.days[-1]) if times[p] > end])
        matched = self._evaluate(query, universe) & universe
        counts = [(matched & day).bit_count() for day in calendar.days]
        found = self._newest(matched, calendar, newest)
        return Preview(
            days=tuple(
                ((first_day + timedelta(days=n)).isoformat(), counts[n]) for n in range(WINDOW_DAYS)
            ),
            newest=tuple(self.ids[p] for p in found),
            newest_at=tuple(self.times[p] for p in found),
            total=sum(counts),
            scanned=universe.bit_count(),
        )

    def _newest(self, matched: int, calendar: _Calendar, count: int) -> list[int]:
        """The `count` newest matches, newest first: only the newest hours holding that many are
        read (hours are disjoint and in time order, so nothing older can beat them)."""
        candidates: list[int] = []
        for hour in reversed(calendar.hours):
            found = matched & hour
            if found:
                candidates.extend(_positions(found))
                if len(candidates) >= count:
                    break
        times, ids = self.times, self.ids
        return heapq.nlargest(count, candidates, key=lambda p: (times[p], ids[p]))

    def _calendar(self, zone: ZoneInfo, first_day: date) -> _Calendar:
        """The window's posts per day and per hour in `zone`, brought up to date: built once per
        zone and day, then extended by the posts added since."""
        key = (zone.key, first_day)
        calendar = self._calendars.get(key)
        if calendar is None:
            if len(self._calendars) >= _CALENDARS:
                self._calendars.clear()  # old days and rare zones: rebuilt if asked again
            calendar = self._calendars[key] = _Calendar.starting(first_day, zone)
        if calendar.upto < len(self.ids):
            calendar.extend(self.times, calendar.upto, len(self.ids))
        return calendar

    def bits(self, term: str) -> int:
        """The posts holding `term`, as a bitset."""
        postings = self.postings.get(term)
        if postings is None:
            return 0
        if len(postings) < _CACHED_FROM:
            return _bitset(postings)  # a few shifts: cheaper to build than to keep
        cached = self._bits.get(term)
        if cached is not None and cached[1] == len(postings):
            return cached[0]
        value, covered = cached if cached is not None else (0, 0)
        # Positions only grow, so the new postings are the tail.
        value |= _bitset(postings[covered:])
        if cached is None and len(self._bits) >= _CACHED_TERMS:
            self._bits.clear()
        self._bits[term] = (value, len(postings))
        return value

    def _evaluate(self, query: Query, universe: int) -> int:
        """The posts of `universe` that match (the result may hold others outside it)."""
        if isinstance(query, Term):
            return self.bits(query.value)
        if isinstance(query, Phrase):
            words = query.words
            pairs = [bigram(a, b) for a, b in pairwise(words)] or list(words)
            found = universe
            for pair in pairs:
                found &= self.bits(pair)
                if not found:
                    return 0
            if len(words) == 2:
                return found  # the pair itself is the phrase (hashtag forms included)
            spaced = f" {' '.join(words)} "
            return _bitset([p for p in _positions(found) if self._has_phrase(p, words, spaced)])
        if isinstance(query, Not):
            return universe & ~self._evaluate(query.child, universe)
        if isinstance(query, And):
            # Lookups first: they narrow what the longer phrases have to check post by post
            # ("site reliability engineer" berlin checks only the posts in Berlin).
            found = universe
            for child in sorted(query.children, key=_cost):
                found &= self._evaluate(child, found)
                if not found:
                    break
            return found
        found = 0
        for child in query.children:
            found |= self._evaluate(child, universe)
        return found & universe

    def _has_phrase(self, position: int, words: tuple[str, ...], spaced: str) -> bool:
        """`spaced` is the words joined by spaces, with a space either side."""
        text = self.tokens[position]
        # Tokens hold no spaces, so the words in a row are the same characters in a row; only a
        # hashtag can match another way (#data also stands at its position as "data").
        if spaced in f" {text} ":
            return True
        if "#" not in text:
            return False
        return Document(set(), text.split(" ") if text else []).has_phrase(words)


def _cost(query: Query) -> int:
    """How much evaluating `query` may cost, roughly: a lookup, a nested group, a phrase whose
    candidates are checked one by one, a negation (cheap, but it narrows nothing)."""
    if isinstance(query, Term) or (isinstance(query, Phrase) and len(query.words) == 2):
        return 0
    if isinstance(query, And | Or):
        return 1
    return 2 if isinstance(query, Phrase) else 3


# Postings shorter than this are turned into a bitset on each use (a few shifts); longer ones are
# kept as bitsets, at most this many terms (about 6 KB each at 50,000 posts) before starting over.
_CACHED_FROM = 64
_CACHED_TERMS = 4096
# Zones and days kept (a calendar is about 1.2 MB at 50,000 posts: 7 days and 175 hours).
_CALENDARS = 8
_HOURS_PER_DAY = 25  # a day that ends a summer time has 25


@dataclass
class _Calendar:
    """The window's posts by day (oldest first) and by hour since each day's midnight, as
    bitsets, for one zone and first day; `upto` positions have been placed."""

    edges: list[float]
    """The 8 midnights around the 7 days, epoch seconds."""
    days: list[int]
    hours: list[int]
    """Day-major, so in time order."""
    window: int
    upto: int = 0
    latest: float = float("-inf")

    @classmethod
    def starting(cls, first_day: date, zone: ZoneInfo) -> _Calendar:
        edges = [
            datetime.combine(first_day + timedelta(days=n), datetime.min.time(), zone).timestamp()
            for n in range(WINDOW_DAYS + 1)
        ]
        return cls(edges, [0] * WINDOW_DAYS, [0] * (WINDOW_DAYS * _HOURS_PER_DAY), 0)

    def extend(self, times: array[float], start: int, stop: int) -> None:
        edges = self.edges
        first, last = edges[0], edges[-1]
        placed: dict[int, list[int]] = {}
        latest = self.latest
        for position in range(start, stop):
            at = times[position]
            if at < first or at >= last:
                continue
            day = bisect_right(edges, at) - 1
            hour = day * _HOURS_PER_DAY + min(int((at - edges[day]) // 3600), _HOURS_PER_DAY - 1)
            placed.setdefault(hour, []).append(position)
            latest = max(latest, at)
        for hour, positions in placed.items():
            bits = _bitset(positions)
            self.hours[hour] |= bits
            self.days[hour // _HOURS_PER_DAY] |= bits
            self.window |= bits
        self.upto, self.latest = stop, latest


def _bitset(positions: Sequence[int]) -> int:
    """Ascending positions as an int with those bits set."""
    if len(positions) < 8:
        value = 0
        for position in positions:
            value |= 1 << position
        return value
    low = positions[0] >> 3
    raw = bytearray((positions[-1] >> 3) - low + 1)
    for position in positions:
        raw[(position >> 3) - low] |= 1 << (position & 7)
    return int.from_bytes(raw, "little") << (low << 3)


def _positions(bits: int) -> list[int]:
    """The set bits of a non-negative int, ascending."""
    # One pass over its binary digits (lowest first) beats peeling bits off a large int.
    digits = bin(bits)[:1:-1]
    found: list[int] = []
    position = digits.find("1")
    while position >= 0:
        found.append(position)
        position = digits.find("1", position + 1)
    return found
