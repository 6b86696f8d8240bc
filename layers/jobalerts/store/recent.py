"""The rolling window of recent posts that search previews read (StateTable).

Key shapes: `pk = "recent#<UTC day the posts arrived>"`, `sk = "<arrival time, ISO>#<digest>"`;
attribute `posts` is one compressed chunk of post summaries (see `jobalerts.recent`), `count`
how many it holds, `expiration` (TTL) a day after the window has passed it.

Partitioning by arrival, not by post time, keeps every partition but today's immutable: a warm
reader asks only today's partition for chunks newer than the last it saw (one Query). A chunk's
key is derived from its posts, so a retried stream batch rewrites the same item.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from jobalerts.store import keys
from jobalerts.store._dynamo import is_expired, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Chunks live a day past the 7-day window, so a reader at any hour still finds its oldest day.
KEEP_DAYS = 8


@dataclass(frozen=True)
class Chunk:
    key: str
    data: bytes
    count: int


def chunk_key(arrived: datetime, post_ids: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(post_ids)).encode()).hexdigest()[:16]
    return f"{arrived.isoformat(timespec='microseconds')}#{digest}"


class RecentPostsRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put_chunk(self, arrived: datetime, post_ids: list[str], data: bytes) -> str:
        """One chunk of summaries, keyed by when it arrived and what it holds; returns its key."""
        key = chunk_key(arrived, post_ids)
        expiration = int((arrived + timedelta(days=KEEP_DAYS + 1)).timestamp())
        with translated("recent posts"):
            self.table.put_item(
                Item={
                    **keys.recent_posts_chunk(arrived.date().isoformat(), key),
                    "posts": data,
                    "count": len(post_ids),
                    "expiration": expiration,
                }
            )
        return key

    def chunks(
        self, day: str, after: str | None = None, now: datetime | None = None
    ) -> list[Chunk]:
        """The chunks that arrived on `day` (UTC), those keyed after `after` only when given."""
        condition: Any = Key(keys.PARTITION).eq(keys.recent_posts_partition(day))
        if after is not None:
            condition = condition & Key(keys.SORT).gt(after)
        found: list[Chunk] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            with translated("recent posts"):
                page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                if is_expired(item, now):
                    continue
                raw: Any = item["posts"]
                data = raw.value if hasattr(raw, "value") else bytes(raw)  # boto3 wraps Binary
                count: Any = item.get("count", 0)
                found.append(Chunk(str(item[keys.SORT]), data, int(count)))
            last = page.get("LastEvaluatedKey")
            if not last:
                return found
            kwargs["ExclusiveStartKey"] = last
