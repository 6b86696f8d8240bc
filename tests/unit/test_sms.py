"""SMS length: GSM-7 septets vs UCS-2 units, segments, and the text we compose."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobalerts.digests.sms import GSM7_BASIC, STOP_LINE, compose_sms, is_gsm7, measure

LINK = "https://a.example/d/x1"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€", "GSM-7", 2, 1),  # extension table: escape + char
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("[]{}~^|\\", "GSM-7", 16, 1),
        ("é" * 160, "GSM-7", 160, 1),  # in the basic table
        ("ç", "UCS-2", 1, 1),  # lower-case ç is not GSM-7
        ("a" * 69 + "✓", "UCS-2", 70, 1),
        ("a" * 70 + "✓", "UCS-2", 71, 2),
        ("😀", "UCS-2", 2, 1),  # a surrogate pair
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_measure(text: str, encoding: str, units: int, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_an_extension_character_is_not_split_across_parts() -> None:
    # 152 plain septets then "€": the escape and the char would straddle the 153-septet boundary
    length = measure("a" * 152 + "€" + "a" * 10)
    assert length.units == 164
    assert length.segments == 2
    assert measure("a" * 152 + "€" * 77 + "a").segments == 3


def test_an_emoji_is_not_split_across_parts() -> None:
    assert measure("a" * 66 + "😀" + "a" * 10).segments == 2
    assert measure("a" * 66 + "😀" * 34).segments == 3  # 66 + 68 units, but pairs stay whole


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=400))
def test_plain_gsm_text_segments_by_the_book(text: str) -> None:
    expected = 0 if not text else 1 if len(text) <= 160 else -(-len(text) // 153)
    assert measure(text).segments == expected


def test_a_digest_text_fits_one_segment_with_names_link_and_stop() -> None:
    text = compose_sms(12, ["python remote", "data engineer"], LINK)
    assert text == (f"jobalerts: 12 new jobs: python remote, data engineer\n{LINK}\n{STOP_LINE}")
    assert measure(text).segments == 1


def test_names_are_dropped_before_a_second_segment_is_needed() -> None:
    names = [f"search number {i} with a long name" for i in range(6)]
    text = compose_sms(30, names, LINK)
    assert measure(text).segments == 1
    assert "+" in text
    assert text.endswith(f"{LINK}\n{STOP_LINE}")


def test_an_emoji_in_a_search_name_does_not_force_ucs2_when_it_can_be_left_out() -> None:
    text = compose_sms(3, ["rust 🦀 jobs" * 3, "python remote"], LINK)
    assert is_gsm7(text)
    assert "python remote" in text
    assert measure(text).segments == 1


def test_the_link_and_stop_line_are_always_there() -> None:
    long_link = "https://a.example/" + "x" * 300
    text = compose_sms(1, ["python"], long_link)
    assert long_link in text
    assert text.endswith(STOP_LINE)


@given(
    count=st.integers(1, 500),
    names=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=6),
)
def test_a_composed_text_always_has_the_link_and_stop_and_the_fewest_segments(
    count: int, names: list[str]
) -> None:
    text = compose_sms(count, names, LINK)
    assert f"\n{LINK}\n{STOP_LINE}" in text
    bare = f"jobalerts: {count} new job{'s' if count != 1 else ''}\n{LINK}\n{STOP_LINE}"
    assert measure(text).segments <= measure(bare).segments
