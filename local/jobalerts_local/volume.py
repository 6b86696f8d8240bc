"""`jobalerts volume`: how many matches and digests a day of the load workload makes, at full
scale, with the real matcher and the real schedule, and no AWS.

`jobalerts load` meters what each match and each digest costs by running the handlers on moto,
which this machine can do only for a small slice of the day (`--scale`). Costs that are per
match and per digest then need the day's true counts, and those do not scale linearly: a
subscriber's instant matches of one ingest run share one digest, and a slice with 1/200 of the
posts has far fewer runs with a match in them. This counts them on the whole day instead:

- posts as ingest stores them: a near-duplicate of an earlier post (same `identity.fingerprint`)
  is filed, not stored, so it matches nothing;
- each post is matched at the first 5-minute ingest run after its time (the stream then hands
  it to the match function within seconds);
- each (subscriber, channel, post) is one match, due in the soonest window of the searches that
  matched it (`schedule.next_due`, as the match function computes it);
- a digest is one (subscriber, channel, window) with a match in it, counted in time order with
  texts held as the deliver function holds them: a text in quiet hours waits for the morning,
  one over the day's cap (`Subscriber.sms_daily_cap`) rolls into the next daily email (a digest
  of its own unless that window already has one) or, without an email, the next day's first
  text.
"""

from __future__ import annotations

import heapq
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from jobalerts.identity import fingerprint
from jobalerts.matcher import Matcher
from jobalerts.models import Channel, Frequency, Post, Subscriber, SubscriberStatus
from jobalerts.schedule import local_date, next_day_start, next_due, quiet_until
from jobalerts_local.load import FULL_SUBSCRIBERS, workload
from jobalerts_local.simulate import SubscriberSpec

INGEST_EVERY = timedelta(minutes=5)
# The stream's batching window and the match run, after the ingest run that stored the post.
MATCH_DELAY = timedelta(seconds=10)


@dataclass
class Volume:
    scale: float
    subscribers: int
    searches: int
    posts: int
    stored: int
    """Posts that are not near-duplicates of an earlier one (what ingest stores)."""
    matches: Counter[str] = field(default_factory=Counter)
    """(subscriber, channel, post) triples, by the frequency of the window they are due in."""
    digests: Counter[str] = field(default_factory=Counter)
    """(subscriber, channel, window) triples, by channel and frequency (`email instant`)."""
    posts_per_digest: list[int] = field(default_factory=list)
    capped_texts: int = 0
    """Text windows over the day's cap, rolled into a later email or text."""
    deferred_texts: int = 0
    """Text windows in quiet hours, moved to the morning."""

    @property
    def per_subscriber_day(self) -> tuple[float, float]:
        """Matches and digests per subscriber for the day."""
        people = max(1, self.subscribers)
        return sum(self.matches.values()) / people, sum(self.digests.values()) / people


def ingest_run_after(moment: datetime) -> datetime:
    """The first 5-minute run at or after `moment` (runs at :00, :05, ...)."""
    epoch = moment.astimezone(UTC).timestamp()
    step = INGEST_EVERY.total_seconds()
    return datetime.fromtimestamp(-(-epoch // step) * step, UTC)


def count_day(scale: float = 1.0, seed: int = 13) -> Volume:
    people, posts = workload(scale, seed)
    return count(people, posts, scale)


def count(people: list[SubscriberSpec], posts: list[Post], scale: float = 1.0) -> Volume:
    created = datetime(2026, 11, 1, tzinfo=UTC)
    subscribers = {
        str(p.line): Subscriber(
            subscriber_id=str(p.line),
            email=p.email,
            phone=p.phone,
            timezone=p.timezone,
            status=SubscriberStatus.ACTIVE,
            email_confirmed=p.email is not None,
            phone_confirmed=p.phone is not None,
            created_at=created,
        )
        for p in people
    }
    matcher = Matcher()
    routes: dict[str, tuple[str, Channel, Frequency]] = {}
    for person in people:
        for number, search in enumerate(person.searches):
            search_id = f"{person.line}:{number}"
            matcher.add(search_id, search.query)
            routes[search_id] = (
                str(person.line),
                Channel(search.channel),
                Frequency(search.frequency),
            )
    volume = Volume(scale, len(people), len(routes), len(posts), 0)

    seen: set[str] = set()
    # (subscriber, channel, post) -> (soonest window, its frequency)
    due: dict[tuple[str, Channel, str], tuple[datetime, Frequency]] = {}
    for post in posts:
        key = fingerprint(post)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        volume.stored += 1
        matched_at = ingest_run_after(post.created_at) + MATCH_DELAY
        for search_id in matcher.match_post(post):
            subscriber_id, channel, frequency = routes[search_id]
            window = next_due(frequency, subscribers[subscriber_id], matched_at)
            triple = (subscriber_id, channel, post.id)
            # Windows can coincide (a daily and a weekly one on Monday morning): the more
            # frequent search names the match, not the matcher's (set) order of hits.
            if triple not in due or (window, _order(frequency)) < (
                due[triple][0],
                _order(due[triple][1]),
            ):
                due[triple] = (window, frequency)

    windows: dict[tuple[str, Channel, datetime], list[Frequency]] = defaultdict(list)
    for (subscriber_id, channel, _), (window, frequency) in due.items():
        volume.matches[frequency.value] += 1
        windows[(subscriber_id, channel, window)].append(frequency)
    _send_windows(windows, subscribers, volume)
    return volume


Window = tuple[str, Channel, datetime]


def _send_windows(
    windows: dict[Window, list[Frequency]], subscribers: dict[str, Subscriber], volume: Volume
) -> None:
    """Count a digest per window in time order, texts held as the deliver function holds them:
    a text in quiet hours waits for the morning's window; one over the day's cap rolls into
    the next daily email (a new digest unless that window has one) or, without an email, into
    the next day's first text."""
    queue = [(window, subscriber_id, channel) for subscriber_id, channel, window in windows]
    heapq.heapify(queue)
    texts: Counter[tuple[str, date]] = Counter()
    while queue:
        window, subscriber_id, channel = heapq.heappop(queue)
        frequencies = windows.pop((subscriber_id, channel, window), None)
        if not frequencies:
            continue  # a window whose posts were merged into one popped before
        subscriber = subscribers[subscriber_id]
        target: Window | None = None
        if channel is Channel.SMS:
            day = (subscriber_id, local_date(subscriber, window))
            resume = quiet_until(subscriber, window)
            if resume is not None:
                volume.deferred_texts += 1
                target = (subscriber_id, Channel.SMS, resume)
            elif texts[day] >= subscriber.sms_daily_cap:
                volume.capped_texts += 1
                if subscriber.unreachable(Channel.EMAIL) is None:
                    email = next_due(Frequency.DAILY, subscriber, window)
                    target = (subscriber_id, Channel.EMAIL, email)
                    frequencies = [Frequency.DAILY] * len(frequencies)
                else:
                    target = (subscriber_id, Channel.SMS, next_day_start(subscriber, window))
            else:
                texts[day] += 1
        if target is not None:
            if target not in windows:
                heapq.heappush(queue, (target[2], target[0], target[1]))
            windows.setdefault(target, []).extend(frequencies)
            continue
        volume.digests[f"{channel.value} {min(frequencies, key=_order).value}"] += 1
        volume.posts_per_digest.append(len(frequencies))


def _order(frequency: Frequency) -> int:
    return list(Frequency).index(frequency)


def summary(volume: Volume) -> str:
    matches, digests = volume.per_subscriber_day
    sizes = sorted(volume.posts_per_digest) or [0]
    lines = [
        f"jobalerts volume: scale {volume.scale} - {volume.subscribers:,} subscribers,"
        f" {volume.searches:,} searches, {volume.posts:,} posts over a day"
        f" ({volume.stored:,} stored, the rest near-duplicates)",
        f"matches (subscriber, channel, post): {sum(volume.matches.values()):,}"
        f" - {matches:.1f} per subscriber a day",
        "  by the window they are due in: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(volume.matches.items())),
        f"digests (subscriber, channel, window): {sum(volume.digests.values()):,}"
        f" - {digests:.1f} per subscriber a day; {volume.capped_texts:,} text windows over the"
        f" daily cap rolled into later digests, {volume.deferred_texts:,} in quiet hours moved"
        " to the morning",
        "  by channel and frequency: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(volume.digests.items())),
        f"posts per digest: mean {statistics.fmean(sizes):.1f}, median"
        f" {statistics.median(sizes):.0f}, p95 {sizes[int(0.95 * (len(sizes) - 1))]}",
    ]
    if volume.subscribers != FULL_SUBSCRIBERS:
        lines.append(f"(a slice: scale {volume.scale} of the full day's counts)")
    return "\n".join(lines)
