"""Pausing alerts: for a week, two weeks or until resumed.

A paused subscriber's searches are not live, so they leave the match index and cost no X reads,
exactly as an unconfirmed one's; the deliver function sends nothing to a paused subscriber
either (a post matched before the index heard of the pause is dropped, not held back).

A dated pause ends by itself: its subscriber sits in the sparse `resume-index` of the
subscribers table, and the digest function, which runs every minute anyway, resumes those
whose date has passed before it looks for due digests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobalerts.models import SubscriberStatus
from jobalerts.observability import logger, metrics, tracer
from jobalerts.store import SearchesRepository, SubscribersRepository

# The choices a person is offered; `None` is "until I resume".
DURATIONS: dict[str, timedelta | None] = {
    "1w": timedelta(weeks=1),
    "2w": timedelta(weeks=2),
    "resumed": None,
}


def pause(
    subscribers: SubscribersRepository,
    searches: SearchesRepository,
    subscriber_id: str,
    length: timedelta | None,
    now: datetime,
) -> datetime | None:
    """Pause now; returns when the pause ends (None: when resumed)."""
    until = now + length if length is not None else None
    subscribers.pause(subscriber_id, until)
    searches.set_live(subscriber_id, False)
    logger.info("alerts paused", subscriber_id=subscriber_id, dated=until is not None)
    metrics.add_metric(name="AlertsPaused", unit="Count", value=1)
    return until


def resume(
    subscribers: SubscribersRepository,
    searches: SearchesRepository,
    subscriber_id: str,
    *,
    ended_by: datetime | None = None,
) -> bool:
    """End a pause (with `ended_by`: only one whose date has passed); False if none ended."""
    if not subscribers.resume(subscriber_id, ended_by=ended_by):
        return False
    # Searches follow the subscriber: one who left meanwhile stays not live.
    if subscribers.get(subscriber_id).status is SubscriberStatus.ACTIVE:
        searches.set_live(subscriber_id, True)
    logger.info("alerts resumed", subscriber_id=subscriber_id, by_date=ended_by is not None)
    metrics.add_metric(name="AlertsResumed", unit="Count", value=1)
    return True


@tracer.capture_method
def resume_ended(
    now: datetime, subscribers: SubscribersRepository, searches: SearchesRepository
) -> int:
    """Resume every pause whose date is `now` or earlier; returns how many were resumed."""
    return sum(
        resume(subscribers, searches, sid, ended_by=now) for sid in subscribers.pauses_ended(now)
    )
