"""An Atom 1.0 feed (RFC 4287) per saved search, behind a signed unguessable URL.

The feed holds the newest 100 posts of the last 7 days (today and the 6 UTC days before) that
the search matches, newest first: author, time, text, the post's link (`alternate`) and the job
ad's (`related`, titled "View the job"). It is computed when asked, from the window of recent
posts the previews keep in memory (`preview.RecentWindow`), with the same query language and the
search as it reads now: the match function writes nothing per match for it (a feed entry per
match was a write unit per match, whether or not anybody read the feed).

The ETag is derived from what decides the document (the search, the ids it lists, the format)
before any post is read, so a conditional GET that matches (If-None-Match first,
If-Modified-Since only without it, RFC 9110 13.1.3) gets 304 for one pass over the window and
no read; `Last-Modified` is the newest listed post's time (or the search's birth). The posts a
200 shows are read by id and kept by the warm worker (posts do not change).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jobalerts import tokens
from jobalerts.digests.compose import job_url
from jobalerts.digests.text import clean, one_line, safe_url
from jobalerts.errors import InvalidToken, NotFound
from jobalerts.links import Links, expand_id
from jobalerts.models import Post, SavedSearch, Subscriber, SubscriberStatus, author_key
from jobalerts.observability import logger, tracer
from jobalerts.preview import RecentWindow
from jobalerts.query import QuerySyntaxError
from jobalerts.recent import WINDOW_DAYS
from jobalerts.settings import PublicLinkSettings
from jobalerts.store import SearchesRepository, SubscribersRepository

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
SOURCE_LABELS = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky"}
# XML 1.0 has no place for other control characters, lone surrogates or U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM)

FEED_DAYS = WINDOW_DAYS
MAX_ENTRIES = 100
# Part of every ETag: a change to the document's form reaches readers holding an old one.
FORMAT = "2"
# Posts a warm worker keeps for the feeds it serves (a reader polls the same ones again).
POST_CACHE = 5_000


@dataclass(frozen=True)
class FeedResponse:
    status: int
    body: str
    headers: dict[str, str]


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", clean(text))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag(authority: str, specific: str) -> str:
    """A tag URI (RFC 4151): stable however the feed's address changes."""
    return f"tag:{authority},2026:{quote(specific, safe='/-_.')}"


def _add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def render_feed(
    search: SavedSearch, posts: list[Post], self_url: str, authority: str, modified: datetime
) -> str:
    """The feed document; `posts` newest first, `modified` its `updated`."""
    name = one_line(search.query, 120)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _tag(authority, f"feed/{search.search_id}"))
    _add(feed, "title", _xml_text(f"jobalerts: {name}"))
    _add(feed, "subtitle", f"Posts matching this saved search in the last {FEED_DAYS} days")
    _add(feed, "updated", _rfc3339(modified))
    _add(_add(feed, "author"), "name", "jobalerts")
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "generator", "jobalerts")
    for post in posts:
        _entry(feed, post, authority)
    ET.indent(feed)
    body = ET.tostring(feed, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


def _entry(feed: ET.Element, post: Post, authority: str) -> None:
    handle = one_line(post.author_handle, 80).lstrip("@")
    source = SOURCE_LABELS.get(post.source, post.source)
    text = _xml_text(post.text).strip()
    if post.content_warning:
        text = f"[Content warning: {_xml_text(one_line(post.content_warning, 200))}]\n{text}"
    element = _add(feed, "entry")
    _add(element, "id", _tag(authority, f"post/{post.id}"))
    _add(element, "title", _xml_text(one_line(f"@{handle}: {text}", 120)))
    _add(element, "updated", _rfc3339(post.created_at))
    _add(element, "published", _rfc3339(post.created_at))
    author = _add(element, "author")
    label = f"@{handle}" + (f" ({one_line(post.author_name, 80)})" if post.author_name else "")
    _add(author, "name", _xml_text(label))
    post_url = safe_url(post.url)
    if post_url:
        _add(element, "link", rel="alternate", type="text/html", href=post_url)
    job = job_url(post)
    if job:
        _add(element, "link", rel="related", type="text/html", href=job, title="View the job")
    _add(element, "category", term=post.source, label=source)
    _add(element, "content", text, type="text")


def etag_of(
    search: SavedSearch, post_ids: tuple[str, ...], self_url: str, muted: frozenset[str]
) -> str:
    """Everything the document is made of: its address, the search, the posts (by id: a stored
    post does not change), the accounts left out and the format."""
    material = [FORMAT, self_url, search.search_id, search.query, search.created_at.isoformat()]
    material.append(" ".join(sorted(muted)))
    digest = hashlib.blake2b("\n".join([*material, *post_ids]).encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'


def has_feeds(subscriber: Subscriber) -> bool:
    """Whether her feeds answer (else 404): only while she is active, paused or not. The
    manage page lists feed links on the same rule, so it never shows one that is dead."""
    return subscriber.status is SubscriberStatus.ACTIVE


def not_modified(
    etag: str, modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in candidates or etag in candidates
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return modified.replace(microsecond=0) <= since
    return False


class FeedService:
    """The feed use case behind `/feeds/<code>`. Collaborators can be injected."""

    def __init__(
        self,
        *,
        settings: PublicLinkSettings,
        subscribers: SubscribersRepository,
        searches: SearchesRepository,
        window: RecentWindow,
        signer: Callable[[], tokens.Signer],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.subscribers = subscribers
        self.searches = searches
        self.window = window
        self._signer = signer
        self.clock = clock
        self._posts: OrderedDict[str, Post] = OrderedDict()

    @property
    def signer(self) -> tokens.Signer:
        """The key is fetched from Secrets Manager on first use (the provider caches it)."""
        return self._signer()

    @tracer.capture_method(capture_response=False)
    def respond(
        self, code: str, if_none_match: str | None = None, if_modified_since: str | None = None
    ) -> FeedResponse:
        """InvalidToken for a forged code; NotFound once the search or its subscriber is gone."""
        subject = self.signer.verify_short(code, tokens.FEED)
        compact, _, compact_search = subject.partition("~")
        if not compact or not compact_search:
            raise InvalidToken("this link is not valid")
        # Feed links sent before the search id was compacted carry it as hex; both still open.
        subscriber_id, search_id = expand_id(compact), expand_id(compact_search)
        subscriber = self.subscribers.get(subscriber_id)
        if not has_feeds(subscriber):
            raise NotFound("feed")
        search = self.searches.get(subscriber_id, search_id)  # NotFound once deleted
        links = Links(self.settings.public_base_url, self.signer)
        self_url = f"{links.base_url.rstrip('/')}/feeds/{code}"
        authority = urlsplit(links.base_url).hostname or "jobalerts.invalid"
        now = self.clock()
        ids, times = self._matching(search, now)
        modified = max([datetime.fromtimestamp(t, UTC) for t in times[:1]] + [search.created_at])
        # Accounts the subscriber muted are left out here as in the digests.
        muted = frozenset(author_key(handle) for handle in subscriber.muted)
        etag = etag_of(search, ids, self_url, muted)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
            # The URL is the secret: no shared cache may keep the feed.
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        }
        if not_modified(etag, modified, if_none_match, if_modified_since):
            return FeedResponse(304, "", headers)
        shown = [p for p in self._read(ids, now) if author_key(p.author_handle) not in muted]
        body = render_feed(search, shown, self_url, authority, modified)
        return FeedResponse(200, body, {**headers, "Content-Type": CONTENT_TYPE})

    def _matching(
        self, search: SavedSearch, now: datetime
    ) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """Ids and times of the newest posts the search matches, newest first."""
        try:
            found = self.window.find(search.query, ZoneInfo("UTC"), now, MAX_ENTRIES)
        except QuerySyntaxError:
            # Stored before a change to the language: an empty feed, not an error page.
            logger.warning("feed of an unparsable search", search_id=search.search_id)
            return (), ()
        return found.newest, found.newest_at

    def _read(self, post_ids: tuple[str, ...], now: datetime) -> list[Post]:
        """The posts, in order; those gone from the posts table are left out."""
        cache = self._posts
        missing = [i for i in post_ids if i not in cache]
        if missing:
            cache.update(self.window.posts.get_many(missing, now))
        found: list[Post] = []
        for post_id in post_ids:
            if post_id in cache:
                cache.move_to_end(post_id)
                found.append(cache[post_id])
        while len(cache) > POST_CACHE:
            cache.popitem(last=False)
        return found
