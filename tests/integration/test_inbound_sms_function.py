"""The inbound-SMS function: texts people send to our number (two-way SMS, via SNS).

Every keyword carriers and AWS define goes through the handler on moto, with the sample event
from events/ carrying the text; the replies are what SNS accepted.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from jobalerts import wiring
from jobalerts.delivery.sms import SmsSender
from jobalerts.inbound_sms import CONSENT, OPT_IN, OPT_OUT, InboundSms
from jobalerts.models import Channel, Frequency
from jobalerts.settings import InboundSmsSettings
from jobalerts_local.runtime import invoke
from jobalerts_local.template import LocalStack
from tests.support import stores
from tests.support.digests import (
    Outbox,
    make_post,
    make_search,
    make_subscriber,
    queue_match,
    run_deliver,
    run_digest,
    seed,
)
from tests.support.events import load_event

PHONE = "+14155550123"
OURS = "+18445550100"
DAY = datetime(2099, 6, 1, 15, tzinfo=UTC)


def text(body: str, *, phone: str = PHONE, message_id: str = "in-1") -> dict[str, Any]:
    """The sample event, carrying `body` from `phone`."""
    event = copy.deepcopy(load_event("inbound-sms-stop.json"))
    sns = event["Records"][0]["Sns"]
    message = json.loads(sns["Message"])
    message.update(
        originationNumber=phone, messageBody=body, messageKeyword="", inboundMessageId=message_id
    )
    sns["Message"] = json.dumps(message)
    return event


def send(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = invoke("inbound_sms", event)
    return result


def two_signups_with_one_phone() -> None:
    """A phone-only subscriber, one with email and the same phone, and someone else."""
    seed(make_subscriber("ana", email=None, phone=PHONE))
    seed(make_subscriber("ana2", phone=PHONE))
    seed(make_subscriber("ben", phone="+14155550124"))


def texts_on() -> dict[str, bool]:
    repo = stores.subscribers()
    return {sid: repo.get(sid).sms_enabled for sid in ("ana", "ana2", "ben")}


def test_the_samples_parse_and_name_their_keyword(stack: LocalStack) -> None:
    for name in ("stop", "help", "start"):
        event = load_event(f"inbound-sms-{name}.json")
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        assert message["messageBody"].upper() == name.upper()
        assert send(event)["texts"] == 1


@pytest.mark.parametrize("keyword", sorted(OPT_OUT))
def test_each_opt_out_keyword_switches_texts_off_for_that_number(
    stack: LocalStack, keyword: str
) -> None:
    # Given two sign-ups with one phone number, and someone else's
    two_signups_with_one_phone()
    outbox = Outbox()

    # When that number texts the keyword
    result = send(text(keyword))

    # Then texts are off for both sign-ups with that number, and only for them; email stays on
    assert result["actions"] == ["opted_out"]
    assert texts_on() == {"ana": False, "ana2": False, "ben": True}
    assert stores.subscribers().get("ana2").email_enabled
    # And the number gets one reply confirming it, saying how to come back
    [reply] = outbox.texts
    assert reply.phone == PHONE
    assert "unsubscribed" in reply.text
    assert "START" in reply.text


@pytest.mark.parametrize("body", ["stop", "Stop.", "  STOP please", "opt out", "Quit!"])
def test_opt_out_words_are_understood_in_any_case_and_as_the_first_word(
    stack: LocalStack, body: str
) -> None:
    two_signups_with_one_phone()
    assert send(text(body))["actions"] == ["opted_out"]
    assert texts_on()["ana"] is False


@pytest.mark.parametrize("keyword", sorted(OPT_IN))
def test_each_opt_in_keyword_switches_texts_back_on(stack: LocalStack, keyword: str) -> None:
    # Given a number that texted STOP earlier
    two_signups_with_one_phone()
    send(text("STOP", message_id="in-0"))
    outbox = Outbox()

    # When it texts the keyword
    result = send(text(keyword, message_id="in-1"))

    # Then texts are on again for that number, and the reply repeats the program's terms
    assert result["actions"] == ["opted_in"]
    assert texts_on() == {"ana": True, "ana2": True, "ben": True}
    [reply] = outbox.texts
    assert reply.phone == PHONE
    assert reply.text.endswith(CONSENT)


@pytest.mark.parametrize("body", ["HELP", "help", "Info"])
def test_help_says_what_the_service_is_and_how_to_reach_a_human(
    stack: LocalStack, body: str
) -> None:
    # Given a subscriber (HELP changes nothing, for them or anyone)
    two_signups_with_one_phone()
    outbox = Outbox()

    # When their number texts HELP
    result = send(text(body))

    # Then the reply names the program, the support contact from the template's parameter,
    # the message frequency and rates, and how to stop
    assert result["actions"] == ["help"]
    [reply] = outbox.texts
    assert reply.text.startswith("jobalerts job alerts: saved job searches")
    assert "Help: support@jobalerts.example." in reply.text
    assert "Msg freq varies. Msg & data rates may apply." in reply.text
    assert "Reply STOP to cancel" in reply.text
    assert texts_on() == {"ana": True, "ana2": True, "ben": True}


def test_a_number_nobody_signed_up_with_still_gets_its_stop_confirmed(stack: LocalStack) -> None:
    outbox = Outbox()
    assert send(text("STOP", phone="+442071838750"))["actions"] == ["opted_out"]
    assert [t.phone for t in outbox.texts] == ["+442071838750"]


def test_other_texts_get_no_answer_and_change_nothing(stack: LocalStack) -> None:
    two_signups_with_one_phone()
    outbox = Outbox()
    assert send(text("thanks, great job list!"))["actions"] == ["ignored"]
    assert send(text(""))["actions"] == ["ignored"]
    assert outbox.texts == []
    assert texts_on() == {"ana": True, "ana2": True, "ben": True}


def test_the_same_text_delivered_twice_by_sns_is_answered_once(stack: LocalStack) -> None:
    two_signups_with_one_phone()
    outbox = Outbox()
    event = text("STOP", message_id="in-7")
    assert send(event)["actions"] == ["opted_out"]
    assert send(event)["actions"] == ["duplicate"]
    assert len(outbox.texts) == 1


def test_a_malformed_payload_is_dropped_without_a_reply_or_a_retry(stack: LocalStack) -> None:
    outbox = Outbox()
    event = text("STOP")
    event["Records"][0]["Sns"]["Message"] = json.dumps({"originationNumber": "not a number"})
    assert send(event)["actions"] == ["malformed"]
    assert outbox.texts == []


def test_after_stop_the_digest_texts_for_that_number_are_not_sent(stack: LocalStack) -> None:
    # Given a text subscriber with a post waiting for their instant search
    sub = make_subscriber("ana", email=None, phone=PHONE)
    search = make_search("ana", "s1", "python", channel=Channel.SMS, frequency=Frequency.INSTANT)
    seed(sub, search)
    queue_match(sub, search, make_post("1", "Python developer, remote, apply now"), DAY)

    # When the number texts STOP before the digest goes out
    send(text("STOP"))
    outbox = Outbox()
    run_digest(DAY + timedelta(minutes=5))
    run_deliver(stack)

    # Then no digest text goes to it
    assert outbox.texts == []


def test_start_takes_the_number_off_the_accounts_opt_out_list(stack: LocalStack) -> None:
    # Given a number on SNS's opt-out list (moto lists numbers ending in 99) and a client that
    # records which SNS operations are called
    calls: list[str] = []
    client = boto3.client("sns", region_name="us-east-1")
    client.meta.events.register("before-call.sns.*", lambda model, **_: calls.append(model.name))
    settings = InboundSmsSettings.load()
    use_case = InboundSms(
        settings=settings,
        subscribers=wiring.subscribers(settings),
        inbound=wiring.inbound_messages(settings),
        sms=SmsSender(client),
    )
    on_list, off_list = "+14155550199", PHONE

    # When each texts START
    use_case.handle(json.dumps({"originationNumber": on_list, "messageBody": "START"}))
    listed = calls.count("OptInPhoneNumber")
    use_case.handle(json.dumps({"originationNumber": off_list, "messageBody": "START"}))

    # Then only the listed number is opted in again (AWS allows that once in 30 days)
    assert listed == 1
    assert calls.count("OptInPhoneNumber") == 1
