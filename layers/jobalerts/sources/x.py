"""X API v2 recent search: planned queries, next_token paging, since_id checkpoints, budgets.

Checkpoint: `{"since": {<query key>: <since_id>}, "floor": <newest id seen>}`, committed after
each query (ingest stores that query's posts, then saves it) and at the end. Each planned
query resumes from its own since_id; a query new to the plan starts at the floor rather than
reading back seven days. A query whose paging was cut short (429, 401, budget, errors) keeps its
old since_id, so the next run re-reads those pages (stored posts are skipped) instead of leaving
a gap. A query that simply has more than `max_pages` of backlog moves on to its newest id: alerts
are about fresh posts and the backlog's oldest posts are not worth the reads.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from jobalerts.models import Post
from jobalerts.observability import logger
from jobalerts.sources.base import (
    BUDGET,
    ERROR,
    RATE_LIMITED,
    UNAUTHORIZED,
    BadResponse,
    Commit,
    FetchResult,
    MissingCredentials,
    Progress,
    RateLimited,
    SourceError,
    Unavailable,
)
from jobalerts.sources.http import HttpStatusError, Sleep, reset_at, send
from jobalerts.sources.normalize import canonical_link, unescape

if TYPE_CHECKING:
    from jobalerts.settings import SourceSettings
    from jobalerts.sources.base import SourceStores

SEARCH_PATH = "/2/tweets/search/recent"
MIN_RESULTS, MAX_RESULTS = 10, 100
FIELDS = {
    "expansions": "author_id",
    "user.fields": "username,name",
    "tweet.fields": "created_at,entities,lang,author_id,referenced_tweets",
}


def query_key(query: str) -> str:
    """Checkpoint key of one planned query (queries are up to 512 characters)."""
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def _newer(a: str | None, b: str | None) -> str | None:
    """The larger of two tweet ids (snowflakes: numeric order is time order)."""
    if a is None or not a.isdigit():
        return b
    if b is None or not b.isdigit():
        return a
    return a if int(a) >= int(b) else b


@dataclass
class _Run:
    result: FetchResult
    budget: int | None
    dropped: int = 0

    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.result.reads


@dataclass
class XSource:
    client: httpx.Client
    base_url: str
    token: str = field(repr=False)
    queries: Callable[[], list[str]]
    blocked: set[str] = field(default_factory=set)
    retries: int = 3
    backoff: float = 0.5
    sleep: Sleep = time.sleep
    name: str = "x"

    def fetch(
        self,
        checkpoint: dict[str, Any] | None,
        *,
        max_pages: int,
        budget: int | None,
        commit: Commit | None = None,
    ) -> FetchResult:
        """With `commit`, each query's posts are committed before the next query is read."""
        saved = checkpoint or {}
        since: dict[str, str] = dict(saved.get("since") or {})
        first_floor: str | None = saved.get("floor")
        floor = first_floor
        run = _Run(FetchResult(), budget)
        next_since: dict[str, str] = {}
        queries = self.queries()
        progress = Progress(commit, run.result, {"since": since, "floor": first_floor})

        def kept(later: list[str]) -> dict[str, str]:
            """Queries not read yet keep the positions they would have started from."""
            positions = {query_key(q): since.get(query_key(q)) or first_floor for q in later}
            return {k: v for k, v in positions.items() if v}

        for position, query in enumerate(queries):
            key = query_key(query)
            # Not the floor this run has moved: posts between the two are new to this query.
            start = since.get(key) or first_floor
            newest, complete, fatal = self._read(query, start, max_pages, run)
            if complete:
                newest = newest or start
                floor = _newer(floor, newest)
            else:
                newest = start
            if newest:
                next_since[key] = newest
            later = queries[position + 1 :]
            if fatal:
                next_since.update(kept(later))
                break
            if later:
                # The floor stays put until the run ends: a query new to the plan, read after
                # a crash, must start where this run's new queries started.
                progress({"since": {**kept(later), **next_since}, "floor": first_floor})
        run.result.checkpoint = {"since": next_since, "floor": floor}
        logger.info(
            "x fetch done",
            queries=len(queries),
            reads=run.result.reads,
            pages=run.result.pages,
            kept=len(run.result.posts),
            dropped=run.dropped,
            stopped=run.result.stopped,
        )
        return run.result

    def _read(
        self, query: str, start: str | None, max_pages: int, run: _Run
    ) -> tuple[str | None, bool, bool]:
        """Page through one query: (its newest id, every page read, stop the whole run)."""
        newest: str | None = None
        token: str | None = None
        for page in range(max_pages):
            remaining = run.remaining()
            if remaining is not None and remaining < MIN_RESULTS:
                run.result.stopped = BUDGET
                logger.warning("x read budget reached", reads=run.result.reads)
                return newest, False, True
            params: dict[str, Any] = {
                "query": query,
                "max_results": MAX_RESULTS
                if remaining is None
                else max(MIN_RESULTS, min(MAX_RESULTS, remaining)),
                "since_id": start,
                "next_token": token,
                **FIELDS,
            }
            try:
                body, headers = send(
                    self.client,
                    "GET",
                    f"{self.base_url.rstrip('/')}{SEARCH_PATH}",
                    params,
                    {"authorization": f"Bearer {self.token}"},
                    retries=self.retries,
                    backoff=self.backoff,
                    sleep=self.sleep,
                )
                data, meta = self._page(body)
            except RateLimited as exc:
                logger.warning("x rate limited", reset_at=str(exc.reset_at))
                run.result.stopped, run.result.resume_after = RATE_LIMITED, exc.reset_at
                return newest, False, True
            except HttpStatusError as exc:
                if exc.status == 401:
                    # A rotated or revoked token: every other query would be refused as well.
                    logger.warning("x token refused", status=exc.status)
                    run.result.stopped = UNAUTHORIZED
                    return newest, False, True
                if exc.status != 400 or start is None or token is not None:
                    logger.warning("x query refused", error=str(exc), status=exc.status)
                    run.result.stopped = ERROR
                    return newest, False, False
                # X refuses a since_id older than its 7-day window (after a long pause or a
                # month out of budget): read from the newest posts instead of never again.
                logger.warning("x since_id refused, reading from the newest posts")
                return self._read(query, None, max_pages, run)
            except (Unavailable, BadResponse) as exc:
                logger.warning("x query failed", error=str(exc), kind=type(exc).__name__)
                run.result.stopped = ERROR
                # X being down ends the run; one bad page or query only skips that query.
                return newest, False, isinstance(exc, Unavailable)
            run.result.pages += 1
            run.result.reads += len(data)
            if page == 0:
                newest = _newer(meta.get("newest_id"), _max_id(data))
            users = self._users(body)
            for tweet in data:
                post = self._post(tweet, users)
                if post is None:
                    run.dropped += 1
                else:
                    run.result.posts.append(post)
            token = meta.get("next_token")
            if _exhausted(headers):
                run.result.stopped = RATE_LIMITED
                run.result.resume_after = reset_at(headers)
                return newest, token is None, True
            if not token:
                return newest, True, False
        return newest, True, False

    @staticmethod
    def _page(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        data = body.get("data", [])
        meta = body.get("meta", {})
        if not isinstance(data, list) or not isinstance(meta, dict):
            raise BadResponse("x search: data is not a list or meta is not an object")
        if not data and "errors" in body and "meta" not in body:
            raise BadResponse("x search: errors without data")
        return [t for t in data if isinstance(t, dict)], meta

    @staticmethod
    def _users(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        includes = body.get("includes")
        users = includes.get("users", []) if isinstance(includes, dict) else []
        return {
            str(u["id"]): u
            for u in users
            if isinstance(u, dict) and "id" in u and isinstance(u.get("username"), str)
        }

    def _post(self, tweet: dict[str, Any], users: Mapping[str, dict[str, Any]]) -> Post | None:
        """A Post, or None for retweets, blocked authors and records missing what we need."""
        tweet_id, text = tweet.get("id"), tweet.get("text")
        user = users.get(str(tweet.get("author_id")))
        if not isinstance(tweet_id, str) or not isinstance(text, str) or user is None:
            logger.info("x post skipped: missing fields", post_id=str(tweet_id))
            return None
        referenced = tweet.get("referenced_tweets") or []
        if text.startswith("RT @") or any(
            isinstance(r, dict) and r.get("type") == "retweeted" for r in referenced
        ):
            return None
        handle = str(user["username"])
        if handle.lower() in self.blocked:
            return None
        try:
            created_at = datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            logger.info("x post skipped: bad created_at", post_id=tweet_id)
            return None
        raw_entities = tweet.get("entities")
        entities: dict[str, Any] = raw_entities if isinstance(raw_entities, dict) else {}
        # Unescape first: an expanded link's "&region=" must not be read as the entity "&reg".
        text, links = _expand_links(unescape(text), entities.get("urls") or [], tweet_id)
        return Post(
            id=f"x#{tweet_id}",
            source="x",
            author_handle=handle,
            author_name=str(user.get("name") or ""),
            text=text,
            url=f"https://x.com/{handle}/status/{tweet_id}",
            links=links,
            hashtags=_values(entities.get("hashtags"), "tag"),
            mentions=_values(entities.get("mentions"), "username"),
            lang=tweet.get("lang") if isinstance(tweet.get("lang"), str) else None,
            created_at=created_at,
        )


def _expand_links(text: str, urls: list[Any], tweet_id: str) -> tuple[str, list[str]]:
    """Put the real URL back where X wrote a t.co one; drop links to the tweet's own media."""
    links: list[str] = []
    for entry in urls:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        target = entry.get("unwound_url") or entry.get("expanded_url") or entry["url"]
        own_media = f"/status/{tweet_id}/" in str(target)
        text = text.replace(entry["url"], "" if own_media else str(target))
        if not own_media:
            link = canonical_link(str(target))
            if link not in links:
                links.append(link)
    return text.strip(), links


def _values(items: Any, key: str) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(i[key]) for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]


def _max_id(data: list[dict[str, Any]]) -> str | None:
    newest: str | None = None
    for tweet in data:
        tweet_id = tweet.get("id")
        newest = _newer(newest, tweet_id if isinstance(tweet_id, str) else None)
    return newest


def _exhausted(headers: httpx.Headers) -> bool:
    """X says how many calls are left in the window; at zero, stop before a 429."""
    remaining = headers.get("x-rate-limit-remaining")
    return remaining is not None and remaining.strip() == "0"


def build(
    settings: SourceSettings,
    client: httpx.Client,
    credentials: Mapping[str, Any],
    stores: SourceStores,
) -> XSource:
    token = credentials.get("x_bearer_token")
    if not token:
        raise MissingCredentials("x source needs x_bearer_token (X_BEARER_TOKEN when local)")
    return XSource(
        client=client,
        base_url=settings.x_base_url,
        token=str(token),
        queries=stores.planned_queries,
        blocked=settings.blocked_authors,
    )


__all__ = ["SourceError", "XSource", "build", "query_key"]
