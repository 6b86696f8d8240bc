"""Digest windows in the subscriber's own timezone, across daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobalerts.models import Frequency, Subscriber
from jobalerts.schedule import next_day_start, next_due, quiet_until, slot, window_key

NY = ZoneInfo("America/New_York")


def who(timezone: str = "America/New_York", **fields: Any) -> Subscriber:
    return Subscriber(
        subscriber_id="ana",
        timezone=timezone,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        **fields,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_instant_is_due_the_minute_it_matched() -> None:
    assert next_due(Frequency.INSTANT, who(), utc(2027, 1, 5, 10, 7, 31)) == utc(2027, 1, 5, 10, 7)


def test_hourly_is_due_at_the_next_local_top_of_the_hour() -> None:
    assert next_due(Frequency.HOURLY, who(), utc(2027, 1, 5, 10, 7)) == utc(2027, 1, 5, 11)
    assert next_due(Frequency.HOURLY, who(), utc(2027, 1, 5, 10)) == utc(2027, 1, 5, 11)


def test_hourly_follows_half_hour_zones() -> None:
    # India is UTC+05:30: local tops of the hour fall at :30 UTC
    due = next_due(Frequency.HOURLY, who("Asia/Kolkata"), utc(2027, 1, 5, 10, 7))
    assert due == utc(2027, 1, 5, 10, 30)


def test_daily_defaults_to_eight_local() -> None:
    due = next_due(Frequency.DAILY, who(), utc(2027, 1, 5, 20))  # 15:00 in New York
    assert due.astimezone(NY).isoformat() == "2027-01-06T08:00:00-05:00"


def test_daily_at_the_slot_itself_is_that_slot() -> None:
    assert next_due(Frequency.DAILY, who(), utc(2027, 1, 5, 13)) == utc(2027, 1, 5, 13)


def test_weekly_waits_for_the_chosen_weekday_and_hour() -> None:
    # Tuesday 5 Jan 2027; the subscriber wants Fridays at 17:00
    due = next_due(Frequency.WEEKLY, who(digest_weekday=4, digest_hour=17), utc(2027, 1, 5, 12))
    assert due.astimezone(NY).isoformat() == "2027-01-08T17:00:00-05:00"


def test_a_slot_in_the_spring_forward_gap_moves_past_the_gap() -> None:
    # 02:30 does not exist on 14 March 2027 in New York; it is read as 03:30 EDT
    assert slot(datetime(2027, 3, 14).date(), 2, NY) == utc(2027, 3, 14, 7)


def test_a_repeated_hour_on_fall_back_day_is_its_first_occurrence() -> None:
    assert slot(datetime(2027, 11, 7).date(), 1, NY) == utc(2027, 11, 7, 5)


def test_a_match_during_the_repeated_hour_after_the_slot_waits_a_day() -> None:
    # 01:30 EST (the second 01:30) is after the 01:00 EDT slot: the next digest is tomorrow
    due = next_due(Frequency.DAILY, who(digest_hour=1), utc(2027, 11, 7, 6, 30))
    assert due == utc(2027, 11, 8, 6)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(
        ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
    ),
    hour=st.integers(0, 23),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 1)),
)
def test_daily_windows_come_once_per_local_date(zone: str, hour: int, start: datetime) -> None:
    sub = who(zone, digest_hour=hour)
    at = start.replace(tzinfo=UTC)
    windows = []
    for _ in range(5):
        at = next_due(Frequency.DAILY, sub, at)
        windows.append(at)
        at += timedelta(seconds=1)
    dates = [w.astimezone(ZoneInfo(zone)).date() for w in windows]
    assert len(set(dates)) == 5
    assert all((b - a).days == 1 for a, b in itertools.pairwise(dates))
    assert all(
        timedelta(hours=22) <= b - a <= timedelta(hours=26) for a, b in itertools.pairwise(windows)
    )


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 1)),
    weekday=st.integers(0, 6),
)
def test_weekly_windows_are_a_week_apart_on_the_chosen_weekday(
    start: datetime, weekday: int
) -> None:
    sub = who("Europe/Berlin", digest_weekday=weekday, digest_hour=2)
    first = next_due(Frequency.WEEKLY, sub, start.replace(tzinfo=UTC))
    second = next_due(Frequency.WEEKLY, sub, first + timedelta(seconds=1))
    berlin = ZoneInfo("Europe/Berlin")
    assert first.astimezone(berlin).weekday() == weekday
    assert (second.astimezone(berlin).date() - first.astimezone(berlin).date()).days == 7


def test_quiet_hours_span_midnight_and_end_at_eight_local() -> None:
    sub = who()
    assert quiet_until(sub, utc(2027, 6, 1, 16)) is None  # 12:00 EDT
    assert quiet_until(sub, utc(2027, 6, 2, 2, 30)) == utc(2027, 6, 2, 12)  # 22:30 -> 08:00
    assert quiet_until(sub, utc(2027, 6, 2, 11)) == utc(2027, 6, 2, 12)  # 07:00 -> 08:00


def test_quiet_hours_cannot_be_switched_off_or_shortened_below_eight_hours() -> None:
    # Equal hours used to mean "no quiet hours"; a stored value like that reads back as default
    assert (who(sms_quiet_start=0, sms_quiet_end=0).sms_quiet_start, who().sms_quiet_end) == (21, 8)
    assert quiet_until(who(sms_quiet_start=0, sms_quiet_end=0), utc(2027, 6, 2, 2)) is not None
    assert who(sms_quiet_start=22, sms_quiet_end=3).sms_quiet_start == 21
    # Eight hours or more is kept, wherever in the day it falls (night shifts)
    assert (who(sms_quiet_start=9, sms_quiet_end=17).sms_quiet_start, 9) == (9, 9)


def test_capped_texts_resume_when_the_next_local_day_starts() -> None:
    assert next_day_start(who(), utc(2027, 6, 1, 16)) == utc(2027, 6, 2, 12)


def test_windows_are_spelled_in_utc_whole_seconds() -> None:
    moment = datetime(2027, 6, 1, 8, 0, 0, 123, tzinfo=NY)
    assert window_key(moment) == "2027-06-01T12:00:00+00:00"


def test_an_unknown_timezone_falls_back_to_utc() -> None:
    due = next_due(Frequency.DAILY, who("Mars/Olympus"), utc(2027, 1, 5, 1))
    assert due == utc(2027, 1, 5, 8)


@pytest.mark.parametrize(
    ("minute", "due"),
    [
        (0, utc(2027, 1, 5, 11)),
        (7, utc(2027, 1, 5, 11)),
        (14, utc(2027, 1, 5, 11)),
        (15, utc(2027, 1, 5, 11)),
        (20, utc(2027, 1, 5, 11)),
        (30, utc(2027, 1, 5, 11)),
        (45, utc(2027, 1, 5, 11)),
        (59, utc(2027, 1, 5, 11)),
    ],
)
def test_hourly_at_every_quarter_and_in_between(minute: int, due: datetime) -> None:
    after = utc(2027, 1, 5, 10, minute, 59, 999_999)
    assert next_due(Frequency.HOURLY, who(), after) == due
    assert next_due(Frequency.HOURLY, who("UTC"), after) == due


@pytest.mark.parametrize(
    ("after", "due"),
    [
        # Nepal is UTC+05:45: local tops of the hour fall at :15 UTC
        (utc(2027, 1, 5, 10, 0), utc(2027, 1, 5, 10, 15)),
        (utc(2027, 1, 5, 10, 15), utc(2027, 1, 5, 11, 15)),
        (utc(2027, 1, 5, 10, 20), utc(2027, 1, 5, 11, 15)),
        (utc(2027, 1, 5, 10, 30), utc(2027, 1, 5, 11, 15)),
        (utc(2027, 1, 5, 10, 45), utc(2027, 1, 5, 11, 15)),
        (utc(2027, 1, 5, 10, 59), utc(2027, 1, 5, 11, 15)),
    ],
)
def test_hourly_in_a_quarter_hour_zone(after: datetime, due: datetime) -> None:
    assert next_due(Frequency.HOURLY, who("Asia/Kathmandu"), after) == due


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(
        [
            "UTC",
            "America/New_York",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "Europe/Berlin",
        ]
    ),
    after=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_hourly_is_the_first_local_top_of_the_hour_strictly_after(
    zone: str, after: datetime
) -> None:
    due = next_due(Frequency.HOURLY, who(zone), after)
    assert after < due <= after + timedelta(hours=1)
    assert due.astimezone(ZoneInfo(zone)).minute == 0
    assert (due.second, due.microsecond) == (0, 0)
    # and no local top of the hour lies between `after` and `due`
    step = due - timedelta(minutes=15)
    while step > after:
        assert step.astimezone(ZoneInfo(zone)).minute != 0
        step -= timedelta(minutes=15)


def test_quiet_hours_within_one_day() -> None:
    # Quiet 09:00-17:00 New York (EDT, UTC-4): not across midnight, and the 8-hour minimum
    sub = who(sms_quiet_start=9, sms_quiet_end=17)
    assert (sub.sms_quiet_start, sub.sms_quiet_end) == (9, 17)
    assert quiet_until(sub, utc(2027, 6, 1, 12, 59)) is None  # 08:59
    assert quiet_until(sub, utc(2027, 6, 1, 13)) == utc(2027, 6, 1, 21)  # 09:00 -> 17:00
    assert quiet_until(sub, utc(2027, 6, 1, 20, 59)) == utc(2027, 6, 1, 21)  # 16:59
    assert quiet_until(sub, utc(2027, 6, 1, 21)) is None  # 17:00
    assert quiet_until(sub, utc(2027, 6, 2, 3)) is None  # 23:00
    assert quiet_until(sub, utc(2027, 6, 2, 5)) is None  # 01:00


def test_quiet_hours_across_midnight_at_both_ends() -> None:
    sub = who(sms_quiet_start=21, sms_quiet_end=8)
    assert quiet_until(sub, utc(2027, 6, 2, 0, 59)) is None  # 20:59
    assert quiet_until(sub, utc(2027, 6, 2, 1)) == utc(2027, 6, 2, 12)  # 21:00 -> 08:00
    assert quiet_until(sub, utc(2027, 6, 2, 4)) == utc(2027, 6, 2, 12)  # 00:00 -> 08:00
    assert quiet_until(sub, utc(2027, 6, 2, 12)) is None  # 08:00


def test_daily_just_after_the_slot_is_the_next_day() -> None:
    slot_today = utc(2027, 1, 5, 13)  # 08:00 EST
    assert next_due(Frequency.DAILY, who(), slot_today) == slot_today
    after = slot_today + timedelta(seconds=1)
    assert next_due(Frequency.DAILY, who(), after) == utc(2027, 1, 6, 13)
    assert (
        next_due(Frequency.DAILY, who(), utc(2027, 1, 5, 4)) == slot_today
    )  # 23:00 the day before
