"""API Gateway HTTP API -> the subscriptions API and web pages (routes in jobalerts.web.app)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import SubscriptionsSettings
from jobalerts.web import app as web

# Cold start: a missing variable (or an http:// base URL outside local runs) fails here, by name.
SETTINGS = SubscriptionsSettings.load()
web.install(*wiring.build_subscriptions(SETTINGS))


# Events carry emails, phone numbers and tokens: never log_event=True here.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return web.handle(event, context)
