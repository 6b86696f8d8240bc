"""One rule for "can this subscriber be reached on this channel", shared by matching and
delivery (`Subscriber.unreachable`)."""

from __future__ import annotations

from typing import Any

import pytest

from jobalerts.models import Channel, SubscriberStatus
from tests.support.digests import make_subscriber

PHONE = "+14155550123"


@pytest.mark.parametrize(
    ("fields", "channel", "reason"),
    [
        ({}, Channel.EMAIL, None),
        ({"phone": PHONE}, Channel.SMS, None),
        ({"status": SubscriberStatus.UNSUBSCRIBED}, Channel.EMAIL, "subscriber unsubscribed"),
        ({"status": SubscriberStatus.PENDING}, Channel.EMAIL, "subscriber pending"),
        ({"email_confirmed": False}, Channel.EMAIL, "email not confirmed"),
        ({"phone": PHONE, "phone_confirmed": False}, Channel.SMS, "sms not confirmed"),
        ({}, Channel.SMS, "sms not confirmed"),  # no phone at all
        ({"email": None, "phone": PHONE}, Channel.EMAIL, "email not confirmed"),
        ({"email_enabled": False}, Channel.EMAIL, "email off"),
        ({"phone": PHONE, "sms_enabled": False}, Channel.SMS, "sms off"),
        # A pause is delivery's to honour: matches keep being queued for when it ends
        ({"paused": True}, Channel.EMAIL, None),
    ],
)
def test_why_a_subscriber_cannot_be_reached(
    fields: dict[str, Any], channel: Channel, reason: str | None
) -> None:
    addresses = {k: fields.pop(k) for k in ("email", "phone") if k in fields}
    subscriber = make_subscriber(**addresses).model_copy(update=fields)
    assert subscriber.unreachable(channel) == reason
    assert subscriber.reachable(channel) is (reason is None)


def test_matching_and_delivery_ask_the_subscriber() -> None:
    import ast
    from pathlib import Path

    layer = Path(__file__).resolve().parents[2] / "layers" / "jobalerts"
    for module in ("matching.py", "delivery/deliver.py"):
        tree = ast.parse((layer / module).read_text(encoding="utf-8"))
        # Neither reads a channel switch itself (writing one, as an opt-out does, is fine)
        read = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in {"email_enabled", "sms_enabled"}
        }
        assert read == set(), module
