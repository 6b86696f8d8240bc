"""Random bytes, text, nesting and Unicode at every route of the real handler, on moto.

The property: never a 5xx (nor a crash, which API Gateway would turn into a 502), and a request
that is refused (4xx) changes no stored item and sends no email or text. Rate-limit counters are
left out of "stored": counting a request is how a limit works, and they hold only hashes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobalerts_local.abuse import stored_items
from jobalerts_local.outbox import sent_emails, sent_sms
from jobalerts_local.runtime import http_event, invoke
from jobalerts_local.template import LocalStack
from tests.integration.test_subscriptions_api import subscribe_and_confirm

ROUTES = [
    ("GET", "/"),
    ("POST", "/subscribe"),
    ("POST", "/subscriptions"),
    ("POST", "/preview"),
    ("POST", "/api/preview"),
    ("POST", "/manage/preview"),
    ("GET", "/confirm"),
    ("POST", "/confirm"),
    ("GET", "/c/{x}"),
    ("POST", "/c/{x}"),
    ("GET", "/m/{x}"),
    ("GET", "/manage"),
    ("POST", "/manage/searches"),
    ("POST", "/manage/searches/{x}/delete"),
    ("POST", "/manage/searches/{x}/edit"),
    ("POST", "/manage/pause"),
    ("POST", "/manage/resume"),
    ("GET", "/pause"),
    ("POST", "/pause"),
    ("POST", "/pause/resume"),
    ("GET", "/mute"),
    ("POST", "/mute"),
    ("POST", "/mute/undo"),
    ("POST", "/manage/mutes/undo"),
    ("POST", "/manage/settings"),
    ("POST", "/manage/channels"),
    ("GET", "/unsubscribe"),
    ("POST", "/unsubscribe"),
    ("GET", "/digests/{x}"),
    ("GET", "/d/{x}"),
    ("GET", "/api/searches"),
    ("POST", "/api/searches"),
    ("DELETE", "/api/searches/{x}"),
    ("PATCH", "/api/searches/{x}"),
    ("POST", "/api/pause"),
    ("DELETE", "/api/mutes/{x}"),
    ("POST", "/api/resume"),
    ("GET", "/api/subscriber"),
    ("PATCH", "/api/subscriber"),
    ("POST", "/api/channels"),
    ("HEAD", "/manage"),
    ("PUT", "/subscriptions"),
    ("OPTIONS", "/api/searches"),
]
FIELDS = [
    "email",
    "phone",
    "timezone",
    "query",
    "channel",
    "frequency",
    "digest_hour",
    "digest_weekday",
    "sms_quiet_start",
    "sms_quiet_end",
    "sms_daily_cap",
    "email_enabled",
    "sms_enabled",
    "for",
    "account",
]
# Text with the awkward parts of Unicode: lone surrogates, controls, NULs, combining marks.
hostile_text = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(
    [
        "\ud800",
        "python \udfffx",
        "Europe",
        "Europe/" + "x" * 300,
        "(" * 300,
        "+19005550123",
        "+881612345678",
        "a+1@gmail.com",
        "\x00",
        "é" * 300,
        "abc.%C3%A9",
        "-1",
        "1e400",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=12,
)
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6).map(lambda d: json.dumps(d)),
    json_values.map(json.dumps),
    st.integers(1, 6000).map(lambda n: "[" * n + "]" * n),
    hostile_text,
)
form_bodies = st.dictionaries(st.sampled_from(FIELDS), hostile_text, max_size=6).map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items())
)
bodies = st.one_of(st.none(), json_bodies, form_bodies, st.binary(max_size=200))
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "a/\x00"]
)


def tokens_like(manage: str) -> st.SearchStrategy[str]:
    """Valid, mangled (a valid one with a hostile tail) and made-up `<body>.<mac>` tokens."""
    return st.one_of(
        st.just(manage),
        hostile_text.map(lambda tail: manage[:-1] + tail),
        st.tuples(hostile_text, hostile_text).map(lambda parts: ".".join(parts)),
        hostile_text,
    )


@st.composite
def requests(draw: st.DrawFn, manage: str) -> dict[str, Any]:
    method, template = draw(st.sampled_from(ROUTES))
    path = template.replace("{x}", draw(hostile_text.filter(lambda s: "/" not in s)) or "x")
    token = draw(tokens_like(manage))
    headers = {"content-type": draw(content_types)}
    if draw(st.booleans()):
        headers["authorization"] = f"Bearer {draw(tokens_like(manage))}"
    if draw(st.booleans()):
        headers["origin"] = draw(st.sampled_from(["null", "https://evil.example", "\u00e9"]))
    body = draw(bodies)
    raw: str | bytes | None
    try:
        raw = body.encode() if isinstance(body, str) else body
    except UnicodeEncodeError:
        # Over HTTP a body is bytes: a lone surrogate arrives as its UTF-8-ish escape.
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else None
    event = http_event(method, path, body=raw, headers=headers)
    # Query strings arrive decoded by API Gateway, so any text can reach the handler.
    event["queryStringParameters"] = {"t": token}
    return event


def test_no_route_answers_hostile_input_with_a_5xx_or_a_write(stack: LocalStack) -> None:
    _, manage = subscribe_and_confirm()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests(manage))
    def check(event: dict[str, Any]) -> None:
        before = (stored_items(), len(sent_emails()), len(sent_sms()))

        response = invoke("subscriptions", event)

        status = response["statusCode"]
        assert status < 500, (event["requestContext"]["http"], response.get("body"))
        if status >= 400:
            assert (stored_items(), len(sent_emails()), len(sent_sms())) == before, status

    check()
