"""SQS batches of delivery requests -> one digest each, with partial-failure reporting."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts.delivery.deliver import DigestDelivery
from jobalerts.models import DeliveryRequest
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import get_settings

# Validated at cold start: a misconfigured function fails on its first event, not midway.
SETTINGS = get_settings()

# A batch where every item failed is reported item by item too: Lambda retries them all alike,
# and the response stays one shape.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def delivery() -> DigestDelivery:
    """Clients, the signing key and the template cache survive across warm invocations."""
    return DigestDelivery()


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> str:
    """Powertools passes the context in; backoff never outlives this invocation."""
    request = DeliveryRequest.model_validate_json(record.body)
    time_left = None
    if lambda_context is not None:
        context = lambda_context
        time_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return delivery().deliver(request, time_left=time_left).value


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
