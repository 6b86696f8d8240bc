"""The deliver function's limits: the archived page's size and the SES tags' alphabet."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from jobalerts.delivery import deliver
from jobalerts.delivery.deliver import ARCHIVE_LIMIT_BYTES, DigestDelivery, email_tags
from jobalerts.models import Channel, DeliveryRequest

WINDOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def archived(monkeypatch: pytest.MonkeyPatch, full_page: str) -> int | None:
    """Which rendering `_web_page` keeps (None: every post; N: N per search) when the full
    page is `full_page` and every shorter one is small."""
    pages = {None: full_page, 50: "fifty", 10: "ten", 1: "one"}

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
    assert ARCHIVE_LIMIT_BYTES == 350_000
    # Then a page of exactly the limit is kept whole, one byte more keeps 50 posts per search
    assert archived(monkeypatch, "x" * ARCHIVE_LIMIT_BYTES) is None
    assert archived(monkeypatch, "x" * (ARCHIVE_LIMIT_BYTES + 1)) == 50
    # and the limit counts UTF-8 bytes, not characters
    assert archived(monkeypatch, "é" * (ARCHIVE_LIMIT_BYTES // 2 + 1)) == 50


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
