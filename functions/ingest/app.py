"""Scheduled every five minutes: pull new job posts from the enabled sources."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import IngestSettings

# Cold start: a missing variable fails here, by name.
SETTINGS = IngestSettings.load()
INGEST = wiring.build_ingest(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    return INGEST.run(event.time)
