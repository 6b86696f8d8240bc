"""DynamoDB stream of new posts -> the topic every extra match shard's queue subscribes to."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import fanout, wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import FanoutSettings

SETTINGS = FanoutSettings.load()
FANOUT = wiring.build_fanout(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = fanout.post_records(event.get("Records") or [])
    # Refused records are retried by the stream from the first of them; the ones after it are
    # published again, which the shards absorb (a pending match is added idempotently).
    failed = FANOUT.publish(records)
    metrics.add_metric(
        name="PostsFannedOut", unit=MetricUnit.Count, value=len(records) - len(failed)
    )
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
