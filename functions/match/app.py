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
    posts = [(result, raw) for status, result, raw in parsed if status == "success" and result]
    try:
        # The whole batch at once: one read of the subscribers per 100 of them, not per record.
        SERVICE.handle([post for post, _ in posts])
    except Exception:
        logger.exception("matching a stream batch failed; its posts are retried")
        # Every record that carried a post is retried (adds are idempotent); the stream resumes
        # from the first of them, as it does for any partial failure.
        failed = processor.response()["batchItemFailures"]
        failed += [{"itemIdentifier": raw["dynamodb"]["SequenceNumber"]} for _, raw in posts]
        return {"batchItemFailures": failed}
    # Every shard's worker sees every post: one of them keeps the previews' window.
    if SETTINGS.match_shard == "0":
        preview.remember_quietly(RECENT_POSTS, [post for post, _ in posts], SERVICE.clock())
    return processor.response()
