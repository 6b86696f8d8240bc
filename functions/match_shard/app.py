"""A match shard's queue of new posts (fed by the fan-out topic) -> pending matches for the
saved searches of that shard. The same match service as functions/match, on an SQS batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import matching, wiring
from jobalerts.models import Post
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import MatchSettings

# Cold start: as functions/match, the service (and the index it holds) lives with the worker.
SETTINGS = MatchSettings.load()
SERVICE, _ = wiring.build_match(SETTINGS)
# A message that does not parse is reported on its own and, after the queue's retries, lands in
# the shard's dead-letter queue.
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> Post | None:
    return matching.post_from_fanout(record.body)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    SERVICE.refresh()
    records = event.get("Records") or []
    with processor(records=records, handler=record_handler, lambda_context=context):
        parsed = processor.process()
    response, _ = matching.match_parsed_batch(
        SERVICE, parsed, processor.response, lambda raw: raw["messageId"]
    )
    return response
