"""Scheduled every five minutes: pull new job posts from the enabled sources."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import ingest
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import get_settings

# Validated at cold start: a misconfigured function fails on its first event, not midway.
SETTINGS = get_settings()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    return ingest.run(now=event.time)
