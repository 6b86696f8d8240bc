"""Sliding-window rate limits kept as atomic counters in the state table.

Each limited thing (a client address, a destination, "everything") is a bucket with a key. A
key's windows are offset from the clock by a per-key amount, so allowances do not all reset on
the hour, and the previous window still counts, weighted by how much of it overlaps the last
`window` seconds (the approximation Cloudflare describes): a burst straddling a window boundary
gets at most `limit`, not twice that.

Keys are stored as SHA-256 prefixes, so the table never holds an address or a phone number.
DynamoDB TTL deletes lazily (up to days late), so a counter is never trusted past its window:
the window number is part of the item key and every read names the window it wants.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobalerts.errors import Conflict
from jobalerts.store import keys
from jobalerts.store._dynamo import translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class Limit:
    bucket: str
    limit: int
    window_seconds: int


def hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class RateLimits:
    def __init__(self, table: Table) -> None:
        self.table = table

    def take(self, limit: Limit, key: str, now: float) -> int | None:
        """Count one use; None when allowed, else the seconds until one would be allowed."""
        digest = hashed(key)
        width = limit.window_seconds
        # The per-key offset keeps windows from lining up with the clock hour.
        offset = int(digest[:8], 16) % width
        shifted = now - offset
        window = int(shifted // width)
        elapsed = shifted - window * width
        previous = self._count(limit.bucket, digest, window - 1)
        carried = math.ceil(previous * (width - elapsed) / width)
        room = limit.limit - carried
        if room > 0:
            try:
                with translated("rate limit"):
                    self.table.update_item(
                        Key=keys.rate_counter(limit.bucket, digest, window),
                        UpdateExpression="ADD uses :one SET expiration = :exp",
                        ConditionExpression="attribute_not_exists(uses) OR uses < :room",
                        ExpressionAttributeValues={
                            ":one": 1,
                            ":room": room,
                            # Kept through the next window, where it is the "previous" one.
                            ":exp": int(now - elapsed + 2 * width) + 60,
                        },
                    )
                return None
            except Conflict:
                pass
        current = self._count(limit.bucket, digest, window)
        return _retry_after(limit.limit, previous, current, elapsed, width)

    def _count(self, bucket: str, digest: str, window: int) -> int:
        with translated("rate limit"):
            item = self.table.get_item(
                Key=keys.rate_counter(bucket, digest, window), ConsistentRead=True
            ).get("Item")
        return int(item.get("uses", 0)) if item else 0  # type: ignore[arg-type]


def _retry_after(limit: int, previous: int, current: int, elapsed: float, width: int) -> int:
    """Seconds until `previous` has decayed enough (or the window turned) to allow one more."""
    if current < limit and previous > 0:
        # Allowed once previous * (width - t) / width <= limit - current - 1.
        target = width * (1 - (limit - current - 1) / previous)
        return max(1, math.ceil(target - elapsed))
    # This window is full: in the next one it is the "previous" window and decays from there.
    left = width - elapsed
    target = width * (1 - (limit - 1) / current) if current > 0 else 0.0
    return max(1, math.ceil(left + max(0.0, target)))
