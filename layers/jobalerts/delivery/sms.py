"""SMS through SNS: transactional, and never to a number that has opted out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from jobalerts import aws
from jobalerts.errors import Throttled

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# SNS spells its ThrottledException "Throttled" on the wire.
_THROTTLED = {"Throttled", "Throttling", "ThrottlingException", "ThrottledException"}


class OptedOut(Exception):
    """The number replied STOP; AWS will not deliver to it and neither will we."""


class SmsSender:
    def __init__(self, client: SNSClient | None = None, lookup: SNSClient | None = None) -> None:
        # Confirmations by default; the digest send passes a client without SDK retries.
        self.client = client or aws.sns(aws.NOTIFY)
        # The opt-out check is a read: it may retry whatever `client` does.
        self.lookup = lookup or (aws.sns(aws.LOOKUP) if client is None else client)

    def send(self, phone: str, text: str) -> str:
        try:
            if self.lookup.check_if_phone_number_is_opted_out(phoneNumber=phone)["isOptedOut"]:
                raise OptedOut
            response = self.client.publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _THROTTLED:
                raise Throttled("sns") from exc
            raise
        return str(response["MessageId"])
