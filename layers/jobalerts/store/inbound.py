"""Inbound texts already handled, by SNS message id: SNS may deliver one twice."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from jobalerts.store import keys
from jobalerts.store._dynamo import is_expired, now_iso, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class InboundMessagesRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def seen(self, message_id: str, now: datetime | None = None) -> bool:
        """Handled before; a record past its expiration counts as absent (TTL deletes lazily)."""
        with translated("state"):
            page = self.table.get_item(Key=keys.inbound_sms(message_id), ConsistentRead=True)
        item = page.get("Item")
        return item is not None and bool(item) and not is_expired(item, now)

    def remember(self, message_id: str, action: str, expiration: int) -> None:
        with translated("state"):
            self.table.put_item(
                Item=to_item(
                    {
                        "action": action,
                        "expiration": expiration,
                        **keys.inbound_sms(message_id),
                        "at": now_iso(),
                    }
                )
            )
