"""SMS through SNS: transactional, and never to a number that has opted out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jobalerts.errors import Throttled
from jobalerts.retry import is_throttling

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class OptedOut(Exception):
    """The number replied STOP; AWS will not deliver to it and neither will we."""


class SmsSender:
    def __init__(self, client: SNSClient, lookup: SNSClient | None = None) -> None:
        # Confirmations send with NOTIFY; the digest send passes a client without SDK retries.
        self.client = client
        # The opt-out check is a read: it may retry where a send may not (aws.LOOKUP).
        self.lookup = lookup or client

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
            if is_throttling(exc):
                raise Throttled("sns") from exc
            raise
        return str(response["MessageId"])

    def reply(self, phone: str, text: str, origination: str | None = None) -> str:
        """Answer a text someone sent us, from the number they wrote to. No opt-out check:
        confirming a STOP is the one message the carriers' rules require after it."""
        attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        }
        if origination:
            attributes["AWS.MM.SMS.OriginationNumber"] = {
                "DataType": "String",
                "StringValue": origination,
            }
        try:
            response = self.client.publish(
                PhoneNumber=phone, Message=text, MessageAttributes=attributes
            )
        except ClientError as exc:
            if is_throttling(exc):
                raise Throttled("sns") from exc
            raise
        return str(response["MessageId"])

    def opt_in(self, phone: str) -> bool:
        """Take a number off the account's opt-out list after it texted START; False when it
        was not on it. AWS allows this once every 30 days per number."""
        try:
            if not self.client.check_if_phone_number_is_opted_out(phoneNumber=phone)["isOptedOut"]:
                return False
            self.client.opt_in_phone_number(phoneNumber=phone)
        except ClientError as exc:
            if is_throttling(exc):
                raise Throttled("sns") from exc
            raise
        return True
