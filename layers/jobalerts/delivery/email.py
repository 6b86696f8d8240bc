"""Email through SES v2, always as raw MIME so List-Unsubscribe and friends survive."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jobalerts import aws
from jobalerts.errors import InvalidInput, Throttled

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# RFC 5322 allows 998-character lines. The default 78 makes the email package fold a long signed
# URL into RFC 2047 encoded words, which mail clients do not decode in List-Unsubscribe.
_POLICY = policy.default.clone(max_line_length=998)

# LimitExceeded is the sending-rate or daily quota: wait and retry, like a throttle.
_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "LimitExceededException"}


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    # SES message tags: they come back in SES events, which is how a crashed delivery learns
    # that its message went out. Names and values: letters, digits, "_" and "-" only.
    tags: dict[str, str] = field(default_factory=dict)


def build_mime(message: OutgoingEmail, sender: str, sender_name: str = "jobalerts") -> EmailMessage:
    mime = EmailMessage(policy=_POLICY)
    mime["From"] = formataddr((sender_name, sender))
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class EmailSender:
    def __init__(
        self,
        sender: str,
        configuration_set: str = "",
        client: SESV2Client | None = None,
    ) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        # Confirmations by default; the digest send passes a client without SDK retries.
        self.client = client or aws.sesv2(aws.NOTIFY)

    def send(self, message: OutgoingEmail) -> str:
        """Hand the message to SES; returns SES's message id."""
        raw = build_mime(message, self.sender).as_bytes()
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        if message.tags:
            kwargs["EmailTags"] = [{"Name": k, "Value": v} for k, v in message.tags.items()]
        try:
            response = self.client.send_email(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _THROTTLED:
                raise Throttled("ses") from exc
            if code in {
                "MessageRejected",
                "BadRequestException",
                "MailFromDomainNotVerifiedException",
            }:
                raise InvalidInput(f"ses rejected the message: {code}") from exc
            raise
        return str(response["MessageId"])
