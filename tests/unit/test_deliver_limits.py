"""The deliver function's limits: the archived page's size and the SES tags' alphabet."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from jobalerts.delivery import deliver
from jobalerts.delivery.deliver import ARCHIVE_LIMIT_BYTES, DigestDelivery, email_tags
from jobalerts.errors import Throttled
from jobalerts.models import Channel, DeliveryRequest
from jobalerts.retry import Backoff

WINDOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def archived(
    monkeypatch: pytest.MonkeyPatch, full_page: str | None = None, **sizes: int
) -> int | None:
    """Which rendering `_web_page` keeps (None: every post; N: N per search) when the page of
    every post is `full_page` or has `full` bytes, of 50 per search `fifty`, of 10 `ten`
    (small by default)."""
    pages = {
        None: full_page if full_page is not None else "x" * sizes.get("full", 10),
        50: "y" * sizes.get("fifty", 10),
        10: "z" * sizes.get("ten", 10),
        1: "one",
    }

    def render(_digest: Any, _view: str, _env: Any, *, per_search: int | None, **_: Any) -> str:
        return pages[per_search]

    monkeypatch.setattr(deliver, "render_web", render)
    delivery = SimpleNamespace(env=None, _mute_links=lambda _digest: {})
    kept = DigestDelivery._web_page(delivery, None, "view")  # type: ignore[arg-type]
    return next(size for size, page in pages.items() if page == kept)


def test_a_page_of_exactly_the_limit_is_archived_whole_and_a_byte_more_is_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the limit that keeps an archived page inside one 400 KB DynamoDB item
    limit = ARCHIVE_LIMIT_BYTES
    assert limit == 350_000
    # Then a page of exactly the limit is kept whole, one byte more keeps 50 posts per search
    assert archived(monkeypatch, full=limit) is None
    assert archived(monkeypatch, full=limit + 1) == 50
    # and then 10, and at last 1, as long as the page is still too big
    assert archived(monkeypatch, full=limit + 1, fifty=limit + 1) == 10
    assert archived(monkeypatch, full=limit + 1, fifty=limit + 1, ten=limit + 1) == 1


def test_the_limit_counts_utf8_bytes_not_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a page of two-byte characters, fewer characters than the limit but more bytes
    page = "é" * (ARCHIVE_LIMIT_BYTES // 2 + 1)
    # Then it is cut
    assert archived(monkeypatch, full_page=page) == 50


# --- Throttled sends: retried within the attempt, never past its time ---


def with_backoff(failures: int, time_left: float | None = None) -> tuple[list[int], object]:
    """`_with_backoff` over a send that is throttled `failures` times, with no waits."""
    calls: list[int] = []

    def send() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise Throttled("ses")
        return "sent"

    delivery = SimpleNamespace(backoff=Backoff(attempts=3, base_seconds=0.0), sleep=lambda _: None)
    left = None if time_left is None else (lambda: time_left)
    try:
        result: object = DigestDelivery._with_backoff(delivery, send, left)  # type: ignore[arg-type]
    except Throttled as exc:
        result = exc
    return calls, result


def test_a_throttled_send_is_tried_as_many_times_as_the_backoff_allows() -> None:
    # Given three attempts: throttled twice, the third goes through
    calls, result = with_backoff(failures=2)
    assert (len(calls), result) == (3, "sent")
    # Throttled three times: it gives up after the third, with the throttling error
    calls, result = with_backoff(failures=3)
    assert len(calls) == 3
    assert isinstance(result, Throttled)


def test_a_retry_needs_its_wait_plus_five_seconds_left() -> None:
    # Given waits of 0 s: five seconds left are enough to retry, a little less is not
    calls, result = with_backoff(failures=1, time_left=5.0)
    assert (len(calls), result) == (2, "sent")
    calls, result = with_backoff(failures=1, time_left=4.99)
    assert len(calls) == 1
    assert isinstance(result, Throttled)


def request(subscriber_id: str) -> DeliveryRequest:
    return DeliveryRequest(subscriber_id=subscriber_id, channel=Channel.EMAIL, due_at=WINDOW)


def test_an_email_names_its_window_in_tags_the_send_event_brings_back() -> None:
    # Given a subscriber id SES accepts in a tag value
    tags = email_tags(request("sub_0123-abc"))
    # Then the tags name the subscriber, the channel and the window (epoch seconds)
    assert tags == {"subscriber": "sub_0123-abc", "channel": "email", "window": "1795428000"}
    assert email_tags(request("a" * 256))["subscriber"] == "a" * 256


@pytest.mark.parametrize("subscriber_id", ["ana@example.com", "a b", "a" * 257, "ü"])
def test_an_id_ses_would_refuse_in_a_tag_sends_no_tags(subscriber_id: str) -> None:
    # When the id has characters (or a length) SES tags do not allow
    # Then no tags are sent rather than a send SES refuses
    assert email_tags(request(subscriber_id)) == {}


def test_message_ids_and_list_ids_are_on_the_senders_domain() -> None:
    # Given sender addresses on other domains than the default one
    from jobalerts.delivery.deliver import _domain

    # Then the domain is the address's, and only an address without one falls back
    assert _domain("alerts@mail.acme.example") == "mail.acme.example"
    assert _domain("alerts@") == "jobalerts.example"
