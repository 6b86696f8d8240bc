"""DynamoDB stream of new posts -> pending matches for every saved search they satisfy."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import matching
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import get_settings

SETTINGS = get_settings()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def service() -> matching.MatchService:
    """Built once per warm worker: the index it holds is the point of keeping it."""
    return matching.default_service(SETTINGS)


def record_handler(record: DynamoDBRecord) -> None:
    event_name = record.event_name.name if record.event_name else ""
    image = record.dynamodb.new_image if record.dynamodb else None
    post = matching.post_from_new_image(event_name, image)
    if post is not None:
        service().handle([post])


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    service().refresh()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
