"""What ingest remembers between runs, in the State table: per source its checkpoint, a
rate-limit pause, the month's read budget and the cached query plan, and per job the
near-duplicate marker naming the first post seen.

The table's TTL attribute is `expiration` (epoch seconds). DynamoDB deletes expired items
lazily, a day or two later, and until then they are read like any other: every read and
condition here treats an item whose `expiration` has passed as absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobalerts.errors import Conflict
from jobalerts.store import keys
from jobalerts.store._dynamo import (
    epoch,
    from_item,
    is_expired,
    now_iso,
    to_item,
    translated,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class StateRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get_checkpoint(self, name: str) -> dict[str, Any] | None:
        with translated("checkpoint"):
            page = self.table.get_item(Key=keys.checkpoint(name), ConsistentRead=True)
        item = page.get("Item")
        if item is None:
            return None
        data = from_item(item)
        value: dict[str, Any] = data.get("value", {})
        return value

    def put_checkpoint(self, name: str, value: dict[str, Any]) -> None:
        with translated("checkpoint"):
            self.table.put_item(
                Item=to_item({**keys.checkpoint(name), "value": to_item(value), "at": now_iso()})
            )

    def get_pause(self, source: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The source's pause (`resume_after`), or None."""
        return self._get(keys.source_pause(source), now)

    def put_pause(self, source: str, resume_after: str) -> None:
        self._put(keys.source_pause(source), {"resume_after": resume_after})

    def reads_used(self, source: str, month: str) -> int:
        """Reads counted against `source`'s budget in `month` (`YYYY-MM`)."""
        return int((self._get(keys.read_budget(source, month)) or {}).get("reads", 0))

    def add_reads(self, source: str, month: str, reads: int) -> int:
        """Atomically count reads against the month's budget; returns the new total."""
        with translated("state"):
            result = self.table.update_item(
                Key=keys.read_budget(source, month),
                UpdateExpression="ADD #a :n SET #at = :now",
                ExpressionAttributeNames={"#a": "reads", "#at": "at"},
                ExpressionAttributeValues={":n": reads, ":now": now_iso()},
                ReturnValues="UPDATED_NEW",
            )
        return int(result.get("Attributes", {}).get("reads", 0))  # type: ignore[arg-type]

    def get_plan(self, source: str) -> dict[str, Any] | None:
        return self._get(keys.query_plan(source))

    def put_plan(self, source: str, value: dict[str, Any]) -> None:
        self._put(keys.query_plan(source), {"value": value})

    def first_post(
        self, fingerprint: str, post_id: str, until: datetime, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """Remember `post_id` as the first post with this fingerprint until `until`, unless a
        live marker exists (an expired one is replaced); returns that marker (`original`), or
        None if this post is the first."""
        key = keys.near_duplicate(fingerprint)
        data = {"original": post_id, "expiration": int(until.timestamp())}
        try:
            with translated("state"):
                self.table.put_item(
                    Item=to_item({**data, **key}),
                    ConditionExpression="attribute_not_exists(pk) OR expiration < :now",
                    ExpressionAttributeValues={":now": epoch(now)},
                )
        except Conflict:
            return self._get(key, now) or {}
        return None

    def _get(self, key: keys.Key, now: datetime | None = None) -> dict[str, Any] | None:
        """The record, or None when there is none or it has expired (TTL deletes lazily)."""
        with translated("state"):
            page = self.table.get_item(Key=key, ConsistentRead=True)
        item = page.get("Item")
        if not item or is_expired(item, now):
            return None
        return from_item(item)

    def _put(self, key: keys.Key, data: dict[str, Any]) -> None:
        with translated("state"):
            self.table.put_item(Item=to_item({**data, **key, "at": now_iso()}))
