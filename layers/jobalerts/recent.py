"""The recent-posts window behind search previews: compact summaries, an in-memory index, and
the evaluation of one query over it.

The match function appends each stream batch's new posts as one compressed chunk of summaries
(`store.recent`): per post its id, time, author, language and folded tokens, which is all the
query language looks at. A preview reader keeps the decoded window in memory, indexed by term
(term -> the positions of the posts that contain it, adjacent token pairs included), and answers
a query with set algebra over those postings: a two-word phrase is its pair's postings, a longer
one is checked against the stored tokens of the posts holding all its pairs. The answers are the reference
evaluator's (`query.evaluate` on `query.document` of the post); a test holds them to it.

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
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from jobalerts.models import Post
from jobalerts.query import (
    And,
    Document,
    Not,
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
    """Ids of the newest matches, newest first (at most NEWEST)."""
    total: int
    scanned: int
    """How many recent posts the window held (for the page: "out of N posts")."""


class RecentIndex:
    """The window in memory: summaries by position, and postings per term."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.times = array("d")
        self.tokens: list[str] = []
        self.postings: dict[str, array[int]] = {}
        self._seen: set[str] = set()

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

    def preview(self, query: Query, now: datetime, zone: ZoneInfo) -> Preview:
        """Matches among posts of the last WINDOW_DAYS days in `zone` (today included)."""
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=WINDOW_DAYS - 1)
        # Midnights in the zone bound the days; bisecting on them counts without datetimes.
        edges = [
            datetime.combine(first_day + timedelta(days=n), datetime.min.time(), zone).timestamp()
            for n in range(WINDOW_DAYS + 1)
        ]
        start, end = edges[0], now.timestamp()
        times = self.times
        universe = {p for p in range(len(self.ids)) if start <= times[p] <= end}
        matched = self._evaluate(query, universe) & universe
        counts = [0] * WINDOW_DAYS
        for position in matched:
            counts[min(bisect_right(edges, times[position]) - 1, WINDOW_DAYS - 1)] += 1
        newest = heapq.nlargest(NEWEST, matched, key=lambda p: (times[p], self.ids[p]))
        return Preview(
            days=tuple(
                ((first_day + timedelta(days=n)).isoformat(), counts[n]) for n in range(WINDOW_DAYS)
            ),
            newest=tuple(self.ids[p] for p in newest),
            total=len(matched),
            scanned=len(universe),
        )

    def _evaluate(self, query: Query, universe: set[int]) -> set[int]:
        if isinstance(query, Term):
            return set(self.postings.get(query.value, ()))
        if isinstance(query, Phrase):
            words = query.words
            pairs = [Term(bigram(a, b)) for a, b in pairwise(words)] or [Term(w) for w in words]
            candidates = self._all_of(list(pairs), universe)
            if len(words) == 2:
                return candidates  # the pair itself is the phrase (hashtag forms included)
            return {p for p in candidates if self._has_phrase(p, words)}
        if isinstance(query, Not):
            return universe - self._evaluate(query.child, universe)
        if isinstance(query, And):
            return self._all_of(list(query.children), universe)
        found: set[int] = set()
        for child in query.children:
            found |= self._evaluate(child, universe)
        return found

    def _all_of(self, children: list[Query], universe: set[int]) -> set[int]:
        """An AND: intersect the positive parts (smallest first), then take the negated out."""
        positive = [c for c in children if not isinstance(c, Not)]
        negated = [c for c in children if isinstance(c, Not)]
        if positive:
            sets = sorted((self._evaluate(c, universe) for c in positive), key=len)
            found = sets[0].intersection(*sets[1:]) if len(sets) > 1 else set(sets[0])
        else:
            found = set(universe)
        for child in negated:
            if not found:
                break
            assert isinstance(child, Not)
            found -= self._evaluate(child.child, found)
        return found

    def _has_phrase(self, position: int, words: tuple[str, ...]) -> bool:
        text = self.tokens[position]
        return Document(set(), text.split(" ") if text else []).has_phrase(words)
