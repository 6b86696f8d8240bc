"""Pending sign-ups and channel additions, waiting for the link sent to their address.

A request to subscribe (or to add an email address or phone number to a subscription) changes
nothing about any subscriber: it is stored here, keyed by a random id that the confirmation link
signs, and applied only when that link is used. Using it is a conditional write (`used_at` must
be absent), so a link changes state once. DynamoDB TTL deletes lazily, so `expires_at` is checked
on every read rather than trusted to have removed the record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from jobalerts.errors import Conflict, InvalidToken
from jobalerts.models import Channel, Frequency
from jobalerts.store import keys
from jobalerts.store._dynamo import from_item, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class Signup(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signup_id: str
    kind: Literal["subscribe", "channel"]
    channel: Channel
    address: str
    # "subscribe": the settings and first search of the request; "channel": whose channel.
    subscriber_id: str | None = None
    timezone: str = "UTC"
    digest_hour: int = 8
    digest_weekday: int = 0
    query: str | None = None
    search_channel: Channel | None = None
    frequency: Frequency = Frequency.DAILY
    # The second address a sign-up named: once this one is confirmed it gets its own link.
    also_channel: Channel | None = None
    also_address: str | None = None
    created_at: float
    expires_at: int
    used_at: float | None = None


class SignupsRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, signup: Signup) -> None:
        data = signup.model_dump(mode="json")
        with translated("signup"):
            self.table.put_item(
                Item=to_item(
                    {
                        **data,
                        **keys.signup(signup.signup_id),
                        "expiration": data["expires_at"],
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def get(self, signup_id: str, now: float) -> Signup:
        """The unused, unexpired sign-up; InvalidToken otherwise (used, expired, unknown)."""
        with translated("signup"):
            item = self.table.get_item(Key=keys.signup(signup_id), ConsistentRead=True).get("Item")
        if item is None:
            raise InvalidToken("this link is not valid")
        signup = Signup.model_validate(_without_keys(from_item(item)))
        if signup.used_at is not None:
            raise InvalidToken("this link was already used")
        if signup.expires_at < now:
            raise InvalidToken("this link has expired")
        return signup

    def use(self, signup_id: str, now: float) -> Signup:
        """Mark the sign-up used, once; InvalidToken if it was used already or has expired."""
        signup = self.get(signup_id, now)
        try:
            with translated("signup"):
                self.table.update_item(
                    Key=keys.signup(signup_id),
                    UpdateExpression="SET used_at = :now",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_at) "
                    "AND expires_at >= :now",
                    ExpressionAttributeValues={":now": int(now)},
                )
        except Conflict:
            raise InvalidToken("this link was already used") from None
        return signup.model_copy(update={"used_at": now})


def _without_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys.KEY_ATTRIBUTES | {"expiration"}}
