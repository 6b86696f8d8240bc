"""The archive behind the digest link: one StateTable item per digest, read by the web routes.

Contract with the subscriptions function: `pk = "digest#<subscriber_id>"`, `sk = "<digest_id>"`,
`html` = the complete, escaped page, `expiration` = epoch seconds (the table's TTL attribute).
Beside it, `pk = "digest-link"`, `sk = "<digest_id>"` names the subscriber, so the short link
a text message carries (`/d/<code>`, which signs only the digest id) finds the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobalerts.links import DIGEST_TTL
from jobalerts.settings import get_settings
from jobalerts.store._dynamo import is_expired, table_named, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def archive_key(subscriber_id: str, digest_id: str) -> dict[str, str]:
    return {"pk": f"digest#{subscriber_id}", "sk": digest_id}


def pointer_key(digest_id: str) -> dict[str, str]:
    return {"pk": "digest-link", "sk": digest_id}


class DigestArchive:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or table_named(get_settings().state_table)

    def put(self, subscriber_id: str, digest_id: str, html: str, now: datetime) -> None:
        """Overwrites: a retried delivery archives the same digest under the same id."""
        expiration = int(now.astimezone(UTC).timestamp()) + DIGEST_TTL
        with translated("digest archive"):
            self.table.put_item(
                Item={
                    **archive_key(subscriber_id, digest_id),
                    "html": html,
                    "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
                    "expiration": expiration,
                }
            )
            self.table.put_item(
                Item={
                    **pointer_key(digest_id),
                    "subscriber_id": subscriber_id,
                    "expiration": expiration,
                }
            )

    def get(self, subscriber_id: str, digest_id: str, now: datetime | None = None) -> str | None:
        """The page, or None when it is gone or past its expiration (TTL deletes lazily)."""
        with translated("digest archive"):
            page = self.table.get_item(Key=archive_key(subscriber_id, digest_id))
        item = page.get("Item")
        if item is None or is_expired(item, now):
            return None
        return str(item["html"])

    def get_by_id(self, digest_id: str, now: datetime | None = None) -> str | None:
        """The page behind a short link, which knows the digest but not whose it is."""
        with translated("digest archive"):
            pointer = self.table.get_item(Key=pointer_key(digest_id)).get("Item")
        if pointer is None or is_expired(pointer, now):
            return None
        return self.get(str(pointer["subscriber_id"]), digest_id, now)
