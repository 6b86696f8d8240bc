"""Preview a search before saving it: what it would have matched over the last 7 days.

Write side (the match function): `remember` appends each stream batch's new posts to the
recent-posts window as compressed summaries (`store.recent`), one item per batch and arrival day.

Read side (the subscriptions function and the console): `RecentWindow` keeps the window decoded
and indexed in memory for as long as the worker stays warm. A cold worker reads the last 9
arrival days (one Query each, paginated); a warm one asks only today's partition for chunks
newer than the last it saw (one Query, at most every MAX_AGE), so a preview costs that Query
plus one BatchGetItem for the 10 newest matches (to show them like a digest). The posts table
is never scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jobalerts import query as query_language
from jobalerts import recent
from jobalerts.digests.compose import DigestItem, job_url
from jobalerts.digests.render import item_view
from jobalerts.digests.text import safe_url, terms_of
from jobalerts.errors import JobAlertsError, RateLimited
from jobalerts.models import Post
from jobalerts.observability import logger, metrics
from jobalerts.settings import SignupLimitSettings
from jobalerts.store.posts import PostsRepository
from jobalerts.store.ratelimits import Limit, RateLimits
from jobalerts.store.recent import KEEP_DAYS, RecentPostsRepository

# Concurrent match invocations can write a chunk keyed a little before one already read: every
# refresh re-reads this much before the newest key it has seen (chunks are deduplicated by id).
REFRESH_OVERLAP = timedelta(minutes=2)
# A burst of previews shares one look for new posts: a preview may miss the last half minute.
MAX_AGE = timedelta(seconds=30)
# The same searches are previewed again and again (the page posts back as people refine a search),
# and an AST is small and immutable: parsing is then no longer part of a warm preview's time.
_parsed = lru_cache(maxsize=1024)(query_language.parse)
# Summaries per stored item: far below DynamoDB's 400 KB item limit once compressed.
CHUNK_POSTS = 500


def remember(repository: RecentPostsRepository, posts: Iterable[Post], now: datetime) -> int:
    """Append new posts to the window (posts older than it are left out); returns how many."""
    oldest = now - timedelta(days=recent.WINDOW_DAYS)
    summaries = [recent.Summary.of(p) for p in posts if p.created_at >= oldest]
    for start in range(0, len(summaries), CHUNK_POSTS):
        chunk = summaries[start : start + CHUNK_POSTS]
        repository.put_chunk(now, [s.post_id for s in chunk], recent.encode(chunk))
    return len(summaries)


def remember_quietly(
    repository: RecentPostsRepository, posts: Iterable[Post], now: datetime
) -> None:
    """`remember` for the match function: a preview is a convenience, matching is the job, so a
    failure here is logged and counted, never retried at the cost of the batch."""
    try:
        remembered = remember(repository, posts, now)
    except JobAlertsError as exc:
        logger.warning("recent posts not remembered", error=type(exc).__name__)
        metrics.add_metric(name="RecentPostsNotRemembered", unit="Count", value=1)
        return
    if remembered:
        metrics.add_metric(name="RecentPostsRemembered", unit="Count", value=remembered)


@dataclass(frozen=True)
class PreviewResult:
    query: str
    days: tuple[tuple[str, int], ...]
    total: int
    scanned: int
    posts: tuple[Post, ...]
    """The newest matches still stored, newest first."""
    zone: ZoneInfo

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "timezone": self.zone.key,
            "days": [{"date": day, "matches": count} for day, count in self.days],
            "total": self.total,
            "scanned": self.scanned,
            "newest": [
                {
                    "id": post.id,
                    "source": post.source,
                    "author": post.author_handle,
                    "created_at": post.created_at.isoformat(),
                    "text": post.text,
                    "url": safe_url(post.url),
                    "job_url": job_url(post),
                }
                for post in self.posts
            ],
        }

    def view(self) -> dict[str, Any]:
        """For the pages: days with weekday names, and the posts as digest items (escaped)."""
        terms = terms_of(self.query)
        items = [
            item_view(
                DigestItem(post=p, terms=terms, url=safe_url(p.url), job_url=job_url(p)),
                self.zone,
            )
            for p in self.posts
        ]
        most = max((count for _, count in self.days), default=0)
        return {
            "query": self.query,
            "timezone": self.zone.key,
            "days": [
                {
                    "date": day,
                    "label": f"{date.fromisoformat(day):%a %-d %b}",
                    "count": count,
                    "width": round(100 * count / most) if most else 0,
                }
                for day, count in self.days
            ],
            "total": self.total,
            "scanned": self.scanned,
            "items": items,
        }


class RecentWindow:
    """The window as one warm worker sees it; `preview` refreshes it first."""

    def __init__(
        self,
        repository: RecentPostsRepository,
        posts: PostsRepository,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self.repository = repository
        self.posts = posts
        self.clock = clock
        self.max_age = max_age
        self.refreshed_at: datetime | None = None
        self.index = recent.RecentIndex()
        self.newest_key: dict[str, str] = {}
        """Arrival day -> the newest chunk key read from it."""
        self.read_keys: set[str] = set()
        self.refreshed_on: date | None = None
        self.started_on: date | None = None

    def refresh(self, now: datetime | None = None) -> int:
        """Read what arrived since the last refresh; returns how many posts were added."""
        now = now or self.clock()
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=KEEP_DAYS)
        if self.started_on is None or self.started_on < first - timedelta(days=1):
            # Cold, or a day has left the window: start over rather than prune postings.
            self.index, self.newest_key, self.refreshed_on = recent.RecentIndex(), {}, None
            self.read_keys = set()
            self.started_on = first
        # Closed days are read once more after they close (a late chunk), then never again.
        since = first if self.refreshed_on is None else max(first, self.refreshed_on)
        added = 0
        day = since
        while day <= today:
            name = day.isoformat()
            after = self._after(self.newest_key.get(name))
            for chunk in self.repository.chunks(name, after, now):
                if chunk.key in self.read_keys:
                    continue  # the overlap: read again, not decoded again
                self.read_keys.add(chunk.key)
                added += self.index.add(recent.decode(chunk.data))
                if chunk.key > self.newest_key.get(name, ""):
                    self.newest_key[name] = chunk.key
            day += timedelta(days=1)
        self.refreshed_on, self.refreshed_at = today, now
        return added

    @staticmethod
    def _after(newest: str | None) -> str | None:
        if newest is None:
            return None
        arrived = datetime.fromisoformat(newest.split("#", 1)[0])
        return (arrived - REFRESH_OVERLAP).isoformat(timespec="microseconds")

    def preview(
        self, text: str, zone: ZoneInfo | None = None, now: datetime | None = None
    ) -> PreviewResult:
        """`text` must be a valid query (validated at the edge: `requests.PreviewRequest`)."""
        now = now or self.clock()
        zone = zone or ZoneInfo("UTC")
        found = self.find(text, zone, now)
        stored = self.posts.get_many(list(found.newest), now) if found.newest else {}
        logger.info("search previewed", matches=found.total, scanned=found.scanned)
        return PreviewResult(
            query=text,
            days=found.days,
            total=found.total,
            scanned=found.scanned,
            posts=tuple(stored[i] for i in found.newest if i in stored),
            zone=zone,
        )

    def find(
        self, text: str, zone: ZoneInfo, now: datetime, newest: int = recent.NEWEST
    ) -> recent.Preview:
        """What the window holds for a valid query, refreshed first when older than max_age."""
        if self.refreshed_at is None or now - self.refreshed_at >= self.max_age:
            self.refresh(now)
        return self.index.preview(_parsed(text), now, zone, newest)


class SearchPreviews:
    """Previews for the public: rate limited per client address and overall (sliding windows,
    like sign-ups), since each one costs two DynamoDB requests and some CPU."""

    def __init__(
        self, window: RecentWindow, limits: RateLimits, settings: SignupLimitSettings
    ) -> None:
        self.window = window
        self.limits = limits
        self.settings = settings

    def preview(
        self,
        text: str,
        *,
        client: str,
        zone: ZoneInfo | None = None,
        now: datetime | None = None,
    ) -> PreviewResult:
        """RateLimited when this client (or everyone) has previewed too often."""
        moment = now or self.window.clock()
        window = self.settings.preview_window_seconds
        checks = [
            (Limit("preview-client", self.settings.preview_limit_per_client, window), client),
            (Limit("preview-all", self.settings.preview_limit_overall, window), "all"),
        ]
        for limit, key in checks:
            retry_after = self.limits.take(limit, key or "unknown", moment.timestamp())
            if retry_after is not None:
                logger.info("preview rate limited", bucket=limit.bucket, retry_after=retry_after)
                metrics.add_metric(name="PreviewsRateLimited", unit="Count", value=1)
                raise RateLimited(retry_after)
        return self.window.preview(text, zone, moment)
