"""Rendering a composed digest: the email (HTML + text), the hosted web view and the SMS.

One Jinja2 environment per process (compiled templates are cached in it): autoescape is on for
every `.html` template and for string templates; the `.txt` part is plain text by design and
gets its user content through `clean` instead. Templates receive a view model whose strings are
already cleaned and whose post HTML is built by `highlight`, which escapes before marking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from jobalerts.digests.compose import Digest, DigestItem, DigestSection
from jobalerts.digests.sms import compose_sms
from jobalerts.digests.text import clean, highlight, one_line
from jobalerts.models import Post, author_key
from jobalerts.schedule import zone_of

SOURCE_LABELS = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky"}
PREHEADER_LENGTH = 110


@dataclass(frozen=True)
class DigestLinks:
    """Signed links for one digest. The web view gets none of the account links: whoever holds
    a forwarded digest link must not be able to manage or cancel the subscription."""

    view: str
    manage: str | None = None
    pause: str | None = None
    unsubscribe: str | None = None
    feeds: Mapping[str, str] = field(default_factory=dict)
    """search id -> its Atom feed (read-only, but it follows the search: email only)."""
    mute: Mapping[str, str] = field(default_factory=dict)
    """author key -> the link that mutes that account (email and web view: it only ever
    hides posts, so a forwarded web view risks nothing more)."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def build_environment() -> Environment:
    return Environment(
        loader=PackageLoader("jobalerts", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=True, default=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def environment() -> Environment:
    return build_environment()


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'Mon 3 Jun, 14:05 CEST' in the subscriber's zone; month and day names are English."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local:%Z}".rstrip()


def local_day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B} {local.year}"


def _handle(handle: str) -> str:
    handle = one_line(handle, 80)
    return handle if handle.startswith("@") else f"@{handle}"


def profiles(post: Post) -> dict[str, str]:
    """Mentioned handle -> profile URL: what the source told us, else X's profile path."""
    found = {h: f"https://x.com/{h}" for h in post.mentions if post.source == "x"}
    found.update(post.mention_urls)
    return found


def item_view(item: DigestItem, zone: ZoneInfo) -> dict[str, Any]:
    """One post as the digest item template shows it (escaped, terms marked)."""
    post = item.post
    return {
        "handle": _handle(post.author_handle),
        "author_key": author_key(post.author_handle),
        "name": one_line(post.author_name, 80),
        "when": local_time(post.created_at, zone),
        "when_iso": post.created_at.isoformat(),
        "warning": one_line(post.content_warning, 200),
        "html": highlight(post.text, item.terms, profiles(post)),
        "text": clean(post.text).strip(),
        "url": item.url,
        "job_url": item.job_url,
        "source": SOURCE_LABELS.get(post.source, post.source),
        "also_matches": list(item.also_matches),
        "also_posted_by": [_handle(h) for h in item.also_posted_by],
    }


def _section(
    section: DigestSection, index: int, zone: ZoneInfo, limit: int | None
) -> dict[str, Any]:
    fair = section.fair
    items = fair if limit is None else fair[:limit]
    return {
        "name": section.name,
        "search_id": section.search_id,
        "count": len(section.items),
        "items": [item_view(i, zone) for i in items],
        "more": len(fair) - len(items),
        # Anchors are positions, never user text: the web view opens the matching <details>.
        "more_from": [
            {
                "handle": _handle(extra.author),
                "count": len(extra.items),
                "anchor": f"s{index}-more-{number}",
                "items": [
                    item_view(i, zone)
                    for i in (extra.items if limit is None else extra.items[:limit])
                ],
            }
            for number, extra in enumerate(section.overflow, start=1)
        ],
    }


def context(digest: Digest, links: DigestLinks, *, per_search: int | None) -> dict[str, Any]:
    """`per_search`: how many posts each search shows (None: all of them)."""
    zone = zone_of(digest.subscriber)
    sections = [_section(s, i, zone, per_search) for i, s in enumerate(digest.sections, start=1)]
    first = sections[0]["items"][0]
    preheader = one_line(f"{first['handle']}: {first['text']}", PREHEADER_LENGTH)
    return {
        "subject": digest.subject,
        "preheader": preheader,
        "count": digest.count,
        "jobs": "job" if digest.count == 1 else "jobs",
        "searches": len(sections),
        "day": local_day(digest.window, zone),
        "timezone": zone.key,
        "sections": sections,
        "links": links,
    }


def render_email(
    digest: Digest, links: DigestLinks, env: Environment | None = None
) -> RenderedEmail:
    env = env or environment()
    limit = digest.sections[0].limit
    data = context(digest, links, per_search=limit)
    return RenderedEmail(
        subject=digest.subject,
        html=env.get_template("email/digest.html").render(data),
        text=env.get_template("email/digest.txt").render(data),
    )


def render_web(
    digest: Digest,
    view_link: str,
    env: Environment | None = None,
    per_search: int | None = None,
    mute: Mapping[str, str] | None = None,
) -> str:
    """The archived page behind the digest link: every post (unless capped), no account links
    but the mute links."""
    env = env or environment()
    data = context(digest, DigestLinks(view=view_link, mute=mute or {}), per_search=per_search)
    return env.get_template("web/digest.html").render(data)


def render_sms(digest: Digest, view_link: str) -> str:
    return compose_sms(digest.count, digest.names_by_size, view_link)
