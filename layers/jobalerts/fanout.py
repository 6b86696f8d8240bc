"""Posts stream -> the match shards' topic, when the searches are split over several workers.

A DynamoDB stream has room for two consumers: shard 0's match function is one, this fan-out the
other. It publishes each stream record that carries a new post, unchanged, as one SNS message;
every extra shard's queue subscribes to the topic with raw delivery, so each shard's worker
reads the same record shard 0 reads from the stream (`matching.post_from_fanout`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobalerts.observability import logger
from jobalerts.store.posts import POST_KIND

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

# PublishBatch takes 10 entries and 256 KiB in all; leave room for the request's own fields.
BATCH_ENTRIES = 10
BATCH_BYTES = 240 * 1024


class PostFanout:
    def __init__(self, sns: SNSClient, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, records: Sequence[dict[str, Any]]) -> list[str]:
        """Publish each stream record; returns the sequence numbers of those SNS refused.

        A record is one post, so a message never comes near SNS's 256 KiB limit on its own;
        batches are cut by count and by size."""
        failed: list[str] = []
        for batch in _batches([json.dumps(r, separators=(",", ":")) for r in records]):
            entries: list[PublishBatchRequestEntryTypeDef] = [
                {"Id": str(i), "Message": body} for i, body in batch
            ]
            try:
                response = self.sns.publish_batch(
                    TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
                )
            except Exception:
                logger.exception("publishing posts to the shards' topic failed; retried")
                failed += [_sequence(records[i]) for i, _ in batch]
                continue
            for refused in response.get("Failed", []):
                logger.warning("a post was refused by the shards' topic", code=refused["Code"])
                failed.append(_sequence(records[int(refused["Id"])]))
        return failed


def _batches(bodies: list[str]) -> list[list[tuple[int, str]]]:
    batches: list[list[tuple[int, str]]] = []
    size = BATCH_BYTES
    for i, body in enumerate(bodies):
        length = len(body.encode())
        if not batches or len(batches[-1]) == BATCH_ENTRIES or size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append((i, body))
        size += length
    return batches


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def post_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that insert a post: what the event source's filter lets through, checked
    again here so a record the filter missed never reaches the shards."""
    return [
        r
        for r in records
        if r.get("eventName") == "INSERT"
        and (r.get("dynamodb", {}).get("NewImage") or {}).get("kind") == {"S": POST_KIND}
    ]
