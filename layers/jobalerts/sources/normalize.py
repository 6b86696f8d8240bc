"""What all sources share when turning an API record into a Post: links, text, fingerprints."""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobalerts.models import Post
from jobalerts.query import fold

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
    }
)
# Hosts whose links point back at the microblog itself (media, quotes) or are shorteners that
# were not expanded: never "the job" a post is about.
SOCIAL_HOSTS = frozenset(
    {"x.com", "twitter.com", "t.co", "bsky.app", "go.bsky.app", "mastodon.social", "lnkd.in"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_RE = re.compile(r"https?://\S+")
_MENTION_RE = re.compile(r"(?<!\w)@[\w.@-]+")
_WORD_RE = re.compile(r"\w+")
MIN_FINGERPRINT_WORDS = 6


def canonical_link(url: str) -> str:
    """One spelling per page: lower-case host without www, no fragment, no tracking noise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.hostname:
        return url  # not a link we can read; kept as written
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    params = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    )
    path = parts.path.rstrip("/") if parts.path not in ("", "/") else ""
    return urlunsplit((scheme, host, path, urlencode(params), ""))


def unescape(text: str) -> str:
    """X sends &amp; &lt; &gt; escaped; templates escape again when rendering."""
    return html.unescape(text)


def is_social(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    return host in SOCIAL_HOSTS


def job_link(post: Post) -> str | None:
    """The first link that leaves the microblog: the job ad a post is about, if any."""
    for link in post.links:
        if not is_social(link):
            return canonical_link(link)
    return None


def normalized_text(text: str) -> str:
    """Words only: no links, mentions, punctuation or case, so reposts with new tags collide."""
    text = _MENTION_RE.sub(" ", _URL_RE.sub(" ", fold(unescape(text))))
    return " ".join(_WORD_RE.findall(text))


def fingerprint(post: Post) -> str | None:
    """Key for near-duplicates: the canonical job link, else the normalized text when long
    enough to be specific (two different "We're hiring!" posts must not collide)."""
    link = job_link(post)
    if link is not None:
        return "link:" + _digest(link)
    words = normalized_text(post.text)
    if len(words.split()) < MIN_FINGERPRINT_WORDS:
        return None
    return "text:" + _digest(words)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]
