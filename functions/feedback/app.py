"""SES bounce and complaint notifications (via SNS) -> suppressed addresses and subscribers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import FeedbackSettings

# Cold start: a missing variable fails here, by name.
SETTINGS = FeedbackSettings.load()
FEEDBACK = wiring.build_feedback(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=SnsModel)
def handler(event: SnsModel, context: LambdaContext) -> dict[str, Any]:
    outcomes = [FEEDBACK.handle(str(record.Sns.Message)) for record in event.Records]
    return {"notifications": len(outcomes), "suppressed": sum(o.suppressed for o in outcomes)}
