"""Texts people send to our number (two-way SMS, via SNS) -> HELP, STOP and START answered."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import InboundSmsSettings

# Cold start: a missing variable fails here, by name; clients live as long as the worker.
SETTINGS = InboundSmsSettings.load()
INBOUND = wiring.build_inbound_sms(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=SnsModel)
def handler(event: SnsModel, context: LambdaContext) -> dict[str, Any]:
    actions = [INBOUND.handle(str(record.Sns.Message)) for record in event.Records]
    return {"texts": len(actions), "actions": [a.value for a in actions]}
