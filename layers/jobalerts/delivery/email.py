"""Email through SES v2, always as raw MIME so List-Unsubscribe and friends survive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jobalerts.errors import InvalidInput, Throttled
from jobalerts.retry import error_code, is_throttling

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# RFC 5322 allows 998-character lines. The default 78 makes the email package fold a long signed
# URL into RFC 2047 encoded words, which mail clients do not decode in List-Unsubscribe.
_POLICY = policy.default.clone(max_line_length=998)


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
    # The moment the use case decided to send: the Date header. None: the sender's clock.
    date: datetime | None = None
    # A stable id (without angle brackets) makes a resent digest the same message to mail
    # clients, which then show it once. None: a fresh random id.
    message_id: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_mime(
    message: OutgoingEmail, sender: str, sender_name: str = "jobalerts", *, date: datetime
) -> EmailMessage:
    """RFC 5322 requires Date and filters expect a Message-ID: SpamAssassin's MISSING_DATE
    alone scores 2.7, enough to push an otherwise clean digest towards the spam folder."""
    domain = sender.rpartition("@")[2] or None
    mime = EmailMessage(policy=_POLICY)
    mime["From"] = formataddr((sender_name, sender))
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime((message.date or date).astimezone(UTC))
    if message.message_id:
        mime["Message-ID"] = f"<{message.message_id}@{domain or 'jobalerts.invalid'}>"
    else:
        mime["Message-ID"] = make_msgid(domain=domain)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class EmailSender:
    def __init__(
        self,
        sender: str,
        configuration_set: str,
        client: SESV2Client,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        # Confirmations send with aws.NOTIFY; the digest send passes one without SDK retries.
        self.client = client
        self.clock = clock

    def send(self, message: OutgoingEmail) -> str:
        """Hand the message to SES; returns SES's message id."""
        raw = build_mime(message, self.sender, date=message.date or self.clock()).as_bytes()
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
            code = error_code(exc)
            if is_throttling(exc):
                raise Throttled("ses") from exc
            if code in {
                "MessageRejected",
                "BadRequestException",
                "MailFromDomainNotVerifiedException",
            }:
                raise InvalidInput(f"ses rejected the message: {code}") from exc
            raise
        return str(response["MessageId"])
