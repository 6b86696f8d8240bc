"""DynamoDB stream of new posts -> pending matches for every saved search they satisfy."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBStreamEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import matching, preview
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import get_settings
from jobalerts.store.recent import RecentPostsRepository

SETTINGS = get_settings()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def service() -> matching.MatchService:
    """Built once per warm worker: the index it holds is the point of keeping it."""
    return matching.default_service(SETTINGS)


@cache
def recent_posts() -> RecentPostsRepository:
    return RecentPostsRepository()


def _post_of(record: DynamoDBRecord) -> Any:
    event_name = record.event_name.name if record.event_name else ""
    image = record.dynamodb.new_image if record.dynamodb else None
    return matching.post_from_new_image(event_name, image)


def record_handler(record: DynamoDBRecord) -> None:
    post = _post_of(record)
    if post is not None:
        service().handle([post])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    service().refresh()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # Every shard's worker sees every post: one of them keeps the previews' window.
    if SETTINGS.match_shard == "0":
        records = DynamoDBStreamEvent(event).records
        posts = [post for post in map(_post_of, records) if post is not None]
        preview.remember_quietly(recent_posts(), posts, datetime.now(UTC))
    return response
