"""SES feedback: permanent bounces and complaints stop all mail to that address.

SES publishes to SNS either identity notifications (`notificationType`) or configuration-set
events (`eventType`); both carry the same `bounce` / `complaint` objects, and one notification
can name several recipients. What each outcome means:
- permanent bounce or complaint: the address goes on the suppression list (kept by address
  digest, so a new sign-up with it stays suppressed), and every subscriber with it gets the email
  channel switched off; one with no other working channel becomes `suppressed`.
- transient bounce (mailbox full, greylisting): SES has already retried; we only count it. The
  address keeps getting digests, so the next one is the retry.
- a `Send` event carrying our message tags marks that digest window as accepted by SES: the
  evidence a delivery that crashed before marking itself uses to avoid sending twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from jobalerts.errors import InvalidInput
from jobalerts.models import Channel, SubscriberStatus
from jobalerts.observability import logger, metrics, tracer
from jobalerts.store.deliveries import DeliveryLog
from jobalerts.store.searches import SearchesRepository
from jobalerts.store.subscribers import SubscribersRepository
from jobalerts.store.suppressions import SuppressionList


@dataclass
class FeedbackOutcome:
    kind: str
    suppressed: int = 0
    transient: int = 0
    subscribers: list[str] = field(default_factory=list)


def parse(message: str | dict[str, Any]) -> dict[str, Any]:
    """The SES notification inside an SNS message; InvalidInput when it is not one."""
    if isinstance(message, dict):
        return message
    try:
        data = json.loads(message)
    except ValueError as exc:
        raise InvalidInput("feedback message is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("feedback message is not an object")
    return data


def kind_of(notification: dict[str, Any]) -> str:
    return str(notification.get("notificationType") or notification.get("eventType") or "")


def recipients(notification: dict[str, Any]) -> tuple[list[str], str]:
    """(addresses to act on, "permanent" | "transient" | "complaint" | "")."""
    kind = kind_of(notification)
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        addresses = [str(r["emailAddress"]) for r in bounce.get("bouncedRecipients", [])]
        # "Undetermined" bounces are treated as transient: suppressing on a guess loses a reader.
        severity = "permanent" if bounce.get("bounceType") == "Permanent" else "transient"
        return addresses, severity
    if kind == "Complaint":
        complaint = notification.get("complaint") or {}
        return [str(r["emailAddress"]) for r in complaint.get("complainedRecipients", [])], (
            "complaint"
        )
    return [], ""


class FeedbackService:
    def __init__(
        self,
        *,
        subscribers: SubscribersRepository,
        suppression: SuppressionList,
        log: DeliveryLog,
        searches: SearchesRepository,
    ) -> None:
        self.subscribers = subscribers
        self.searches = searches
        self.suppression = suppression
        self.log = log

    @tracer.capture_method(capture_response=False)
    def handle(self, message: str | dict[str, Any], now: datetime | None = None) -> FeedbackOutcome:
        notification = parse(message)
        kind = kind_of(notification)
        outcome = FeedbackOutcome(kind=kind)
        if kind == "Send":
            self._accepted(notification)
            return outcome
        addresses, severity = recipients(notification)
        if severity == "transient":
            outcome.transient = len(addresses)
            logger.info("transient bounce; address kept", recipients=len(addresses))
            metrics.add_metric(name="TransientBounces", unit=MetricUnit.Count, value=len(addresses))
            return outcome
        if not severity:
            logger.info("feedback ignored", kind=kind)
            return outcome
        for address in addresses:
            self.suppression.add(address, severity, now or datetime.now(UTC))
            outcome.suppressed += 1
            subscriber = self.subscribers.find_by_email(address)
            if subscriber is None:
                continue
            sms_works = bool(subscriber.phone and subscriber.sms_enabled)
            changes: dict[str, Any] = {"email_enabled": False}
            if not sms_works:
                changes["status"] = SubscriberStatus.SUPPRESSED
            self.subscribers.update(subscriber.subscriber_id, **changes)
            if not sms_works:
                # Nobody left to send to: stop paying X reads for their searches.
                self.searches.set_live(subscriber.subscriber_id, False)
            outcome.subscribers.append(subscriber.subscriber_id)
            logger.info(
                "address suppressed", subscriber_id=subscriber.subscriber_id, reason=severity
            )
        metrics.add_metric(name="AddressesSuppressed", unit=MetricUnit.Count, value=len(addresses))
        return outcome

    def _accepted(self, notification: dict[str, Any]) -> None:
        tags = (notification.get("mail") or {}).get("tags") or {}
        try:
            subscriber_id = str(tags["subscriber"][0])
            channel = Channel(str(tags["channel"][0]))
            window = datetime.fromtimestamp(int(tags["window"][0]), UTC)
        except (KeyError, IndexError, ValueError, TypeError):
            return
        self.log.record_accepted(subscriber_id, channel, window)
