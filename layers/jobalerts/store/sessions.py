"""Bluesky sessions, so a cold start refreshes instead of logging in again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobalerts.settings import get_settings
from jobalerts.store import keys
from jobalerts.store._dynamo import from_item, is_expired, now_iso, table_named, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class SessionsRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or table_named(get_settings().state_table)

    def get(self, session_key: str) -> dict[str, Any] | None:
        with translated("state"):
            page = self.table.get_item(Key=keys.bluesky_session(session_key), ConsistentRead=True)
        item = page.get("Item")
        if not item or is_expired(item):
            return None
        return from_item(item)

    def put(self, session_key: str, data: dict[str, Any]) -> None:
        with translated("state"):
            self.table.put_item(
                Item=to_item({**data, **keys.bluesky_session(session_key), "at": now_iso()})
            )
