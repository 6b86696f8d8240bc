"""Feed entries in the matches table: what each saved search matched in the last 7 days.

`a#<search_id>#<post created_at>#<post_id>` in the subscriber's partition holds a snapshot of
the post. The match function writes one per hit (whatever the channel's schedule, so a feed is
as fresh as the index); the key orders a search's entries by the post's time, so a feed is one
Query read newest first, bounded by `limit`. They expire with the posts (7 days). No
`due_shard`: the due-index never sees them, and the digest side reads only `m#`, `d#`, `s#`, `f#`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from jobalerts.models import Post
from jobalerts.store._dynamo import from_item, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

FEED_DAYS = 7
MAX_ENTRIES = 100


@dataclass(frozen=True)
class FeedEntry:
    post: Post
    matched_at: datetime


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prefix(search_id: str) -> str:
    return f"a#{search_id}#"


class FeedRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, subscriber_id: str, search_id: str, post: Post, matched_at: datetime) -> None:
        """Idempotent: a retried stream batch keeps the first match time."""
        sk = f"{_prefix(search_id)}{_stamp(post.created_at)}#{post.id}"
        expires = int((post.created_at + timedelta(days=FEED_DAYS)).timestamp())
        with translated("feed entry"):
            self.table.update_item(
                Key={"subscriber_id": subscriber_id, "sk": sk},
                UpdateExpression=(
                    "SET post = if_not_exists(post, :post), "
                    "matched_at = if_not_exists(matched_at, :matched), expires_at = :ttl"
                ),
                ExpressionAttributeValues={
                    ":post": to_item(post.model_dump(mode="json")),
                    ":matched": _stamp(matched_at),
                    ":ttl": expires,
                },
            )

    def recent(
        self, subscriber_id: str, search_id: str, now: datetime, limit: int = MAX_ENTRIES
    ) -> list[FeedEntry]:
        """The search's entries of the last 7 days, newest post first, at most `limit`."""
        since = _stamp(now - timedelta(days=FEED_DAYS))
        with translated("feed entries"):
            page = self.table.query(
                KeyConditionExpression=Key("subscriber_id").eq(subscriber_id)
                & Key("sk").between(f"{_prefix(search_id)}{since}", f"{_prefix(search_id)}~"),
                ScanIndexForward=False,
                Limit=limit,
            )
        return [_entry(item) for item in page.get("Items", [])]


def _entry(item: dict[str, Any]) -> FeedEntry:
    data = from_item(item)
    post = Post.model_validate(from_item(data["post"]))
    matched = datetime.fromisoformat(str(data["matched_at"]).replace("Z", "+00:00"))
    return FeedEntry(post=post, matched_at=matched)
