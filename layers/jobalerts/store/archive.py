"""The archive behind the digest link: one StateTable item per digest, read by the web routes.

Contract between the deliver function (writes) and the subscriptions function (reads): one item
per digest under `keys.archived_digest`, `page` = the complete, escaped page as UTF-8
compressed with zlib, `expiration` = epoch seconds (the table's TTL attribute). Beside it,
`keys.digest_link` names the subscriber, so the short link a text message carries
(`/d/<code>`, which signs only the digest id) finds the page; only text digests get one.

Compressed because a write costs a unit per KB: a page is repetitive HTML (the same markup per
post), and a 40-post page of 29 KB is stored in 2.1 KB, 3 write units instead of 29. Items written before
(`html`, the page as text) are still read until they expire.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from boto3.dynamodb.types import Binary

from jobalerts.links import DIGEST_TTL
from jobalerts.store import keys
from jobalerts.store._dynamo import is_expired, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


# zlib's default level: a page is written once and read rarely.
_LEVEL = 6


class DigestArchive:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(
        self, subscriber_id: str, digest_id: str, html: str, now: datetime, *, short_link: bool
    ) -> None:
        """Overwrites: a retried delivery archives the same digest under the same id.

        `short_link`: also write the pointer a short link (`/d/<code>`, texts only) needs; an
        email's link names the subscriber, and the pointer would be a write unit for nothing."""
        expiration = int(now.astimezone(UTC).timestamp()) + DIGEST_TTL
        with translated("digest archive"):
            self.table.put_item(
                Item={
                    **keys.archived_digest(subscriber_id, digest_id),
                    "page": zlib.compress(html.encode("utf-8"), _LEVEL),
                    "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
                    "expiration": expiration,
                }
            )
            if not short_link:
                return
            self.table.put_item(
                Item={
                    **keys.digest_link(digest_id),
                    "subscriber_id": subscriber_id,
                    "expiration": expiration,
                }
            )

    def get(self, subscriber_id: str, digest_id: str, now: datetime | None = None) -> str | None:
        """The page, or None when it is gone or past its expiration (TTL deletes lazily)."""
        with translated("digest archive"):
            page = self.table.get_item(Key=keys.archived_digest(subscriber_id, digest_id))
        item = page.get("Item")
        if item is None or is_expired(item, now):
            return None
        stored = item.get("page")
        if isinstance(stored, Binary):
            return zlib.decompress(stored.value).decode("utf-8")
        return str(item["html"])

    def get_by_id(self, digest_id: str, now: datetime | None = None) -> str | None:
        """The page behind a short link, which knows the digest but not whose it is."""
        with translated("digest archive"):
            pointer = self.table.get_item(Key=keys.digest_link(digest_id)).get("Item")
        if pointer is None or is_expired(pointer, now):
            return None
        return self.get(str(pointer["subscriber_id"]), digest_id, now)
