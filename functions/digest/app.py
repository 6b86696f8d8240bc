"""Scheduled: find the digests that are due and queue one delivery per subscriber and channel."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import DigestSettings

# Cold start: a missing variable fails here, by name; clients live as long as the worker.
SETTINGS = DigestSettings.load()
SCHEDULE = wiring.build_digest(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    # The schedule's own time, not the clock: a delayed or replayed run covers the same windows.
    return SCHEDULE.run(event.time, time_left=lambda: context.get_remaining_time_in_millis() / 1000)
