"""Mastodon hashtag timelines (`GET /api/v1/timelines/tag/:tag`) on configured instances.

Each (instance, tag) pair is a stream with its own checkpoint: the newest status id seen.
A stream with a checkpoint asks for `min_id=<checkpoint>`, which Mastodon answers with the
statuses just after it (oldest block first, newest first inside a page); the next page's
`min_id` comes from the `Link: <...>; rel="prev"` header (or the page's newest id). Pages
therefore move forward in time without gaps, so the checkpoint may advance page by page even
when a run stops early. A new stream starts at the newest page: there is no history backfill.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from jobalerts.models import Post
from jobalerts.observability import logger
from jobalerts.settings import SourceSettings
from jobalerts.sources.base import (
    BUDGET,
    ERROR,
    RATE_LIMITED,
    UNAUTHORIZED,
    BadResponse,
    Commit,
    FetchResult,
    Progress,
    RateLimited,
    SourceError,
    SourceStores,
)
from jobalerts.sources.html_text import html_to_text
from jobalerts.sources.http import HttpStatusError, Sleep, fetch, json_body
from jobalerts.sources.normalize import canonical_link, is_social

NAME = "mastodon"
PAGE_LIMIT = 40  # the API's maximum
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?')


def _split(value: str | Iterable[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [i.strip().lstrip("#").lower() for i in items if i and i.strip().lstrip("#")]


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length; compare them as numbers."""
    return (len(status_id), status_id)


def newest_id(ids: Iterable[str]) -> str | None:
    return max(ids, key=id_key, default=None)


def stream_key(instance: str, tag: str) -> str:
    return f"{instance}#{tag}"


def link_params(header: str | None) -> dict[str, dict[str, str]]:
    """`Link` header -> {rel: query params}; only the parameters are used, never the host."""
    found: dict[str, dict[str, str]] = {}
    for url, rel in _LINK.findall(header or ""):
        query = parse_qs(urlsplit(url).query)
        found[rel] = {k: v[-1] for k, v in query.items()}
    return found


def parse_status(status: Mapping[str, Any], instance: str) -> Post | None:
    """One status as a Post; None for boosts and for statuses too broken to use."""
    if status.get("reblog"):
        return None
    status_id = status.get("id")
    created = status.get("created_at")
    account = status.get("account") or {}
    url = status.get("url") or status.get("uri")
    if not isinstance(status_id, str) or not status_id or not created or not url:
        return None
    acct = str(account.get("acct") or "") or _acct_from_url(str(url))
    if not acct:
        return None
    if "@" not in acct:
        acct = f"{acct}@{instance}"
    try:
        created_at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    content = html_to_text(str(status.get("content") or ""))
    links = list(dict.fromkeys(canonical_link(u) for u in content.links if not is_social(u)))
    tags = [
        str(t["name"]) for t in status.get("tags") or [] if isinstance(t, dict) and t.get("name")
    ]
    mentions = [
        str(m["acct"])
        for m in status.get("mentions") or []
        if isinstance(m, dict) and m.get("acct")
    ]
    # The text shows a mention as "@username"; its profile can live on any instance.
    mention_urls = {
        str(m["username"]): str(m["url"])
        for m in reversed(status.get("mentions") or [])
        if isinstance(m, dict)
        and isinstance(m.get("username"), str)
        and isinstance(m.get("url"), str)
        and str(m["url"]).startswith("https://")
    }
    return Post(
        id=f"mastodon#{instance}#{status_id}",
        source="mastodon",
        author_handle=acct,
        author_name=str(account.get("display_name") or ""),
        author_bot=bool(account.get("bot")),
        text=content.text,
        url=str(url),
        links=links,
        hashtags=list(dict.fromkeys(tags)),
        mentions=mentions,
        mention_urls=mention_urls,
        content_warning=" ".join(str(status.get("spoiler_text") or "").split())[:500],
        lang=status.get("language") or None,
        created_at=created_at,
    )


def _acct_from_url(url: str) -> str:
    """https://host/@user/123 -> user@host, for a status that came without its account."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[0].startswith("@") and len(segments[0]) > 1 and parts.hostname:
        user = segments[0][1:]
        return user if "@" in user else f"{user}@{parts.hostname}"
    return ""


class Refused(Exception):
    """An instance answered 401: the access token held is no longer good there."""


@dataclass
class Page:
    statuses: list[dict[str, Any]]
    links: dict[str, dict[str, str]]


def get_page(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> Page:
    """One timeline page: the body is a JSON array and the `Link` header matters."""
    response = fetch(
        client, "GET", url, params, headers, retries=retries, backoff=backoff, sleep=sleep
    )
    data = json_body(response, url)
    if not isinstance(data, list):
        raise BadResponse(f"{url}: expected a JSON array")
    statuses = [s for s in data if isinstance(s, dict)]
    return Page(statuses, link_params(response.headers.get("link")))


class MastodonSource:
    """Hashtag timelines of several instances; checkpoint `{"streams": {"<instance>#<tag>": id}}`."""

    name = NAME

    def __init__(
        self,
        client: httpx.Client,
        instances: str | Sequence[str],
        tags: str | Sequence[str],
        *,
        base_url: str = "",
        access_token: str = "",
        limit: int = PAGE_LIMIT,
        retries: int = 3,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.client = client
        self.limit = limit
        self.instances = [i.removeprefix("https://").strip("/") for i in _split(instances)]
        self.tags = _split(tags)
        self.base_url = base_url.rstrip("/")
        self.headers = {"accept": "application/json"}
        if access_token:
            self.headers["authorization"] = f"Bearer {access_token}"
        self.retries = retries
        self.sleep = sleep

    def timeline_url(self, instance: str, tag: str) -> str:
        root = self.base_url or f"https://{instance}"
        return f"{root}/api/v1/timelines/tag/{quote(tag, safe='')}"

    def fetch(
        self,
        checkpoint: dict[str, Any] | None,
        *,
        max_pages: int,
        budget: int | None,
        commit: Commit | None = None,
    ) -> FetchResult:
        """Read every stream; `max_pages` is per stream, `budget` counts statuses over the run."""
        streams: dict[str, str] = dict((checkpoint or {}).get("streams") or {})
        result = FetchResult()
        progress = Progress(commit, result, checkpoint)
        seen: set[str] = set()
        refused: set[str] = set()
        pairs = [(i, t) for i in self.instances for t in self.tags]
        for position, (instance, tag) in enumerate(pairs):
            if result.stopped in (RATE_LIMITED, BUDGET):
                break
            if position:
                # What the streams before this one read survives a crash in this one.
                progress({"streams": streams} if streams else None)
            if instance in refused:
                continue  # its other tags would be refused as well
            key = stream_key(instance, tag)
            try:
                newest = self._read_stream(
                    instance, tag, streams.get(key), max_pages, budget, result, seen
                )
            except Refused:
                # A revoked or rotated token: ingest reads the secret again before the next run
                # rather than sending the refused one for up to an hour.
                refused.add(instance)
                result.stopped = UNAUTHORIZED
                continue
            if newest is not None:
                streams[key] = newest
        result.checkpoint = {"streams": streams} if streams else None
        logger.info(
            "mastodon fetched",
            posts=len(result.posts),
            reads=result.reads,
            pages=result.pages,
            stopped=result.stopped,
        )
        return result

    def _read_stream(
        self,
        instance: str,
        tag: str,
        since: str | None,
        max_pages: int,
        budget: int | None,
        result: FetchResult,
        seen: set[str],
    ) -> str | None:
        """Read one stream into `result`; returns its new checkpoint id, or None to keep it."""
        url = self.timeline_url(instance, tag)
        min_id = since
        newest: str | None = None
        for _ in range(max_pages):
            if budget is not None and result.reads >= budget:
                result.stopped = BUDGET
                break
            params: dict[str, Any] = {"limit": self.limit}
            if min_id is not None:
                params["min_id"] = min_id
            try:
                page = get_page(
                    client=self.client,
                    url=url,
                    params=params,
                    headers=self.headers,
                    retries=self.retries,
                    sleep=self.sleep,
                )
            except RateLimited as exc:
                result.stopped, result.resume_after = RATE_LIMITED, exc.reset_at
                logger.warning("mastodon rate limited", instance=instance, tag=tag)
                break
            except HttpStatusError as exc:
                if exc.status != 401:
                    result.stopped = result.stopped or ERROR
                    logger.warning(
                        "mastodon stream failed", instance=instance, tag=tag, error=str(exc)
                    )
                    break
                logger.warning("mastodon token refused", instance=instance, status=exc.status)
                raise Refused(instance) from exc
            except SourceError as exc:
                result.stopped = result.stopped or ERROR
                logger.warning("mastodon stream failed", instance=instance, tag=tag, error=str(exc))
                break
            result.pages += 1
            result.reads += len(page.statuses)
            ids = [str(s["id"]) for s in page.statuses if isinstance(s.get("id"), str)]
            self._collect(page.statuses, instance, result, seen)
            page_newest = newest_id(ids)
            if page_newest is not None and (newest is None or id_key(page_newest) > id_key(newest)):
                newest = page_newest
            # A new stream starts at the newest page; older history is not backfilled.
            if since is None or len(page.statuses) < self.limit or page_newest is None:
                break
            following = page.links.get("prev", {}).get("min_id") or page_newest
            if id_key(following) <= id_key(min_id or ""):
                break  # a page that does not move forward would loop
            min_id = following
        return newest

    def _collect(
        self, statuses: list[dict[str, Any]], instance: str, result: FetchResult, seen: set[str]
    ) -> None:
        for status in statuses:
            # The same status shows up under several tags (and via several instances).
            identity = str(status.get("uri") or f"{instance}#{status.get('id')}")
            if identity in seen:
                continue
            seen.add(identity)
            post = parse_status(status, instance)
            if post is None:
                reason = "boost" if status.get("reblog") else "malformed"
                logger.debug("mastodon status skipped", instance=instance, reason=reason)
                continue
            result.posts.append(post)


def build(
    settings: SourceSettings,
    client: httpx.Client,
    credentials: Mapping[str, Any],
    stores: SourceStores,
) -> MastodonSource:
    # Mastodon's public tag timelines need neither a planner nor a session.
    return MastodonSource(
        client,
        settings.mastodon_instances,
        settings.mastodon_tags,
        base_url=settings.mastodon_base_url,
        access_token=str(credentials.get("mastodon_access_token") or ""),
    )
