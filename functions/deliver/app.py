"""SQS batches of delivery requests -> one digest each, with partial-failure reporting."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.delivery.deliver import DeliveryMessage
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import DeliverSettings

# Cold start: a missing variable fails here, by name. Clients, the signing key and the template
# cache then survive across warm invocations.
SETTINGS = DeliverSettings.load()
DELIVERY = wiring.build_deliver(SETTINGS)

# Bodies are parsed into DeliveryMessage; one that does not parse fails on its own. A batch where
# every item failed is reported item by item too: Lambda retries them all alike, and the
# response stays one shape.
processor = BatchProcessor(
    event_type=EventType.SQS, model=DeliveryMessage, raise_on_entire_batch_failure=False
)


def record_handler(record: DeliveryMessage, lambda_context: LambdaContext | None = None) -> str:
    """Powertools passes the context in; backoff never outlives this invocation."""
    time_left = None
    if lambda_context is not None:
        context = lambda_context
        time_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return DELIVERY.deliver(record.body, time_left=time_left).value


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
