"""Subscribers table: key `subscriber_id`; GSIs `email-index` and `phone-index`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from jobalerts.errors import AlreadyExists, Conflict, NotFound
from jobalerts.models import Subscriber, SubscriberStatus
from jobalerts.settings import get_settings
from jobalerts.store._dynamo import batch_get, from_item, table_named, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class SubscribersRepository:
    def __init__(
        self, table: Table | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.table = table or table_named(get_settings().subscribers_table)
        self.sleep = sleep

    def create(self, subscriber: Subscriber) -> None:
        try:
            with translated("subscriber exists"):
                self.table.put_item(
                    Item=to_item(subscriber.model_dump(mode="json")),
                    ConditionExpression="attribute_not_exists(subscriber_id)",
                )
        except Conflict as exc:
            raise AlreadyExists(subscriber.subscriber_id) from exc

    def get(self, subscriber_id: str) -> Subscriber:
        with translated("subscriber"):
            item = self.table.get_item(Key={"subscriber_id": subscriber_id}, ConsistentRead=True)
        if "Item" not in item:
            raise NotFound(f"subscriber {subscriber_id}")
        return Subscriber.model_validate(from_item(item["Item"]))

    def get_many(self, subscriber_ids: set[str]) -> dict[str, Subscriber]:
        """Batch reads in pages of 100, retrying what DynamoDB leaves unprocessed."""
        found: dict[str, Subscriber] = {}
        ids = sorted(subscriber_ids)
        for start in range(0, len(ids), 100):
            keys: list[dict[str, Any]] = [{"subscriber_id": i} for i in ids[start : start + 100]]
            request: dict[str, Any] = {self.table.name: {"Keys": keys}}
            # The resource's client speaks plain Python values, like the table does.
            for raw in batch_get(self.table.meta.client, request, "subscribers", self.sleep):
                sub = Subscriber.model_validate(from_item(raw))
                found[sub.subscriber_id] = sub
        return found

    def find_by_email(self, email: str) -> Subscriber | None:
        return self._find("email-index", "email", email.lower())

    def find_by_phone(self, phone: str) -> Subscriber | None:
        return self._find("phone-index", "phone", phone)

    def _find(self, index: str, attribute: str, value: str) -> Subscriber | None:
        with translated(index):
            page = self.table.query(
                IndexName=index, KeyConditionExpression=Key(attribute).eq(value)
            )
        items = page.get("Items", [])
        if not items:
            return None
        return self.get(str(items[0]["subscriber_id"]))

    def update(self, subscriber_id: str, **changes: Any) -> None:
        """Set the given attributes on an existing subscriber."""
        values = to_item({k: _jsonable(v) for k, v in changes.items()})
        if not values:
            return
        names = {f"#{k}": k for k in values}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        try:
            with translated("subscriber"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id},
                    UpdateExpression=expression,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues={f":{k}": v for k, v in values.items()},
                    ConditionExpression="attribute_exists(subscriber_id)",
                )
        except Conflict as exc:
            raise NotFound(f"subscriber {subscriber_id}") from exc

    def set_status(self, subscriber_id: str, status: SubscriberStatus) -> None:
        self.update(subscriber_id, status=status.value)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
