"""Texts people send to our number: HELP, STOP and START, as carriers require of a program.

AWS End User Messaging delivers each inbound text to an SNS topic as a JSON string
(`originationNumber` = the person, `destinationNumber` = our number, `messageBody`, ...).
- HELP (or INFO): what the service is and how to reach a human (the `SupportContact` parameter).
- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, and AWS's ARRET, OPTOUT, OPT-OUT, REMOVE, TD:
  texts off for every subscriber with that number (`sms_enabled = false`: the match function
  queues nothing more for the channel and the deliver function skips it). Email is untouched.
- START, UNSTOP: texts on again, and the number off the account's opt-out list.
Every action is confirmed by a reply from the number the person wrote to. Anything else gets
no answer: replying to every text invites loops with auto-responders, and costs money.

SNS may deliver a message twice; a record per inbound message id (state table, one week) keeps
the reply to one. It is written after the reply, so a failed reply is retried with the event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobalerts.delivery.sms import SmsSender
from jobalerts.errors import NotFound
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import InboundSmsSettings
from jobalerts.store import SubscribersRepository
from jobalerts.store.inbound import InboundMessagesRepository

PROGRAM = "jobalerts job alerts"
# What carriers require next to a phone field and in the first text (CTIA; AWS's registration
# guide): program name, message frequency, rates, and how to stop and get help.
CONSENT = "Msg freq varies. Msg & data rates may apply. Reply STOP to cancel, HELP for help."

OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
    | {"ARRET", "OPTOUT", "OPT-OUT", "REMOVE", "TD"}
)
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
DEDUP_DAYS = 7


class InboundText(BaseModel):
    """The two-way SMS payload End User Messaging publishes to the topic."""

    model_config = ConfigDict(extra="ignore")

    origination_number: str = Field(alias="originationNumber", pattern=_E164.pattern)
    destination_number: str = Field(default="", alias="destinationNumber")
    message_keyword: str = Field(default="", alias="messageKeyword")
    message_body: str = Field(default="", alias="messageBody", max_length=2000)
    inbound_message_id: str = Field(default="", alias="inboundMessageId", max_length=200)


class Action(StrEnum):
    HELP = "help"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


def keyword_of(body: str) -> str:
    """The keyword a text means: its first word, in capitals ("stop.", " Stop please" -> STOP;
    "opt out" -> OPT-OUT). Carriers match the whole message or its first word."""
    words = [w.upper() for w in _WORD.findall(body)]
    if not words:
        return ""
    if words[:2] == ["OPT", "OUT"]:
        return "OPT-OUT"
    return words[0].strip("-")


def help_reply(contact: str) -> str:
    return f"{PROGRAM}: saved job searches sent by text and email. Help: {contact}. {CONSENT}"


def opt_out_reply() -> str:
    return (
        f"{PROGRAM}: you are unsubscribed from texts and will get no more. Reply START to resume."
    )


def opt_in_reply() -> str:
    return f"{PROGRAM}: texts are back on. {CONSENT}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class InboundSms:
    """The inbound-text use case, built by `jobalerts.wiring.build_inbound_sms`."""

    def __init__(
        self,
        *,
        settings: InboundSmsSettings,
        subscribers: SubscribersRepository,
        inbound: InboundMessagesRepository,
        sms: SmsSender,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.subscribers = subscribers
        self.inbound = inbound
        self.sms = sms
        self.clock = clock

    @tracer.capture_method(capture_response=False)
    def handle(self, message: str) -> Action:
        """One SNS message (the payload as a JSON string)."""
        try:
            text = InboundText.model_validate_json(message)
        except ValidationError:
            # Not ours to retry: a retry would fail the same way.
            logger.warning("inbound text malformed")
            metrics.add_metric(name="InboundSmsMalformed", unit=MetricUnit.Count, value=1)
            return Action.MALFORMED
        if text.inbound_message_id and self.inbound.seen(text.inbound_message_id):
            logger.info("inbound text already handled")
            return Action.DUPLICATE
        keyword = keyword_of(text.message_body) or keyword_of(text.message_keyword)
        action = self._act(keyword, text)
        if action is not Action.IGNORED and text.inbound_message_id:
            expires = self.clock() + timedelta(days=DEDUP_DAYS)
            self.inbound.remember(text.inbound_message_id, action.value, int(expires.timestamp()))
        logger.info("inbound text handled", keyword=keyword[:12], action=action.value)
        metrics.add_metric(name="InboundSms", unit=MetricUnit.Count, value=1)
        return action

    def _act(self, keyword: str, text: InboundText) -> Action:
        phone, ours = text.origination_number, text.destination_number or None
        if keyword in OPT_OUT:
            changed = self._set_texts(phone, enabled=False)
            self.sms.reply(phone, opt_out_reply(), ours)
            logger.info("texts switched off by reply", subscribers=changed)
            metrics.add_metric(name="SmsOptOutsByReply", unit=MetricUnit.Count, value=1)
            return Action.OPTED_OUT
        if keyword in OPT_IN:
            changed = self._set_texts(phone, enabled=True)
            # Otherwise the deliver function would find the number opted out and switch the
            # channel off again at the next text.
            self.sms.opt_in(phone)
            self.sms.reply(phone, opt_in_reply(), ours)
            logger.info("texts switched on by reply", subscribers=changed)
            metrics.add_metric(name="SmsOptInsByReply", unit=MetricUnit.Count, value=1)
            return Action.OPTED_IN
        if keyword in HELP:
            self.sms.reply(phone, help_reply(self.settings.support_contact), ours)
            return Action.HELP
        return Action.IGNORED

    def _set_texts(self, phone: str, *, enabled: bool) -> int:
        changed = 0
        for subscriber_id in self.subscribers.ids_by_phone(phone):
            try:
                self.subscribers.update(subscriber_id, sms_enabled=enabled)
            except NotFound:
                continue  # deleted between the index read and the write
            changed += 1
        return changed
