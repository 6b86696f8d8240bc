"""State table: key (`pk`, `sk`). Source checkpoints, idempotency records, delivery records.

The table's TTL attribute is `expiration` (epoch seconds). DynamoDB deletes expired items
lazily, a day or two later, and until then they are read like any other: every read and
condition here treats an item whose `expiration` has passed as absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobalerts.settings import get_settings
from jobalerts.store._dynamo import (
    epoch,
    from_item,
    is_expired,
    now_iso,
    table_named,
    to_item,
    translated,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CHECKPOINT_PK = "checkpoint"


class StateRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or table_named(get_settings().state_table)

    def get_checkpoint(self, name: str) -> dict[str, Any] | None:
        with translated("checkpoint"):
            page = self.table.get_item(Key={"pk": CHECKPOINT_PK, "sk": name}, ConsistentRead=True)
        item = page.get("Item")
        if item is None:
            return None
        data = from_item(item)
        value: dict[str, Any] = data.get("value", {})
        return value

    def put_checkpoint(self, name: str, value: dict[str, Any]) -> None:
        with translated("checkpoint"):
            self.table.put_item(
                Item=to_item(
                    {"pk": CHECKPOINT_PK, "sk": name, "value": to_item(value), "at": now_iso()}
                )
            )

    def get(self, pk: str, sk: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The record, or None when there is none or it has expired (TTL deletes lazily)."""
        with translated("state"):
            page = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True)
        item = page.get("Item")
        if not item or is_expired(item, now):
            return None
        return from_item(item)

    def take(self, pk: str, sk: str, limit: int, expiration: int) -> bool:
        """Count one use of a fixed-window allowance; False once `limit` uses were taken."""
        from jobalerts.errors import Conflict

        try:
            with translated("allowance"):
                self.table.update_item(
                    Key={"pk": pk, "sk": sk},
                    UpdateExpression="ADD uses :one SET expiration = :exp",
                    ConditionExpression="attribute_not_exists(uses) OR uses < :limit",
                    ExpressionAttributeValues={":one": 1, ":limit": limit, ":exp": expiration},
                )
        except Conflict:
            return False
        return True

    def put(self, pk: str, sk: str, data: dict[str, Any]) -> None:
        """A small state record (query plan, rate-limit pause) stored as is."""
        with translated("state"):
            self.table.put_item(Item=to_item({**data, "pk": pk, "sk": sk, "at": now_iso()}))

    def add(self, pk: str, sk: str, attribute: str, amount: int) -> int:
        """Atomically add to a counter (e.g. reads this month); returns the new total."""
        with translated("state"):
            result = self.table.update_item(
                Key={"pk": pk, "sk": sk},
                UpdateExpression="ADD #a :n SET #at = :now",
                ExpressionAttributeNames={"#a": attribute, "#at": "at"},
                ExpressionAttributeValues={":n": amount, ":now": now_iso()},
                ReturnValues="UPDATED_NEW",
            )
        return int(result.get("Attributes", {}).get(attribute, 0))  # type: ignore[arg-type]

    def put_if_absent(
        self, pk: str, sk: str, data: dict[str, Any], now: datetime | None = None
    ) -> dict[str, Any] | None:
        """Write a record unless a live one exists (an expired one is replaced); returns the
        existing record, or None if written."""
        from jobalerts.errors import Conflict

        try:
            with translated("state"):
                self.table.put_item(
                    Item=to_item({**data, "pk": pk, "sk": sk}),
                    ConditionExpression="attribute_not_exists(pk) OR expiration < :now",
                    ExpressionAttributeValues={":now": epoch(now)},
                )
        except Conflict:
            return self.get(pk, sk, now) or {}
        return None
