"""Scheduled: find the digests that are due and queue one delivery per subscriber and channel."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts.digests.enqueue import DeliveryQueue, default_queue, run
from jobalerts.observability import logger, metrics, tracer
from jobalerts.pauses import resume_ended
from jobalerts.settings import get_settings
from jobalerts.store import SearchesRepository, SubscribersRepository
from jobalerts.store.matches import MatchesRepository

# Validated at cold start: a misconfigured function fails on its first event, not midway.
SETTINGS = get_settings()


@cache
def clients() -> tuple[MatchesRepository, DeliveryQueue]:
    """Created once per warm worker, not once per run."""
    return MatchesRepository(), default_queue()


@cache
def repositories() -> tuple[SubscribersRepository, SearchesRepository]:
    return SubscribersRepository(), SearchesRepository()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    # The schedule's own time, not the clock: a delayed or replayed run covers the same windows.
    matches, queue = clients()
    # Pauses whose date has passed end first, so their searches go live again on time.
    resumed = resume_ended(event.time, *repositories())
    result = run(
        event.time,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        matches=matches,
        queue=queue,
    )
    return {
        "markers": result.markers,
        "enqueued": result.enqueued,
        "refused": result.refused,
        "stopped_early": result.stopped_early,
        "resumed": resumed,
    }
