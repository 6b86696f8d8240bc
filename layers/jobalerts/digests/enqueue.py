"""Fan-out: find the digests that are due and queue one delivery per subscriber and channel.

The digest function only reads the sparse `due-index` (shard by shard, `due_at <= now`) and
writes to SQS; rendering and sending happen in `deliver`, one message at a time, so 100k
digests never depend on one invocation finishing. A run that nears its deadline stops between
batches: markers it did not stamp are still due, and the next run (a minute later) picks
them up. A marker stamped but whose message was lost is handed out again after an hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from jobalerts.errors import Throttled
from jobalerts.models import Channel, DeliveryRequest
from jobalerts.observability import logger, metrics, tracer
from jobalerts.pauses import resume_ended
from jobalerts.retry import is_throttling
from jobalerts.store import SearchesRepository, SubscribersRepository
from jobalerts.store.matches import DUE_SHARDS, MatchesRepository

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10

Marker = tuple[str, Channel, datetime]


class DeliveryQueue:
    """The SQS boundary: batches of delivery requests in, the indexes SQS refused out."""

    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self.queue_url = queue_url
        self.client = client

    def send_batch(self, requests: list[DeliveryRequest]) -> list[int]:
        entries: list[Any] = [
            {"Id": str(index), "MessageBody": request.model_dump_json()}
            for index, request in enumerate(requests)
        ]
        try:
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except ClientError as exc:
            if is_throttling(exc):
                raise Throttled("sqs") from exc
            raise
        return sorted(int(failure["Id"]) for failure in response.get("Failed", []))

    def send_one(self, request: DeliveryRequest) -> None:
        """One message per call: the bench's baseline, not used by the service."""
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=request.model_dump_json())


@dataclass
class EnqueueResult:
    markers: int = 0
    enqueued: int = 0
    refused: int = 0
    stopped_early: bool = False


def plan(markers: list[Marker]) -> list[tuple[DeliveryRequest, list[Marker]]]:
    """One request per (subscriber, channel): the latest due window covers every earlier one,
    because a delivery sends everything pending up to its window."""
    groups: dict[tuple[str, Channel], list[Marker]] = {}
    for marker in markers:
        groups.setdefault((marker[0], marker[1]), []).append(marker)
    planned = []
    for (subscriber_id, channel), group in groups.items():
        window = max(m[2] for m in group)
        planned.append(
            (DeliveryRequest(subscriber_id=subscriber_id, channel=channel, due_at=window), group)
        )
    return planned


def enqueue_due(
    now: datetime,
    *,
    matches: MatchesRepository,
    queue: DeliveryQueue,
    time_left: Callable[[], float] | None = None,
    margin_seconds: float = 10.0,
) -> EnqueueResult:
    """Queue every due digest; `time_left()` (seconds) lets a run stop before Lambda kills it."""
    result = EnqueueResult()
    for shard in range(DUE_SHARDS):
        markers = list(matches.due_in_shard(str(shard), now))
        result.markers += len(markers)
        planned = plan(markers)
        for start in range(0, len(planned), SQS_BATCH):
            if time_left is not None and time_left() < margin_seconds:
                result.stopped_early = True
                logger.warning("digest run out of time", enqueued=result.enqueued, shard=shard)
                return result
            batch = planned[start : start + SQS_BATCH]
            refused = set(queue.send_batch([request for request, _ in batch]))
            accepted = [m for i, (_, group) in enumerate(batch) if i not in refused for m in group]
            matches.mark_enqueued_many(accepted, now)
            result.enqueued += len(batch) - len(refused)
            result.refused += len(refused)
    if result.refused:
        logger.warning("sqs refused some deliveries; they stay due", refused=result.refused)
    return result


@tracer.capture_method(capture_response=False)
def run(
    now: datetime,
    *,
    time_left: Callable[[], float] | None = None,
    matches: MatchesRepository,
    queue: DeliveryQueue,
) -> EnqueueResult:
    """The digest function's use case: queue every digest that is due at `now`."""
    result = enqueue_due(now, matches=matches, queue=queue, time_left=time_left)
    logger.info(
        "digest run",
        markers=result.markers,
        enqueued=result.enqueued,
        refused=result.refused,
        stopped_early=result.stopped_early,
    )
    metrics.add_metric(name="DigestsEnqueued", unit=MetricUnit.Count, value=result.enqueued)
    return result


@dataclass(frozen=True)
class DigestSchedule:
    """The digest function's use case: end the pauses that are over, then queue what is due."""

    matches: MatchesRepository
    queue: DeliveryQueue
    subscribers: SubscribersRepository
    searches: SearchesRepository

    @tracer.capture_method(capture_response=False)
    def run(self, now: datetime, time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        # Pauses whose date has passed end first, so their searches go live again on time.
        resumed = resume_ended(now, self.subscribers, self.searches)
        result = run(now, time_left=time_left, matches=self.matches, queue=self.queue)
        return {
            "markers": result.markers,
            "enqueued": result.enqueued,
            "refused": result.refused,
            "stopped_early": result.stopped_early,
            "resumed": resumed,
        }
