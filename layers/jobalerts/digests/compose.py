"""What goes into one digest: posts grouped by saved search, each post once, near-duplicates
collapsed, a cap per search, and a subject line that says what is inside.

Pure functions of their inputs, so the same pending matches always make the same digest (a
retried delivery renders what the first attempt rendered).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from jobalerts.digests.text import Terms, one_line, safe_url, terms_of
from jobalerts.identity import SOCIAL_HOSTS, fingerprints, host_of
from jobalerts.models import Channel, PendingMatch, Post, SavedSearch, Subscriber
from jobalerts.schedule import window_key

SUBJECT_LIMIT = 78
# Posts of one account per search in one digest; the rest become "+N more from @acme".
MAX_PER_AUTHOR = 3
NAME_LIMIT = 60

# Hosts that carry other posts, not the job: a link there is not "View the job".
_SHORT = {"go.bsky.app", "mastodon.social"}


def digest_id_for(subscriber_id: str, channel: Channel, window: datetime) -> str:
    """Short, unguessable-enough and deterministic: a retry archives and links the same digest."""
    key = f"{subscriber_id}#{channel.value}#{window_key(window)}".encode()
    digest = hashlib.blake2b(key, digest_size=10, person=b"jobalerts-dgst").digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")


def job_url(post: Post) -> str | None:
    """The first http(s) link of a post that leaves X, Bluesky and the post's own instance."""
    own = host_of(post.url)
    for link in post.links:
        url = safe_url(link)
        host = host_of(url) if url else ""
        if url and host and host not in SOCIAL_HOSTS and host != own and host not in _SHORT:
            return url
    return None


# ---------------------------------------------------------------- the digest


@dataclass(frozen=True)
class DigestItem:
    post: Post
    terms: Terms
    url: str | None
    """The post on its microblog."""
    also_matches: tuple[str, ...] = ()
    also_posted_by: tuple[str, ...] = ()
    job_url: str | None = None
    """The job ad itself (the first link that leaves the microblogs), when the post has one."""


@dataclass(frozen=True)
class AuthorOverflow:
    """Posts of one account beyond its share of a section: "+N more from @acme"."""

    author: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class DigestSection:
    search_id: str
    name: str
    items: tuple[DigestItem, ...]
    """Every post of the section, newest first."""
    limit: int
    per_author: int = MAX_PER_AUTHOR

    @property
    def fair(self) -> tuple[DigestItem, ...]:
        """The newest `per_author` posts of each account, in the section's order: one employer
        posting twenty times does not push everyone else out of the digest."""
        seen: dict[str, int] = {}
        kept: list[DigestItem] = []
        for item in self.items:
            author = _author_key(item.post.author_handle)
            seen[author] = seen.get(author, 0) + 1
            if seen[author] <= self.per_author:
                kept.append(item)
        return tuple(kept)

    @property
    def overflow(self) -> tuple[AuthorOverflow, ...]:
        """What `fair` left out, per account, in the order the accounts first appear."""
        groups: dict[str, list[DigestItem]] = {}
        handles: dict[str, str] = {}
        for item in self.items:
            author = _author_key(item.post.author_handle)
            handles.setdefault(author, item.post.author_handle)
            groups.setdefault(author, []).append(item)
        return tuple(
            AuthorOverflow(handles[a], tuple(items[self.per_author :]))
            for a, items in groups.items()
            if len(items) > self.per_author
        )

    @property
    def shown(self) -> tuple[DigestItem, ...]:
        return self.fair[: self.limit]

    @property
    def more(self) -> int:
        """Fairly kept posts beyond the section's limit (the per-account overflow is apart)."""
        return max(0, len(self.fair) - self.limit)


def _author_key(handle: str) -> str:
    return handle.strip().lstrip("@").casefold()


@dataclass(frozen=True)
class Digest:
    digest_id: str
    subscriber: Subscriber
    channel: Channel
    window: datetime
    sections: tuple[DigestSection, ...]
    post_ids: tuple[str, ...] = field(default=())
    """Every pending post this digest accounts for, including collapsed duplicates."""
    fingerprints: tuple[str, ...] = field(default=())

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    @property
    def names_by_size(self) -> list[str]:
        ordered = sorted(enumerate(self.sections), key=lambda p: (-len(p[1].items), p[0]))
        return [section.name for _, section in ordered]

    @property
    def subject(self) -> str:
        return subject_line(self.count, self.names_by_size)


def subject_line(count: int, names: list[str], limit: int = SUBJECT_LIMIT) -> str:
    """'12 new jobs: python remote, data engineer +2 more', within `limit` characters."""
    head = f"{count} new job{'s' if count != 1 else ''}"
    for keep in range(len(names), 0, -1):
        rest = len(names) - keep
        line = f"{head}: {', '.join(names[:keep])}" + (f" +{rest} more" if rest else "")
        if len(line) <= limit:
            return line
    if names:
        first = one_line(names[0], max(8, limit - len(head) - 12))
        rest = len(names) - 1
        return f"{head}: {first}" + (f" +{rest} more" if rest else "")
    return head


@dataclass
class Composition:
    digest: Digest | None
    orphaned: list[str]
    """Posts whose every matching search was deleted: forget them."""
    repeats: list[str]
    """Posts that are near-duplicates of something already sent: log them as sent too."""


@dataclass
class _Draft:
    post: Post
    search_ids: list[str]
    also_posted_by: list[str]
    prints: tuple[str, ...]


def compose(
    subscriber: Subscriber,
    channel: Channel,
    window: datetime,
    matches: Iterable[PendingMatch],
    searches: list[SavedSearch],
    *,
    max_per_search: int,
    max_per_author: int = MAX_PER_AUTHOR,
    sent_fingerprints: set[str] | frozenset[str] = frozenset(),
) -> Composition:
    order = {s.search_id: i for i, s in enumerate(sorted(searches, key=_search_order))}
    by_id = {s.search_id: s for s in searches}
    terms = {s.search_id: terms_of(s.query) for s in searches}
    names = {s.search_id: one_line(s.query, NAME_LIMIT) for s in searches}

    orphaned: list[str] = []
    repeats: list[str] = []
    drafts: list[_Draft] = []
    by_print: dict[str, _Draft] = {}
    accounted: list[str] = []
    for match in matches:
        search_ids = sorted((i for i in match.search_ids if i in by_id), key=order.__getitem__)
        if not search_ids:
            orphaned.append(match.post.id)
            continue
        prints = fingerprints(match.post)
        if any(p in sent_fingerprints for p in prints):
            repeats.append(match.post.id)
            continue
        accounted.append(match.post.id)
        twin = next((by_print[p] for p in prints if p in by_print), None)
        if twin is not None:
            author = match.post.author_handle
            if author != twin.post.author_handle and author not in twin.also_posted_by:
                twin.also_posted_by.append(author)
            twin.search_ids.extend(i for i in search_ids if i not in twin.search_ids)
            twin.search_ids.sort(key=order.__getitem__)
            for p in prints:
                by_print.setdefault(p, twin)
            continue
        draft = _Draft(match.post, search_ids, list(match.post.also_posted_by), prints)
        drafts.append(draft)
        for p in prints:
            by_print[p] = draft

    if not drafts:
        return Composition(None, orphaned, repeats)

    grouped: dict[str, list[DigestItem]] = {}
    for draft in drafts:
        first, *others = draft.search_ids
        item_terms = Terms()
        for search_id in draft.search_ids:
            item_terms = item_terms | terms[search_id]
        grouped.setdefault(first, []).append(
            DigestItem(
                post=draft.post,
                terms=item_terms,
                url=safe_url(draft.post.url),
                job_url=job_url(draft.post),
                also_matches=tuple(names[i] for i in others),
                also_posted_by=tuple(one_line(h, 60) for h in draft.also_posted_by),
            )
        )
    sections = tuple(
        DigestSection(
            search_id=search_id,
            name=names[search_id],
            items=tuple(sorted(items, key=lambda i: (i.post.created_at, i.post.id), reverse=True)),
            limit=max_per_search,
            per_author=max_per_author,
        )
        for search_id, items in sorted(grouped.items(), key=lambda p: order[p[0]])
    )
    digest = Digest(
        digest_id=digest_id_for(subscriber.subscriber_id, channel, window),
        subscriber=subscriber,
        channel=channel,
        window=window,
        sections=sections,
        post_ids=tuple(accounted),
        fingerprints=tuple(by_print),
    )
    return Composition(digest, orphaned, repeats)


def _search_order(search: SavedSearch) -> tuple[datetime, str]:
    return (search.created_at, search.search_id)


__all__ = [
    "AuthorOverflow",
    "Composition",
    "Digest",
    "DigestItem",
    "DigestSection",
    "compose",
    "digest_id_for",
    "fingerprints",
    "job_url",
    "subject_line",
]
