"""Saved searches table: key (`subscriber_id`, `search_id`); GSI `shard-updated-index`.

The GSI (`shard`, `updated_at`) lets a match worker load its shard once and then read only what
changed since its last look. Deleting a search leaves a tombstone (status deleted, TTL) so those
incremental readers learn about the removal too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from jobalerts.errors import Conflict, NotFound
from jobalerts.models import SavedSearch, SearchStatus
from jobalerts.store._dynamo import (
    epoch_after,
    from_item,
    now_iso,
    to_item,
    translated,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TOMBSTONE_DAYS = 7


def change_stamp() -> str:
    """A search's `updated_at`: microsecond ISO time, which match workers and the X planner
    compare (`changes_since`) to learn what changed."""
    return now_iso()


class SearchesRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, search: SavedSearch) -> None:
        with translated("saved search"):
            self.table.put_item(Item=to_item(search.model_dump(mode="json")))

    def list_for(self, subscriber_id: str, *, include_deleted: bool = False) -> list[SavedSearch]:
        items: list[SavedSearch] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("subscriber_id").eq(subscriber_id)}
        while True:
            with translated("saved searches"):
                page = self.table.query(**kwargs)
            items.extend(SavedSearch.model_validate(from_item(i)) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if include_deleted:
            return items
        return [s for s in items if s.status is SearchStatus.ACTIVE]

    def get(self, subscriber_id: str, search_id: str) -> SavedSearch:
        with translated("saved search"):
            page = self.table.get_item(
                Key={"subscriber_id": subscriber_id, "search_id": search_id}, ConsistentRead=True
            )
        item = page.get("Item")
        if item is None or item.get("status") == SearchStatus.DELETED.value:
            raise NotFound(f"saved search {search_id}")
        return SavedSearch.model_validate(from_item(item))

    def delete(self, subscriber_id: str, search_id: str, *, now: datetime) -> None:
        """A tombstone until `TOMBSTONE_DAYS` after `now`, so match workers reading changes
        learn of the delete (one that looked longer ago reloads in full); then TTL removes it."""
        try:
            with translated("saved search"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id, "search_id": search_id},
                    UpdateExpression="SET #s = :deleted, updated_at = :now, expires_at = :ttl",
                    ConditionExpression="attribute_exists(search_id) AND #s <> :deleted",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":deleted": SearchStatus.DELETED.value,
                        ":now": now_iso(),
                        ":ttl": epoch_after(TOMBSTONE_DAYS, now),
                    },
                )
        except Conflict as exc:
            raise NotFound(f"saved search {search_id}") from exc

    def replace(self, search: SavedSearch) -> None:
        """Write an edited search over the stored one, unless it was deleted meanwhile."""
        try:
            with translated("saved search"):
                self.table.put_item(
                    Item=to_item(search.model_dump(mode="json")),
                    ConditionExpression="attribute_exists(search_id) AND #s <> :deleted",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":deleted": SearchStatus.DELETED.value},
                )
        except Conflict as exc:
            raise NotFound(f"saved search {search.search_id}") from exc

    def set_live(self, subscriber_id: str, live: bool) -> None:
        """Follow the subscriber's status; the new updated_at makes match workers and the X
        planner re-read these searches."""
        for search in self.list_for(subscriber_id):
            if search.live is live:
                continue
            try:
                with translated("saved search"):
                    # Conditional: a search deleted since the list was read stays deleted.
                    self.table.update_item(
                        Key={"subscriber_id": subscriber_id, "search_id": search.search_id},
                        UpdateExpression="SET live = :live, updated_at = :now",
                        ConditionExpression="attribute_exists(search_id) AND #s <> :deleted",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={
                            ":live": live,
                            ":now": now_iso(),
                            ":deleted": SearchStatus.DELETED.value,
                        },
                    )
            except Conflict:
                continue

    def changes_since(self, shard: str, since: str | None) -> Iterator[SavedSearch]:
        """Searches of one shard changed after `since` (all of them when since is None), oldest first."""
        condition: Any = Key("shard").eq(shard)
        if since is not None:
            condition = condition & Key("updated_at").gt(since)
        kwargs: dict[str, Any] = {
            "IndexName": "shard-updated-index",
            "KeyConditionExpression": condition,
        }
        while True:
            with translated("saved search changes"):
                page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield SavedSearch.model_validate(from_item(item))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
