"""Signed, expiring tokens for the links we send: confirm, manage, unsubscribe, digest view.

A token is `base32(json payload).base32(hmac-sha256)`, lower case without padding; the payload
names its purpose so an unsubscribe token can never confirm or manage anything.

Why base32 and not base64url: base64url's `-` splits a token into words, and a 30-35 character
word of base58 letters starting with 1 or 3 is what SpamAssassin's `__BITCOIN_ID` looks for, so
about one digest in a few hundred scored a point for a link (CI caught it). Base32 has no
separator: a token is two words of 50 characters or more, which that rule can never match. Tokens
signed before the change (base64url) still verify until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Final

from jobalerts.errors import InvalidToken

CONFIRM: Final = "confirm"
MANAGE: Final = "manage"
UNSUBSCRIBE: Final = "unsubscribe"
DIGEST: Final = "digest"
FEED: Final = "feed"
PAUSE: Final = "pause"
MUTE: Final = "mute"

DAY = 86_400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode().lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


@dataclass(frozen=True)
class Signer:
    key: bytes

    def sign(self, purpose: str, subject: str, ttl_seconds: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + ttl_seconds)
        payload = json.dumps({"p": purpose, "s": subject, "e": expires}, separators=(",", ":"))
        body = _b32(payload.encode())
        return f"{body}.{_b32(self._digest(body))}"

    def verify(self, token: str, purpose: str, now: float | None = None) -> str:
        """The token's subject, or InvalidToken for a forged, expired or misused token."""
        # Only ASCII can be ours; compare_digest raises TypeError on other text, and a lone
        # surrogate cannot even be encoded for the MAC.
        if not token.isascii():
            raise InvalidToken("this link is not valid")
        body, _, mac = token.partition(".")
        digest = self._digest(body)
        # The MAC's own encoding says how the body was encoded; both are checked in constant time.
        # An empty MAC matches neither, and no body we sign is empty.
        if hmac.compare_digest(mac, _b32(digest)):
            decode = _unb32
        elif hmac.compare_digest(mac, _b64(digest)):
            decode = _unb64
        else:
            raise InvalidToken("this link is not valid")
        try:
            payload = json.loads(decode(body))
        except ValueError as exc:
            raise InvalidToken("this link is not valid") from exc
        if not isinstance(payload, dict) or payload.get("p") != purpose:
            raise InvalidToken("this link is not valid")
        if int(payload.get("e", 0)) < (now if now is not None else time.time()):
            raise InvalidToken("this link has expired")
        return str(payload["s"])

    def sign_short(
        self, purpose: str, subject: str, ttl_seconds: int, now: float | None = None
    ) -> str:
        """`<subject>.<expiry>.<mac>`: for links that must fit in a text message.

        The subject travels in clear, so it must be an opaque id without dots. A 96-bit MAC is
        far beyond guessing online, and the expiry (base 36) keeps the code under 40 characters
        for a 16-character id.
        """
        if "." in subject:
            raise ValueError("a short token's subject cannot contain '.'")
        expires = _base36(int((now if now is not None else time.time()) + ttl_seconds))
        return f"{subject}.{expires}.{self._short_mac(purpose, subject, expires)}"

    def verify_short(self, code: str, purpose: str, now: float | None = None) -> str:
        """The code's subject, or InvalidToken for a forged, expired or misused code."""
        if not code.isascii():
            raise InvalidToken("this link is not valid")
        subject, _, rest = code.partition(".")
        expires, _, mac = rest.partition(".")
        if not subject or not expires or not mac:
            raise InvalidToken("this link is not valid")
        if not hmac.compare_digest(mac, self._short_mac(purpose, subject, expires)):
            raise InvalidToken("this link is not valid")
        try:
            expiry = int(expires, 36)
        except ValueError as exc:
            raise InvalidToken("this link is not valid") from exc
        if expiry < (now if now is not None else time.time()):
            raise InvalidToken("this link has expired")
        return subject

    def _digest(self, body: str) -> bytes:
        return hmac.new(self.key, body.encode(), hashlib.sha256).digest()

    def _short_mac(self, purpose: str, subject: str, expires: str) -> str:
        message = f"{purpose}|{subject}|{expires}".encode()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest()[:12])


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def load_signer(secret_name: str) -> Signer:
    """The key lives in Secrets Manager; Powertools caches it across warm invocations."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_name, max_age=300)
    if isinstance(value, bytes):
        return Signer(value)
    return Signer(str(value).encode())
