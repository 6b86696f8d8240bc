"""Which job a post is about: canonical links and near-duplicate keys, for ingest and digests.

Ingest stores one post per key (a repost only adds its author to `also_posted_by`); digests
show one item per key and log the key as sent. Both must agree, and both must never give two
different jobs one key: a collapsed job is never matched and never sent.

A link names one job only when it is specific: a careers page, a link hub, a job board's home
page or a generic apply page is shared by every job of a company, so it is not a key. A post
without such a link is keyed by its words, when there are enough of them to be specific.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobalerts.models import Post
from jobalerts.query import fold, tokenize

# Parameters that say who sent the click, never which job it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "trk",
        "trkinfo",
        "trackingid",
        "lipi",
        "si",
        "cmpid",
        "src",
        "source",
        "gh_src",
        "lever-source",
        "lever-origin",
        "via",
    }
)
# Parameters that pick a page's language or listing page, not a job.
_PAGE_PARAMS = frozenset({"lang", "locale", "hl", "page", "sort", "view"})
# Hosts whose links point back at the microblog itself (media, quotes) or are shorteners that
# were not expanded: never "the job" a post is about.
SOCIAL_HOSTS = frozenset(
    {
        "x.com",
        "twitter.com",
        "mobile.twitter.com",
        "t.co",
        "bsky.app",
        "go.bsky.app",
        "bsky.social",
        "mastodon.social",
        "lnkd.in",
    }
)
# Link-in-bio pages: one page for everything an account links to.
LINK_HUBS = frozenset(
    {
        "linktr.ee",
        "lnk.bio",
        "bio.link",
        "beacons.ai",
        "carrd.co",
        "linkin.bio",
        "campsite.bio",
        "taplink.cc",
        "msha.ke",
        "hoo.be",
    }
)
# Path words of pages that list every job (or apply to any): not one job's identity.
GENERIC_WORDS = frozenset(
    {
        "about",
        "all",
        "apply",
        "application",
        "at",
        "board",
        "career",
        "careers",
        "company",
        "current",
        "de",
        "en",
        "hiring",
        "home",
        "index",
        "job",
        "jobs",
        "join",
        "karriere",
        "listings",
        "now",
        "open",
        "openings",
        "opportunities",
        "our",
        "position",
        "positions",
        "role",
        "roles",
        "search",
        "team",
        "us",
        "vacancies",
        "work",
        "with",
    }
)
MIN_TEXT_WORDS = 6
_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_SEGMENT_WORDS = re.compile(r"[^\W_]+")


def canonical_link(url: str) -> str:
    """One spelling per page: lower-case host without www, no fragment, no tracking noise.

    Never raises: a link that cannot be read is kept as written.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.hostname:
        return url
    scheme = parts.scheme.lower()
    host = parts.hostname.lower().removeprefix("www.")
    if port and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    params = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, urlencode(params), ""))


def host_of(url: str) -> str:
    """Lower-case host without www; empty for a link that cannot be read."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")
    except ValueError:
        return ""


def is_social(url: str) -> bool:
    return host_of(url) in SOCIAL_HOSTS


def job_identity(url: str) -> str | None:
    """host/path?query when the link names one job; None for pages shared by many jobs."""
    link = canonical_link(url)
    try:
        parts = urlsplit(link)
    except ValueError:  # pragma: no cover - canonical_link returns what urlsplit read
        return None
    host = (parts.hostname or "").lower()
    if not host or host in SOCIAL_HOSTS or host in LINK_HUBS:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in _PAGE_PARAMS]
    segments = [s for s in parts.path.split("/") if s]
    if not query and not _names_one_job(segments):
        return None
    return parts.netloc + parts.path + (f"?{urlencode(query)}" if query else "")


def text_words(text: str) -> list[str]:
    """The words of a post: no links, mentions, case or punctuation (c++ and c# stay words),
    and no leading "RT", so a copy with another author's mention collides with the original."""
    tokens = tokenize(fold(_URL_RE.sub(" ", text)))
    words = [t.lstrip("#") for t in tokens if not t.startswith("@")]
    if words[:1] == ["rt"]:
        words = words[1:]
    return words


def fingerprint(post: Post) -> str | None:
    """The near-duplicate key: the job link when one names the job, else the words when there
    are enough of them to be specific (two different "We're hiring!" posts must not collide)."""
    for link in post.links:
        identity = job_identity(link)
        if identity is not None:
            return "l" + _hash(identity)
    words = text_words(post.text)
    if len(words) < MIN_TEXT_WORDS:
        return None
    return "t" + _hash(" ".join(words))


def fingerprints(post: Post) -> tuple[str, ...]:
    """The keys the sent log files a delivered post under: its near-duplicate key or, for a
    post without one (a short text, no link naming one job), a key of its own id. Every post
    has one, so one sent-log entry covers it: no second entry by post id."""
    key = fingerprint(post)
    return (key if key is not None else "p" + _hash(post.id),)


def _names_one_job(segments: list[str]) -> bool:
    """A path names one job when its last specific segment (`/jobs/<slug>/apply` skips
    "apply") carries an id, or is a slug of two or more words."""
    for segment in reversed(segments):
        words = [w.lower() for w in _SEGMENT_WORDS.findall(segment)]
        if all(w in GENERIC_WORDS for w in words):
            continue
        return len(words) >= 2 or any(c.isdigit() for c in segment)
    return False


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


__all__ = [
    "canonical_link",
    "fingerprint",
    "fingerprints",
    "host_of",
    "is_social",
    "job_identity",
    "text_words",
]
