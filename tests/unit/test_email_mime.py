"""The raw MIME we hand to SES: headers mail providers read must survive byte for byte."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from jobalerts.delivery.email import OutgoingEmail, build_mime

SENT_AT = datetime(2027, 3, 14, 9, 26, 53, tzinfo=UTC)
LONG_TOKEN = "eyJwIjoidW5zdWJzY3JpYmUi" * 10


def test_list_unsubscribe_is_not_folded_into_encoded_words() -> None:
    # Given a digest whose unsubscribe link carries a long signed token
    https = f"https://jobalerts.example/unsubscribe?t={LONG_TOKEN}"
    message = OutgoingEmail(
        to="ana@example.com",
        subject='12 new jobs: "data engineer" (berlin OR remote), golang OR rust -crypto',
        text="text",
        html="<p>html</p>",
        headers={
            "List-Unsubscribe": f"<{https}>, <mailto:unsubscribe@jobalerts.example>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )

    # When it is built into raw MIME
    raw = build_mime(message, "alerts@jobalerts.example", date=SENT_AT).as_bytes()

    # Then the headers are plain text on one line, as Gmail and Yahoo parse them
    lines = raw.split(b"\n")
    assert f"List-Unsubscribe: <{https}>, <mailto:unsubscribe@jobalerts.example>".encode() in [
        line.rstrip(b"\r") for line in lines
    ]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert b"=?utf-8?" not in raw.split(b"\n\n", 1)[0]
    assert b'Subject: 12 new jobs: "data engineer"' in raw


def parsed(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_the_date_header_is_the_injected_moment_in_utc_not_the_wall_clock() -> None:
    # Given a message decided on at 10:26:53 in a +01:00 zone
    local = SENT_AT.astimezone(timezone(timedelta(hours=1)))
    message = OutgoingEmail(to="ana@example.com", subject="s", text="t", html="<p>h</p>")

    # When it is built with that moment
    raw = build_mime(message, "alerts@jobalerts.example", date=local).as_bytes()

    # Then Date names that instant, in RFC 5322 form with a numeric zone
    header = parsed(raw)["Date"]
    assert str(header) == "Sun, 14 Mar 2027 09:26:53 +0000"
    assert parsedate_to_datetime(str(header)) == SENT_AT


def test_the_message_own_date_wins_over_the_sender_clock() -> None:
    # Given a message that carries the moment its use case decided to send it
    message = OutgoingEmail(to="a@example.com", subject="s", text="t", html="h", date=SENT_AT)

    # When it is built with some other moment
    raw = build_mime(message, "alerts@jobalerts.example", date=SENT_AT + timedelta(days=9))

    # Then its own date is the Date header
    assert parsedate_to_datetime(str(raw["Date"])) == SENT_AT


def test_a_stable_message_id_is_kept_and_a_missing_one_is_unique_per_message() -> None:
    # Given a digest with a stable id, and two confirmations without one
    digest = OutgoingEmail(to="a@example.com", subject="s", text="t", html="h", message_id="d.x1")
    plain = OutgoingEmail(to="a@example.com", subject="s", text="t", html="h")

    # When they are built
    ids = [
        str(build_mime(m, "alerts@jobalerts.example", date=SENT_AT)["Message-ID"])
        for m in (digest, digest, plain, plain)
    ]

    # Then the stable id is the same each time, on the sender's domain; the others differ
    assert ids[0] == ids[1] == "<d.x1@jobalerts.example>"
    assert ids[2] != ids[3]
    assert all(i.startswith("<") and i.endswith("@jobalerts.example>") for i in ids)
