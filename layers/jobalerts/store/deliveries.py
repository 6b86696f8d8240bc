"""Delivery records in the state table: what makes a digest go out exactly once.

Items, all under `pk = "delivery#<subscriber_id>"`:
- `<channel>#w#<window>`: one digest window. `status` is `sending` while an attempt holds it
  (with `attempt_id`, `lease_until`, and the `post_ids`/`fingerprints` it covers) and `sent`
  once SES or SNS accepted it. `accepted` is set by the feedback function when SES reports the
  message as sent: evidence that settles an attempt that crashed before it could mark itself.
- `<channel>#lock`: held for the length of one attempt, so two windows of the same subscriber
  and channel (a late retry next to a fresh delivery) never send the same post at once.
- `sms#count#<local date>`: texts sent that day, for the daily cap.
The table's TTL attribute `expiration` cleans all of them up. DynamoDB deletes lazily, so a
window record past its expiration reads as absent and can be claimed again; the lock and the
SMS counter need no such check (the lock's lease ends long before it expires; a counter's key
names its day, which is over before it expires).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobalerts.errors import Conflict, Throttled
from jobalerts.models import Channel, DeliveryRequest
from jobalerts.observability import logger
from jobalerts.schedule import window_key
from jobalerts.store import keys
from jobalerts.store._dynamo import from_item, is_expired, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Longer than the deliver function's timeout (60 s): once a lease has run out, its holder is
# certainly dead. Shorter than the queue's visibility timeout, so a retry finds it expired.
LEASE = timedelta(seconds=120)
RECORD_DAYS = 30
COUNTER_DAYS = 3
SENDING = "sending"
SENT = "sent"


def _epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


@dataclass(frozen=True)
class DeliveryRecord:
    status: str
    digest_id: str
    attempt_id: str
    post_ids: tuple[str, ...]
    fingerprints: tuple[str, ...]
    lease_until: datetime
    accepted: bool

    def live(self, now: datetime) -> bool:
        return self.status == SENDING and self.lease_until > now


class DeliveryLog:
    def __init__(self, table: Table) -> None:
        self.table = table

    def _window_key(self, request: DeliveryRequest) -> dict[str, str]:
        return keys.delivery_window(request.subscriber_id, request.channel, request.due_at)

    def get(self, request: DeliveryRequest, now: datetime | None = None) -> DeliveryRecord | None:
        with translated("delivery record"):
            page = self.table.get_item(Key=self._window_key(request), ConsistentRead=True)
        item = page.get("Item")
        if item is None or is_expired(item, now):
            return None
        data = from_item(item)
        return DeliveryRecord(
            status=str(data["status"]),
            digest_id=str(data.get("digest_id", "")),
            attempt_id=str(data.get("attempt_id", "")),
            post_ids=tuple(data.get("post_ids", [])),
            fingerprints=tuple(data.get("fingerprints", [])),
            lease_until=datetime.fromtimestamp(int(data.get("lease_until", 0)), UTC),
            accepted=bool(data.get("accepted", False)),
        )

    def claim(
        self,
        request: DeliveryRequest,
        *,
        digest_id: str,
        attempt_id: str,
        post_ids: tuple[str, ...],
        fingerprints: tuple[str, ...],
        now: datetime,
    ) -> None:
        """Take the channel lock, then the window, for one attempt, or raise Conflict.

        The window is free when nobody claimed it, or when an earlier attempt's lease ran out
        without SES having reported the message as sent (then this attempt sends it again).
        Two conditional writes, not a transaction (which costs two write units an item): the
        lock comes first, so a window is only ever claimed by the lock's holder; a window
        that cannot be taken gives the lock back, and a crash between the two leaves a lock
        that its lease frees. Either write may be one the SDK retried after DynamoDB applied
        it and the answer was lost: the retry fails its condition on this attempt's own item,
        so a failed condition is checked against the attempt id before it counts as lost.
        """
        lease_until = _epoch(now + LEASE)
        expiration = _epoch(now + timedelta(days=RECORD_DAYS))
        lock_key = keys.delivery_lock(request.subscriber_id, request.channel)
        try:
            with translated("delivery lock"):
                self.table.put_item(
                    Item={
                        **lock_key,
                        "window": window_key(request.due_at),
                        "attempt_id": attempt_id,
                        "lease_until": lease_until,
                        "expiration": expiration,
                    },
                    ConditionExpression="attribute_not_exists(pk) OR lease_until < :now_epoch",
                    ExpressionAttributeValues={":now_epoch": _epoch(now)},
                )
        except Conflict:
            if self._holder(lock_key) != attempt_id:
                raise
        try:
            with translated("delivery claim"):
                self.table.update_item(
                    Key=self._window_key(request),
                    UpdateExpression=(
                        "SET #s = :sending, digest_id = :digest, attempt_id = :attempt, "
                        "post_ids = :posts, fingerprints = :prints, lease_until = :lease, "
                        "claimed_at = :now, expiration = :exp"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR expiration < :now_epoch OR "
                        "(#s = :sending AND lease_until < :now_epoch "
                        "AND attribute_not_exists(accepted))"
                    ),
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":sending": SENDING,
                        ":digest": digest_id,
                        ":attempt": attempt_id,
                        ":posts": list(post_ids),
                        ":prints": list(fingerprints),
                        ":lease": lease_until,
                        ":now": now.astimezone(UTC).isoformat(timespec="seconds"),
                        ":now_epoch": _epoch(now),
                        ":exp": expiration,
                    },
                )
        except Conflict:
            mine = self.get(request, now)
            if mine is None or mine.attempt_id != attempt_id or mine.status != SENDING:
                self.unlock(request, attempt_id)
                raise
        except Exception:
            # Throttled or unreachable: this attempt gives up, and the channel should not wait
            # out the lease for it.
            self.unlock(request, attempt_id)
            raise

    def _holder(self, key: keys.Key) -> str | None:
        with translated("delivery lock"):
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return str(item["attempt_id"]) if item else None

    def mark_sent(
        self,
        request: DeliveryRequest,
        *,
        attempt_id: str,
        provider_message_id: str | None,
        now: datetime,
        sms_day: date | None = None,
    ) -> None:
        """The window is sent and, for a text, the day's counter goes up in the same transaction.

        An email's mark is a plain conditional update: a transaction of one item costs twice
        its write units and buys nothing."""
        values: dict[str, Any] = {
            ":sent": SENT,
            ":attempt": attempt_id,
            ":sending": SENDING,
            ":now": now.astimezone(UTC).isoformat(timespec="seconds"),
        }
        expression = "SET #s = :sent, sent_at = :now"
        if provider_message_id:
            expression += ", provider_message_id = :mid"
            values[":mid"] = provider_message_id
        window: dict[str, Any] = {
            "Key": self._window_key(request),
            "UpdateExpression": expression,
            # Only a `sending` record moves: a retried call whose first try went through must
            # not add a second text to the day's count.
            "ConditionExpression": "attempt_id = :attempt AND #s = :sending",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": values,
        }
        try:
            with translated("delivery record"):
                if sms_day is None:
                    self.table.update_item(**window)
                else:
                    counter = {
                        "TableName": self.table.name,
                        "Key": keys.sms_counter(request.subscriber_id, sms_day),
                        "UpdateExpression": "ADD sent :one SET expiration = :exp",
                        "ExpressionAttributeValues": {
                            ":one": 1,
                            ":exp": _epoch(now + timedelta(days=COUNTER_DAYS)),
                        },
                    }
                    items: list[Any] = [
                        {"Update": {"TableName": self.table.name, **window}},
                        {"Update": counter},
                    ]
                    self.table.meta.client.transact_write_items(TransactItems=items)
        except Conflict:
            record = self.get(request, now)
            if record is None or record.status != SENT or record.attempt_id != attempt_id:
                raise
        self.unlock(request, attempt_id)

    def unlock(self, request: DeliveryRequest, attempt_id: str) -> None:
        """Best effort: a lock left behind expires with its lease."""
        try:
            with translated("delivery lock"):
                self.table.delete_item(
                    Key=keys.delivery_lock(request.subscriber_id, request.channel),
                    ConditionExpression="attempt_id = :attempt",
                    ExpressionAttributeValues={":attempt": attempt_id},
                )
        except Conflict:
            pass  # the lease ran out and another attempt holds the lock now
        except Throttled:
            logger.warning("lock not released; it expires with its lease")

    def release(self, request: DeliveryRequest, attempt_id: str) -> None:
        """Give the window back after a send that certainly did not happen (refused, throttled)."""
        try:
            with translated("delivery record"):
                self.table.delete_item(
                    Key=self._window_key(request),
                    ConditionExpression="attempt_id = :attempt AND #s = :sending",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":attempt": attempt_id, ":sending": SENDING},
                )
        except Conflict:
            pass
        self.unlock(request, attempt_id)

    def record_accepted(self, subscriber_id: str, channel: Channel, window: datetime) -> bool:
        """SES said it accepted the message for this window; False when no attempt is recorded.

        The evidence only matters to a window still `sending` (an attempt that crashed before
        marking it): a window already sent is only read. SES reports nearly every message after
        its attempt marked it, and a write, even one whose condition fails, costs five times a
        consistent read of the same small item."""
        key = keys.delivery_window(subscriber_id, channel, window)
        with translated("delivery record"):
            item = self.table.get_item(
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
            ).get("Item")
        if item is None:
            return False
        if item.get("status") == SENT:
            return True
        try:
            with translated("delivery record"):
                self.table.update_item(
                    Key=key,
                    UpdateExpression="SET accepted = :yes",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":yes": True},
                )
        except Conflict:
            return False
        return True

    def sms_sent_on(self, subscriber_id: str, day: date) -> int:
        with translated("sms counter"):
            page = self.table.get_item(
                Key=keys.sms_counter(subscriber_id, day), ConsistentRead=True
            )
        item = page.get("Item")
        return int(item.get("sent", 0)) if item else 0  # type: ignore[arg-type]
