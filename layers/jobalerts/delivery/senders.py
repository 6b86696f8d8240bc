"""The channels a message goes out on, passed together to the use cases that send."""

from __future__ import annotations

from dataclasses import dataclass

from jobalerts.delivery.email import EmailSender
from jobalerts.delivery.sms import SmsSender


@dataclass(frozen=True)
class Senders:
    """One sender per channel; which client (and botocore Config) each wraps is wiring's call."""

    email: EmailSender
    sms: SmsSender
