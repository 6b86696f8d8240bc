"""The raw MIME we hand to SES: headers mail providers read must survive byte for byte."""

from __future__ import annotations

from jobalerts.delivery.email import OutgoingEmail, build_mime

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
    raw = build_mime(message, "alerts@jobalerts.example").as_bytes()

    # Then the headers are plain text on one line, as Gmail and Yahoo parse them
    lines = raw.split(b"\n")
    assert f"List-Unsubscribe: <{https}>, <mailto:unsubscribe@jobalerts.example>".encode() in [
        line.rstrip(b"\r") for line in lines
    ]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert b"=?utf-8?" not in raw.split(b"\n\n", 1)[0]
    assert b'Subject: 12 new jobs: "data engineer"' in raw
