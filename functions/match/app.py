"""DynamoDB stream of new posts -> pending matches for every saved search they satisfy."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import matching, preview, wiring
from jobalerts.models import Post
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import MatchSettings

# Cold start: a missing variable fails here, by name. The service lives as long as the worker:
# the index it holds is the point of keeping it.
SETTINGS = MatchSettings.load()
SERVICE, RECENT_POSTS = wiring.build_match(SETTINGS)
# Records are parsed into the Powertools model; one that does not parse is reported on its own.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)


def record_handler(record: DynamoDBStreamRecordModel) -> Post | None:
    return matching.post_from_stream(record)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    SERVICE.refresh()
    records = event.get("Records") or []
    with processor(records=records, handler=record_handler, lambda_context=context):
        parsed = processor.process()
    response, posts = matching.match_parsed_batch(
        SERVICE, parsed, processor.response, lambda raw: raw["dynamodb"]["SequenceNumber"]
    )
    # Every shard's worker sees every post: one of them keeps the previews' window (nothing to
    # keep when matching failed: the posts come back).
    if SETTINGS.match_shard == "0":
        preview.remember_quietly(RECENT_POSTS, posts, SERVICE.clock())
    return response
