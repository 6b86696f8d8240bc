"""Subscribers table: key `subscriber_id`; GSIs `email-index`, `phone-index`, `resume-index`.

One address is one subscriber by construction: next to each subscriber whose address is
confirmed there is an address item (`subscriber_id = address#<channel>#<sha256 prefix>`,
`owner = <subscriber id>`), written in the same transaction with `attribute_not_exists`. Two
confirmations racing for one address cannot both win, whatever the eventually consistent GSIs
say; lookups by address read that item with a consistent read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from jobalerts.errors import AlreadyExists, Conflict, NotFound
from jobalerts.models import Subscriber, SubscriberStatus
from jobalerts.store._dynamo import batch_get, from_item, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


# Only subscribers with a dated pause carry `resume_shard`, so the index holds just them. One
# partition: pauses are few next to subscribers, and the digest function reads it every run.
RESUME_SHARD = "paused"


def resume_key(moment: datetime) -> str:
    """UTC, fixed width: these strings sort as the times do."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class SubscribersRepository:
    def __init__(self, table: Table, sleep: Callable[[float], None] = time.sleep) -> None:
        self.table = table
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

    def ids_by_phone(self, phone: str) -> list[str]:
        """Every subscriber with this number (a person may have signed up more than once)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "IndexName": "phone-index",
            "KeyConditionExpression": Key("phone").eq(phone),
        }
        while True:
            with translated("phone-index"):
                page = self.table.query(**kwargs)
            ids += [str(item["subscriber_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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

    def pause(self, subscriber_id: str, until: datetime | None) -> None:
        """Mark paused; a pause with an end joins the sparse `resume-index` (by its end)."""
        values: dict[str, Any] = {":yes": True}
        if until is None:
            expression = "SET paused = :yes REMOVE paused_until, resume_shard"
        else:
            expression = "SET paused = :yes, paused_until = :until, resume_shard = :shard"
            values |= {":until": resume_key(until), ":shard": RESUME_SHARD}
        try:
            with translated("subscriber"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id},
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    ConditionExpression="attribute_exists(subscriber_id)",
                )
        except Conflict as exc:
            raise NotFound(f"subscriber {subscriber_id}") from exc

    def resume(self, subscriber_id: str, *, ended_by: datetime | None = None) -> bool:
        """End a pause; with `ended_by`, only a pause that ends by then (a pause renewed
        meanwhile stays). False when there was no such pause."""
        condition = "paused = :yes"
        values: dict[str, Any] = {":yes": True, ":no": False}
        if ended_by is not None:
            condition += " AND paused_until <= :by"
            values[":by"] = resume_key(ended_by)
        try:
            with translated("subscriber"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id},
                    UpdateExpression="SET paused = :no REMOVE paused_until, resume_shard",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
        except Conflict:
            return False
        return True

    def pauses_ended(self, now: datetime) -> list[str]:
        """Subscribers whose pause ended by `now`: one Query of the sparse index."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "IndexName": "resume-index",
            "KeyConditionExpression": Key("resume_shard").eq(RESUME_SHARD)
            & Key("paused_until").lte(resume_key(now)),
        }
        while True:
            with translated("resume-index"):
                page = self.table.query(**kwargs)
            ids += [str(item["subscriber_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_status(self, subscriber_id: str, status: SubscriberStatus) -> None:
        self.update(subscriber_id, status=status.value)


class AddressTaken(Conflict):
    """The address already belongs to another subscriber."""


def address_key(channel: str, address: str) -> str:
    """Address items are keyed by a hash: the key never spells the address out."""
    digest = hashlib.sha256(f"{channel}|{address}".encode()).hexdigest()[:40]
    return f"address#{channel}#{digest}"


class SubscriberAddresses:
    """The address items of the subscribers table (see the module docstring)."""

    def __init__(self, repository: SubscribersRepository) -> None:
        self.repository = repository
        self.table = repository.table

    def owner_of(self, channel: str, address: str) -> Subscriber | None:
        with translated("address"):
            item = self.table.get_item(
                Key={"subscriber_id": address_key(channel, address)}, ConsistentRead=True
            ).get("Item")
        if item is not None:
            try:
                return self.repository.get(str(item["owner"]))
            except NotFound:
                return None
        # Subscribers from before address items existed are found through the GSI and given
        # their address item now, so the next lookup is consistent.
        legacy = (
            self.repository.find_by_email(address)
            if channel == "email"
            else self.repository.find_by_phone(address)
        )
        if legacy is None:
            return None
        try:
            self.claim(legacy.subscriber_id, channel, address)
        except AddressTaken:
            return self.owner_of(channel, address)
        return legacy

    def create(self, subscriber: Subscriber, channel: str, address: str) -> None:
        """The subscriber and its address item, both or neither; AddressTaken if claimed."""
        client = self.table.meta.client
        try:
            with translated("subscriber exists"):
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table.name,
                                # The resource's client takes plain values, as the table does.
                                "Item": to_item(subscriber.model_dump(mode="json")),
                                "ConditionExpression": "attribute_not_exists(subscriber_id)",
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table.name,
                                "Item": {
                                    "subscriber_id": address_key(channel, address),
                                    "owner": subscriber.subscriber_id,
                                },
                                "ConditionExpression": "attribute_not_exists(subscriber_id)",
                            }
                        },
                    ]
                )
        except Conflict as exc:
            raise AddressTaken(channel) from exc

    def claim(self, subscriber_id: str, channel: str, address: str) -> None:
        """Give the address to this subscriber unless another one owns it (AddressTaken)."""
        try:
            with translated("address"):
                self.table.put_item(
                    Item={"subscriber_id": address_key(channel, address), "owner": subscriber_id},
                    ConditionExpression="attribute_not_exists(subscriber_id) OR #o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":me": subscriber_id},
                )
        except Conflict as exc:
            raise AddressTaken(channel) from exc

    def release(self, subscriber_id: str, channel: str, address: str) -> None:
        """Free an address this subscriber no longer uses (a replaced email or number)."""
        try:
            with translated("address"):
                self.table.delete_item(
                    Key={"subscriber_id": address_key(channel, address)},
                    ConditionExpression="#o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":me": subscriber_id},
                )
        except Conflict:
            pass


class SearchSlots:
    """An atomic count of a subscriber's saved searches, so the cap holds under races."""

    def __init__(self, repository: SubscribersRepository) -> None:
        self.table = repository.table

    def take(self, subscriber_id: str, cap: int, counted: int) -> bool:
        """One more search; False at the cap. `counted` seeds subscribers without a count."""
        try:
            with translated("search slots"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id},
                    UpdateExpression="SET search_count = if_not_exists(search_count, :seed) + :one",
                    ConditionExpression="attribute_exists(subscriber_id) AND "
                    "((attribute_not_exists(search_count) AND :seed < :cap) OR search_count < :cap)",
                    ExpressionAttributeValues={":seed": counted, ":one": 1, ":cap": cap},
                )
        except Conflict:
            return False
        return True

    def give_back(self, subscriber_id: str) -> None:
        try:
            with translated("search slots"):
                self.table.update_item(
                    Key={"subscriber_id": subscriber_id},
                    UpdateExpression="SET search_count = search_count - :one",
                    ConditionExpression="search_count > :zero",
                    ExpressionAttributeValues={":one": 1, ":zero": 0},
                )
        except Conflict:
            pass


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
