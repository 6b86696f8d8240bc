"""Texts people send to our number (two-way SMS, via SNS) -> HELP, STOP and START answered."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts.inbound_sms import InboundSms
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import get_settings

# Validated at cold start: a misconfigured function fails on its first event, not midway.
SETTINGS = get_settings()


@cache
def inbound() -> InboundSms:
    """Clients survive across warm invocations."""
    return InboundSms(settings=SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=SnsModel)
def handler(event: SnsModel, context: LambdaContext) -> dict[str, Any]:
    actions = [inbound().handle(str(record.Sns.Message)) for record in event.Records]
    return {"texts": len(actions), "actions": [a.value for a in actions]}
