"""Pending matches table: key (`subscriber_id`, `sk`); GSI `due-index` (`due_shard`, `due_at`).

Four kinds of item share a subscriber's partition:
- `m#<channel>#<post_id>`: one post waiting for that channel, with a snapshot of the post (the
  posts table expires sooner than a weekly digest) and the ids of every search that matched it,
  so a post matched by several searches is still sent once.
- `d#<channel>#<due_at>`: a due marker. Only markers carry `due_shard`, so the sparse GSI lists
  exactly the (subscriber, channel, window) digests that have something to send; the digest
  function queries it by time and never scans.
- `f#<channel>#<fingerprint>`: the sent log, one entry per delivered post (`identity.
  fingerprints`: its near-duplicate key, or a key of its id when it has none). A post (or a
  near duplicate of it) that already went out on a channel is never sent there again, even
  when a late or retried match brings it back. They expire with the matches. `s#<channel>#
  <post_id>` entries, a second entry per post written before, are still read until they
  expire.
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key

from jobalerts.errors import Conflict
from jobalerts.models import Channel, PendingMatch, Post
from jobalerts.schedule import window_key
from jobalerts.store._dynamo import (
    batch_get,
    epoch_after,
    from_item,
    to_item,
    translated,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DUE_SHARDS = 8
# A marker handed to the queue is not handed again until this long has passed: by then the
# delivery either finished (and deleted it) or failed into the dead-letter queue.
REQUEUE_AFTER = timedelta(hours=1)
# Due-marker stamps in flight at once: botocore's default connection pool (10 a client) would
# queue any more.
STAMP_CONCURRENCY = 10


def due_shard(subscriber_id: str) -> str:
    digest = hashlib.blake2b(subscriber_id.encode(), digest_size=2).digest()
    return str(int.from_bytes(digest, "big") % DUE_SHARDS)


def _iso(moment: datetime) -> str:
    return window_key(moment)


def _marker(channel: Channel, due_at: datetime) -> str:
    return f"d#{channel.value}#{_iso(due_at)}"


class MatchesRepository:
    def __init__(
        self,
        table: Table,
        ttl_days: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table = table
        self.ttl_days = ttl_days
        self.sleep = sleep

    # ------------------------------------------------------------ written by the match function

    def add(
        self,
        subscriber_id: str,
        channel: Channel,
        post: Post,
        search_id: str,
        due_at: datetime,
        matched_at: datetime,
        *,
        mark: bool = True,
    ) -> None:
        """Queue a post for a subscriber; idempotent, so a retried stream batch adds nothing new.

        `mark=False` leaves the due marker to the caller (`mark_due`), which must write it after
        every pending item it covers: the match function writes one per window and batch."""
        key = {"subscriber_id": subscriber_id, "sk": f"m#{channel.value}#{post.id}"}
        expires = epoch_after(self.ttl_days, due_at)
        with translated("pending match"):
            old = self.table.update_item(
                Key=key,
                UpdateExpression=(
                    "SET post = if_not_exists(post, :post), channel = :channel, "
                    "matched_at = if_not_exists(matched_at, :matched), "
                    "due_at = if_not_exists(due_at, :due), expires_at = :ttl "
                    "ADD search_ids :sid"
                ),
                ExpressionAttributeValues={
                    ":post": to_item(post.model_dump(mode="json")),
                    ":channel": channel.value,
                    ":matched": _iso(matched_at),
                    ":due": _iso(due_at),
                    ":ttl": expires,
                    ":sid": {search_id},
                },
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        # A second search with a sooner schedule pulls the post forward. Only an item that was
        # already there with a later due time needs it: the conditional write costs a write unit
        # per KB of the item (post included) even when its condition fails, and most matches
        # are a post's first for that subscriber.
        earlier = old.get("due_at")
        if earlier is not None and str(earlier) > _iso(due_at):
            try:
                with translated("pending match"):
                    self.table.update_item(
                        Key=key,
                        UpdateExpression="SET due_at = :due",
                        ConditionExpression="due_at > :due",
                        ExpressionAttributeValues={":due": _iso(due_at)},
                    )
            except Conflict:
                pass
        if mark:
            self._mark_due(subscriber_id, channel, due_at)

    def mark_due(self, subscriber_id: str, channel: Channel, due_at: datetime) -> None:
        """The due marker of a (subscriber, channel, window): the digest function finds it."""
        self._mark_due(subscriber_id, channel, due_at)

    def _mark_due(self, subscriber_id: str, channel: Channel, due_at: datetime) -> None:
        with translated("due marker"):
            self.table.update_item(
                Key={"subscriber_id": subscriber_id, "sk": _marker(channel, due_at)},
                UpdateExpression="SET due_shard = :shard, due_at = :due, channel = :channel, "
                "expires_at = :ttl",
                ExpressionAttributeValues={
                    ":shard": due_shard(subscriber_id),
                    ":due": _iso(due_at),
                    ":channel": channel.value,
                    ":ttl": epoch_after(self.ttl_days, due_at),
                },
            )

    # ------------------------------------------------------------ read by the digest function

    def due(self, now: datetime) -> Iterator[tuple[str, Channel, datetime]]:
        """(subscriber, channel, due_at) of every marker due by `now` not handed out recently."""
        for shard in range(DUE_SHARDS):
            yield from self.due_in_shard(str(shard), now)

    def due_in_shard(self, shard: str, now: datetime) -> Iterator[tuple[str, Channel, datetime]]:
        stale = _iso(now - REQUEUE_AFTER)
        kwargs: dict[str, Any] = {
            "IndexName": "due-index",
            "KeyConditionExpression": Key("due_shard").eq(shard) & Key("due_at").lte(_iso(now)),
            "FilterExpression": Attr("enqueued_at").not_exists() | Attr("enqueued_at").lt(stale),
        }
        while True:
            with translated("due markers"):
                page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                yield (
                    str(item["subscriber_id"]),
                    Channel(str(item["channel"])),
                    datetime.fromisoformat(str(item["due_at"])),
                )
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_enqueued(
        self, subscriber_id: str, channel: Channel, due_at: datetime, now: datetime
    ) -> None:
        self.mark_enqueued_many([(subscriber_id, channel, due_at)], now)

    def mark_enqueued_many(
        self, markers: list[tuple[str, Channel, datetime]], now: datetime
    ) -> None:
        """Stamp markers as handed to the queue, one conditional write each, several at once.

        The condition keeps a marker that a delivery already completed (deleted) from coming
        back to life as an orphan. Not a transaction: one costs two write units an item, and
        the stamps need no all-or-nothing (a marker left unstamped is only queued again, and
        a delivery of a window already sent does nothing). In parallel because the top of the
        hour brings thousands of markers, and one round trip after another took most of the
        digest function's minute. Every stamp is tried; the first error is raised after.
        """
        if len(markers) <= 1:
            for marker in markers:
                self._stamp_one(marker, now)
            return
        with ThreadPoolExecutor(max_workers=min(STAMP_CONCURRENCY, len(markers))) as pool:
            # Each task runs in a copy of the caller's context (log keys, anything a caller
            # keeps in context variables), as the call would have in the caller's thread.
            futures = [
                pool.submit(contextvars.copy_context().run, self._stamp_one, marker, now)
                for marker in markers
            ]
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error

    def _stamp_one(self, marker: tuple[str, Channel, datetime], now: datetime) -> None:
        try:
            with translated("due marker"):
                # The client, not the Table: clients are thread-safe, resources are not.
                self.table.meta.client.update_item(
                    TableName=self.table.name, **self._stamp(marker, now)
                )
        except Conflict:
            return

    def _stamp(self, marker: tuple[str, Channel, datetime], now: datetime) -> dict[str, Any]:
        subscriber_id, channel, due_at = marker
        return {
            "Key": {"subscriber_id": subscriber_id, "sk": _marker(channel, due_at)},
            "UpdateExpression": "SET enqueued_at = :now",
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeValues": {":now": _iso(now)},
        }

    # ------------------------------------------------------------ used by the deliver function

    def pending(self, subscriber_id: str, channel: Channel, until: datetime) -> list[PendingMatch]:
        """Posts for this channel due by `until`, oldest match first."""
        matches: list[PendingMatch] = []
        limit = _iso(until)
        for item in self._items(subscriber_id, f"m#{channel.value}#"):
            data = from_item(item)
            if _iso(datetime.fromisoformat(data["due_at"])) > limit:
                continue
            data["search_ids"] = sorted(data.get("search_ids", []))
            data["post"] = from_item(data["post"])
            matches.append(PendingMatch.model_validate(data))
        matches.sort(key=lambda m: (m.matched_at, m.post.id))
        return matches

    def already_sent(
        self,
        subscriber_id: str,
        channel: Channel,
        post_ids: Iterable[str],
        fingerprints: Iterable[str],
    ) -> tuple[set[str], set[str]]:
        """Which of these posts, and which of these fingerprints, went out on this channel."""
        wanted = [f"s#{channel.value}#{p}" for p in set(post_ids)]
        wanted += [f"f#{channel.value}#{f}" for f in set(fingerprints)]
        found: set[str] = set()
        for start in range(0, len(wanted), 100):
            keys = [
                {"subscriber_id": subscriber_id, "sk": sk} for sk in wanted[start : start + 100]
            ]
            request: dict[str, Any] = {
                self.table.name: {
                    "Keys": keys,
                    "ConsistentRead": True,
                    "ProjectionExpression": "sk",
                }
            }
            found.update(
                str(i["sk"])
                for i in batch_get(self.table.meta.client, request, "sent log", self.sleep)
            )
        prefix_len = len(channel.value) + 3
        posts = {sk[prefix_len:] for sk in found if sk.startswith("s#")}
        prints = {sk[prefix_len:] for sk in found if sk.startswith("f#")}
        return posts, prints

    def carry_sent_log(self, subscriber_id: str, source: Channel, target: Channel) -> int:
        """Copy what went out on `source` into `target`'s sent log (same expiry): a search moved
        to another channel does not send there what its subscriber already got. Returns how
        many entries were copied."""
        entries: list[dict[str, Any]] = []
        for kind in ("s", "f"):
            for item in self._items(subscriber_id, f"{kind}#{source.value}#"):
                rest = str(item["sk"])[len(kind) + len(source.value) + 2 :]
                entry = {"subscriber_id": subscriber_id, "sk": f"{kind}#{target.value}#{rest}"}
                if "expires_at" in item:
                    entry["expires_at"] = item["expires_at"]
                entries.append(entry)
        with translated("sent log"), self.table.batch_writer() as batch:
            for entry in entries:
                batch.put_item(Item=entry)
        return len(entries)

    def complete(
        self,
        subscriber_id: str,
        channel: Channel,
        post_ids: list[str],
        until: datetime | None,
        *,
        now: datetime,
        fingerprints: Iterable[str] = (),
    ) -> None:
        """Forget what was delivered, log its fingerprints as sent (kept `ttl_days` from `now`,
        the delivery), and drop every marker up to this window (`until=None`: forget posts
        without touching any marker).

        The fingerprints cover every post (see `identity.fingerprints`), so the posts are not
        logged by id as well: that was a write unit per delivered post."""
        post_ids = sorted(set(post_ids))
        log = [f"f#{channel.value}#{f}" for f in sorted(set(fingerprints))]
        expires = epoch_after(self.ttl_days, now)
        deletes = [f"m#{channel.value}#{p}" for p in post_ids]
        if until is not None:
            deletes += self._markers_until(subscriber_id, channel, until)
        with translated("pending matches"), self.table.batch_writer() as batch:
            for sk in log:
                batch.put_item(
                    Item={"subscriber_id": subscriber_id, "sk": sk, "expires_at": expires}
                )
            for sk in deletes:
                batch.delete_item(Key={"subscriber_id": subscriber_id, "sk": sk})

    def forget(self, subscriber_id: str, channel: Channel, post_ids: Iterable[str]) -> None:
        """Drop pending posts that will never be sent (already sent, or their search is gone)."""
        with translated("pending matches"), self.table.batch_writer() as batch:
            for post_id in set(post_ids):
                batch.delete_item(
                    Key={"subscriber_id": subscriber_id, "sk": f"m#{channel.value}#{post_id}"}
                )

    def discard(self, subscriber_id: str, channel: Channel, until: datetime) -> int:
        """Drop everything due by `until` on a channel that will not be used (unsubscribed,
        channel switched off, number opted out); returns how many posts were dropped."""
        posts = [m.post.id for m in self.pending(subscriber_id, channel, until)]
        self.forget(subscriber_id, channel, posts)
        self.clear_markers(subscriber_id, channel, until)
        return len(posts)

    def defer(self, subscriber_id: str, channel: Channel, until: datetime, to: datetime) -> None:
        """Move this window's digest to `to`: its posts stay pending, only the marker moves."""
        self._mark_due(subscriber_id, channel, to)
        markers = [
            m
            for m in self._markers_until(subscriber_id, channel, until)
            if m != _marker(channel, to)
        ]
        self._delete_markers(subscriber_id, markers)

    def reschedule(self, subscriber_id: str, channel: Channel, at: datetime) -> None:
        """A fresh marker for posts left pending behind a window that was already sent."""
        self._mark_due(subscriber_id, channel, at)

    def move(
        self,
        matches: list[PendingMatch],
        to: Channel,
        due_at: datetime,
    ) -> None:
        """Hand pending posts to another channel (texts over the daily cap go to the email)."""
        for match in matches:
            for search_id in match.search_ids:
                self.add(match.subscriber_id, to, match.post, search_id, due_at, match.matched_at)
        by_subscriber: dict[tuple[str, Channel], list[str]] = {}
        for match in matches:
            by_subscriber.setdefault((match.subscriber_id, match.channel), []).append(match.post.id)
        for (subscriber_id, channel), post_ids in by_subscriber.items():
            self.forget(subscriber_id, channel, post_ids)

    # ------------------------------------------------------------ helpers

    def _markers_until(self, subscriber_id: str, channel: Channel, until: datetime) -> list[str]:
        limit = _iso(until)
        return [
            str(item["sk"])
            for item in self._items(subscriber_id, f"d#{channel.value}#")
            if _iso(datetime.fromisoformat(str(item["due_at"]))) <= limit
        ]

    def clear_markers(self, subscriber_id: str, channel: Channel, until: datetime) -> None:
        """Drop the markers up to a window whose posts were handled some other way."""
        self._delete_markers(subscriber_id, self._markers_until(subscriber_id, channel, until))

    def _delete_markers(self, subscriber_id: str, markers: list[str]) -> None:
        if not markers:
            return
        with translated("due markers"), self.table.batch_writer() as batch:
            for sk in markers:
                batch.delete_item(Key={"subscriber_id": subscriber_id, "sk": sk})

    def _items(self, subscriber_id: str, prefix: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("subscriber_id").eq(subscriber_id)
            & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        while True:
            with translated("pending matches"):
                page = self.table.query(**kwargs)
            yield from (dict(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
