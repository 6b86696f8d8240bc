"""When a match is due: the next digest window for a frequency, in the subscriber's timezone.

Daily and weekly digests go out once per local date, at a "slot": the chosen wall-clock hour on
that date. Daylight saving makes some wall-clock times ambiguous or nonexistent, so a slot is
resolved the way PEP 495's `fold=0` does it:
- a time in the spring-forward gap (02:30 when clocks jump 02:00 -> 03:00) is read with the
  offset from before the jump, which lands the same distance past the gap (03:30);
- a repeated time on fall-back day (01:30 twice) is its first occurrence.
Each local date therefore has exactly one slot, and consecutive slots are 23, 24 or 25 hours
apart: no digest is skipped or doubled. Windows are UTC instants with whole seconds, so every
caller that computes the same window gets the same string for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobalerts.models import Frequency, Subscriber
from jobalerts.observability import logger

_QUARTER = timedelta(minutes=15)


def zone_of(subscriber: Subscriber) -> ZoneInfo:
    """The subscriber's zone; an unknown name (validated at signup) falls back to UTC."""
    try:
        return ZoneInfo(subscriber.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown timezone, using utc", subscriber_id=subscriber.subscriber_id)
        return ZoneInfo("UTC")


def slot(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of `hour`:00 local on `day`, resolved as the module docstring explains."""
    wall = datetime.combine(day, time(hour), tzinfo=zone)  # fold=0
    return wall.astimezone(UTC)


def next_due(frequency: Frequency, subscriber: Subscriber, after: datetime) -> datetime:
    """The digest window (UTC) that a match made at `after` belongs to.

    instant: the minute of the match (the next digest run sends it); hourly: the next top of a
    local hour strictly after `after`; daily/weekly: the first slot at or after `after`.
    """
    after = after.astimezone(UTC)
    if frequency is Frequency.INSTANT:
        return after.replace(second=0, microsecond=0)
    zone = zone_of(subscriber)
    if frequency is Frequency.HOURLY:
        return _next_local_hour(after, zone)
    weekly = frequency is Frequency.WEEKLY
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(10):
        if not weekly or day.weekday() == subscriber.digest_weekday:
            candidate = slot(day, subscriber.digest_hour, zone)
            if candidate >= after:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("a weekday recurs within ten days")  # pragma: no cover


def _next_local_hour(after: datetime, zone: ZoneInfo) -> datetime:
    """Every UTC offset in use is a whole number of quarter hours, so step by quarters."""
    candidate = after.replace(minute=after.minute - after.minute % 15, second=0, microsecond=0)
    while True:
        candidate += _QUARTER
        if candidate.astimezone(zone).minute == 0:
            return candidate


def window_key(window: datetime) -> str:
    """How a window is spelled in keys and messages: UTC, whole seconds."""
    return window.astimezone(UTC).replace(microsecond=0).isoformat(timespec="seconds")


def local_date(subscriber: Subscriber, at: datetime) -> date:
    return at.astimezone(zone_of(subscriber)).date()


def quiet_until(subscriber: Subscriber, at: datetime) -> datetime | None:
    """When SMS quiet hours end (UTC), if `at` falls inside them; None when texting is fine.

    Quiet hours run from `sms_quiet_start`:00 to `sms_quiet_end`:00 local and may span midnight;
    equal hours mean no quiet hours.
    """
    start, end = subscriber.sms_quiet_start, subscriber.sms_quiet_end
    if start == end:
        return None
    zone = zone_of(subscriber)
    local = at.astimezone(zone)
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    day = local.date()
    if start > end and hour >= start:
        day += timedelta(days=1)
    resume = slot(day, end, zone)
    # A gap at the end hour can put the slot before `at` (end hour skipped): resume then.
    return max(resume, at.astimezone(UTC))


def next_day_start(subscriber: Subscriber, at: datetime) -> datetime:
    """The end of quiet hours on the next local day: when a capped SMS may go out again."""
    zone = zone_of(subscriber)
    return slot(at.astimezone(zone).date() + timedelta(days=1), subscriber.sms_quiet_end, zone)
