"""CloudFormation custom resource -> the account's SNS SMS settings (monthly spend limit)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from jobalerts import wiring
from jobalerts.observability import logger
from jobalerts.settings import SmsAccountSettings
from jobalerts.sms_account import handle_custom_resource

SNS = wiring.build_sms_settings(SmsAccountSettings.load())


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_custom_resource(event, SNS)
