"""Every link we send a person, signed for one purpose and built in one place."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from jobalerts import tokens
from jobalerts.tokens import DAY, Signer

CONFIRM_TTL = 7 * DAY
MANAGE_TTL = 90 * DAY
# RFC 8058 asks that one-click unsubscribe keeps working long after the mail was sent.
UNSUBSCRIBE_TTL = 365 * DAY
DIGEST_TTL = 30 * DAY
# Pause and mute links sit in digests people keep: as long-lived as the unsubscribe link.
PAUSE_TTL = 365 * DAY
MUTE_TTL = 365 * DAY
# Feed readers keep a URL for years; a feed ends when its search is deleted or its
# subscriber leaves, not when a token runs out.
FEED_TTL = 10 * 365 * DAY

_UUID_HEX = re.compile(r"[0-9a-f]{32}")
_COMPACT = re.compile(r"[A-Za-z0-9_-]{22}")


def compact_id(subscriber_id: str) -> str:
    """A uuid hex id in 22 base64url characters instead of 32: the confirm text fits one SMS."""
    if not _UUID_HEX.fullmatch(subscriber_id):
        return subscriber_id
    return base64.urlsafe_b64encode(bytes.fromhex(subscriber_id)).rstrip(b"=").decode()


def expand_id(subject: str) -> str:
    """The inverse of `compact_id` (ids are uuid hex, so a 22-character subject is compact)."""
    if not _COMPACT.fullmatch(subject):
        return subject
    try:
        return base64.urlsafe_b64decode(subject + "==").hex()
    except (binascii.Error, ValueError):
        return subject


@dataclass(frozen=True)
class Links:
    base_url: str
    signer: Signer

    def _url(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}?{urlencode({'t': token})}"

    def confirm(self, subscriber_id: str) -> str:
        return self._url("/confirm", self.signer.sign(tokens.CONFIRM, subscriber_id, CONFIRM_TTL))

    def manage(self, subscriber_id: str) -> str:
        return self._url("/manage", self.signer.sign(tokens.MANAGE, subscriber_id, MANAGE_TTL))

    def unsubscribe(self, subscriber_id: str) -> str:
        token = self.signer.sign(tokens.UNSUBSCRIBE, subscriber_id, UNSUBSCRIBE_TTL)
        return self._url("/unsubscribe", token)

    def pause(self, subscriber_id: str) -> str:
        """The page that pauses (and resumes) one subscriber's alerts, from a digest."""
        return self._url("/pause", self.signer.sign(tokens.PAUSE, subscriber_id, PAUSE_TTL))

    def mute(self, subscriber_id: str, handle: str) -> str:
        """The page that mutes one account for one subscriber (`<subscriber id>|<handle>`)."""
        token = self.signer.sign(tokens.MUTE, f"{subscriber_id}|{handle}", MUTE_TTL)
        return self._url("/mute", token)

    def feed(self, subscriber_id: str, search_id: str) -> str:
        """The Atom feed of one saved search: `/feeds/<code>`, unguessable, read-only."""
        # Both ids compact: a 32-character hex id is a word SpamAssassin reads as a Bitcoin
        # address about one time in sixty (it begins with 1 or 3 and holds no 0).
        subject = f"{compact_id(subscriber_id)}~{compact_id(search_id)}"
        return f"{self.base_url.rstrip('/')}/feeds/{self.signer.sign_short(tokens.FEED, subject, FEED_TTL)}"

    def digest(self, subscriber_id: str, digest_id: str) -> str:
        token = self.signer.sign(tokens.DIGEST, f"{subscriber_id}|{digest_id}", DIGEST_TTL)
        return self._url(f"/digests/{digest_id}", token)

    def short_digest(self, digest_id: str) -> str:
        """The same page for a text message: `/d/<code>`, about 40 characters after the host."""
        code = self.signer.sign_short(tokens.DIGEST, digest_id, DIGEST_TTL)
        return f"{self.base_url.rstrip('/')}/d/{code}"

    def short_confirm(self, subscriber_id: str) -> str:
        """The confirm link for a text message: `/c/<code>`, one SMS segment with the message."""
        code = self.signer.sign_short(tokens.CONFIRM, compact_id(subscriber_id), CONFIRM_TTL)
        return f"{self.base_url.rstrip('/')}/c/{code}"

    def short_manage(self, subscriber_id: str) -> str:
        """The manage link for a text message: `/m/<code>` redirects to `/manage?t=...`."""
        code = self.signer.sign_short(tokens.MANAGE, compact_id(subscriber_id), MANAGE_TTL)
        return f"{self.base_url.rstrip('/')}/m/{code}"
