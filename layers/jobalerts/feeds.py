"""An Atom 1.0 feed (RFC 4287) per saved search, behind a signed unguessable URL.

The feed holds what the search matched in the last 7 days, newest post first: author, time,
text, the post's link (`alternate`) and the job ad's (`related`, titled "View the job"). It is
built only from what it shows, never from the clock, so its ETag changes exactly when its
content does; `Last-Modified` is the latest time something was added. A conditional GET that
matches (If-None-Match first, If-Modified-Since only without it, RFC 9110 13.1.3) gets 304.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlsplit

from jobalerts import tokens
from jobalerts.digests.compose import job_url
from jobalerts.digests.text import clean, one_line, safe_url
from jobalerts.errors import InvalidToken, NotFound
from jobalerts.links import Links, expand_id
from jobalerts.models import SavedSearch, SubscriberStatus
from jobalerts.observability import tracer
from jobalerts.settings import PublicLinkSettings
from jobalerts.store import SearchesRepository, SubscribersRepository
from jobalerts.store.feeds import FEED_DAYS, FeedEntry, FeedRepository

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
SOURCE_LABELS = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky"}
# XML 1.0 has no place for other control characters, lone surrogates or U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM)


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
    search: SavedSearch, entries: list[FeedEntry], self_url: str, authority: str
) -> tuple[str, datetime]:
    """The feed document and its modification time (latest match, else the search's birth)."""
    modified = max((e.matched_at for e in entries), default=search.created_at)
    name = one_line(search.query, 120)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", _tag(authority, f"feed/{search.search_id}"))
    _add(feed, "title", _xml_text(f"jobalerts: {name}"))
    _add(feed, "subtitle", f"Posts matching this saved search in the last {FEED_DAYS} days")
    _add(feed, "updated", _rfc3339(modified))
    _add(_add(feed, "author"), "name", "jobalerts")
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "generator", "jobalerts")
    for entry in entries:
        _entry(feed, entry, authority)
    ET.indent(feed)
    body = ET.tostring(feed, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n', modified


def _entry(feed: ET.Element, entry: FeedEntry, authority: str) -> None:
    post = entry.post
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


def etag_of(body: str) -> str:
    return '"' + hashlib.blake2b(body.encode(), digest_size=12).hexdigest() + '"'


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
        entries: FeedRepository,
        signer: Callable[[], tokens.Signer],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.subscribers = subscribers
        self.searches = searches
        self.entries = entries
        self._signer = signer
        self.clock = clock

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
        compact, _, search_id = subject.partition("~")
        if not compact or not search_id:
            raise InvalidToken("this link is not valid")
        subscriber_id = expand_id(compact)
        subscriber = self.subscribers.get(subscriber_id)
        if subscriber.status is not SubscriberStatus.ACTIVE:
            raise NotFound("feed")
        search = self.searches.get(subscriber_id, search_id)  # NotFound once deleted
        links = Links(self.settings.public_base_url, self.signer)
        self_url = f"{links.base_url.rstrip('/')}/feeds/{code}"
        authority = urlsplit(links.base_url).hostname or "jobalerts.invalid"
        recent = self.entries.recent(subscriber_id, search_id, self.clock())
        body, modified = render_feed(search, recent, self_url, authority)
        etag = etag_of(body)
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
        return FeedResponse(200, body, {**headers, "Content-Type": CONTENT_TYPE})
