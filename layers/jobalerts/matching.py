"""Match new posts against the saved searches of this worker's shard and queue the hits.

The index lives in memory for as long as Lambda keeps the worker warm. Each invocation asks the
searches table only for what changed since the last look (a query on the `shard-updated-index`
GSI), so a warm worker never rescans the table.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from jobalerts.matcher import Matcher
from jobalerts.models import Channel, Frequency, Post, SavedSearch, SearchStatus
from jobalerts.observability import logger, metrics, tracer
from jobalerts.query import QuerySyntaxError
from jobalerts.schedule import next_due
from jobalerts.snapshot import Snapshot
from jobalerts.store import MatchesRepository, SearchesRepository, SubscribersRepository
from jobalerts.store.posts import POST_KIND, item_to_post
from jobalerts.store.searches import TOMBSTONE_DAYS

if TYPE_CHECKING:
    from jobalerts.index_snapshots import SnapshotKeeper

# GSI reads are eventually consistent and writers' clocks differ a little: re-read a short
# overlap on every refresh (applying a change twice is harmless; missing one is not).
REFRESH_OVERLAP = timedelta(seconds=120)
# A worker idle longer than tombstones live could miss a deletion: reload from scratch instead.
FULL_RELOAD_AFTER = timedelta(days=TOMBSTONE_DAYS - 1)


@dataclass(frozen=True)
class SearchRoute:
    """Where a search's matches go."""

    subscriber_id: str
    channel: Channel
    frequency: Frequency


@dataclass
class LiveIndex:
    """One shard of the saved searches, kept current incrementally."""

    searches: SearchesRepository
    shard: str
    clock: Callable[[], float] = time.time
    matcher: Matcher = field(default_factory=Matcher)
    routes: dict[str, SearchRoute] = field(default_factory=dict)
    watermark: str | None = None
    loaded_at: float | None = None

    def refresh(self) -> int:
        """Apply every change since the last refresh; returns how many changes were read."""
        now = self.clock()
        if self.loaded_at is None or now - self.loaded_at > FULL_RELOAD_AFTER.total_seconds():
            self.matcher, self.routes, self.watermark = Matcher(), {}, None
            self.loaded_at = now
        since = None
        if self.watermark is not None:
            since = (datetime.fromisoformat(self.watermark) - REFRESH_OVERLAP).isoformat(
                timespec="microseconds"
            )
        changes = 0
        for search in self.searches.changes_since(self.shard, since):
            self._apply(search)
            changes += 1
            if self.watermark is None or search.updated_at > self.watermark:
                self.watermark = search.updated_at
        return changes

    def snapshot(self) -> Snapshot:
        """The index as it stands, for a cold worker to start from (see `jobalerts.snapshot`)."""
        if self.loaded_at is None:
            raise ValueError("nothing loaded yet: refresh() first")
        self.matcher.match("")  # files staged searches, so a cold worker gets them ready
        return Snapshot(self.shard, self.watermark, self.loaded_at, self.matcher, self.routes)

    def restore(self, snapshot: Snapshot) -> None:
        """Start from a snapshot; the next refresh() reads only what changed after it."""
        if snapshot.shard != self.shard:
            raise ValueError(f"snapshot of shard {snapshot.shard}, not {self.shard}")
        self.matcher, self.routes = snapshot.matcher, snapshot.routes
        self.watermark, self.loaded_at = snapshot.watermark, snapshot.loaded_at

    def _apply(self, search: SavedSearch) -> None:
        # A search whose subscriber has not confirmed (or has left) has nobody to send to.
        if search.status is SearchStatus.DELETED or not search.live:
            self.matcher.remove(search.search_id)
            self.routes.pop(search.search_id, None)
            return
        try:
            self.matcher.add(search.search_id, search.query)
        except QuerySyntaxError as exc:
            # The API validates queries, so this is a query stored before a language change:
            # one bad search must not stop the worker matching everyone else's.
            logger.warning("skipped unparsable search", search_id=search.search_id, error=str(exc))
            self.matcher.remove(search.search_id)
            self.routes.pop(search.search_id, None)
            return
        self.routes[search.search_id] = SearchRoute(
            search.subscriber_id, search.channel, search.frequency
        )

    def match(self, post: Post) -> dict[str, SearchRoute]:
        return {
            sid: self.routes[sid] for sid in self.matcher.match_post(post) if sid in self.routes
        }


# A due marker is deleted only by the delivery of its window or a later one, which the digest
# function starts once the window is due: a marker this worker wrote for a window still this
# far in the future is there, whatever other workers' clocks say.
MARKER_MEMO_MARGIN = timedelta(minutes=10)
MARKER_MEMO_SIZE = 200_000


@dataclass
class MarkedWindows:
    """Due markers this warm worker has written, so a daily or weekly window is marked once
    rather than once per match (each is a write and a GSI write); bounded, oldest forgotten."""

    capacity: int = MARKER_MEMO_SIZE
    _keys: OrderedDict[tuple[str, Channel, datetime], None] = field(default_factory=OrderedDict)

    def needs_write(self, key: tuple[str, Channel, datetime], now: datetime) -> bool:
        return key not in self._keys or key[2] <= now + MARKER_MEMO_MARGIN

    def written(self, key: tuple[str, Channel, datetime], now: datetime) -> None:
        if key[2] <= now + MARKER_MEMO_MARGIN:
            return
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)


@dataclass
class MatchService:
    index: LiveIndex
    subscribers: SubscribersRepository
    matches: MatchesRepository
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Where a cold worker starts from and a warm one writes to (jobalerts.index_snapshots).
    snapshots: SnapshotKeeper | None = None
    marked: MarkedWindows = field(default_factory=MarkedWindows)

    @tracer.capture_method
    def refresh(self) -> int:
        if self.snapshots is not None and self.index.loaded_at is None:
            self.snapshots.restore(self.index)
        changes = self.index.refresh()
        if self.snapshots is not None:
            self.snapshots.write_if_due(self.index)
        return changes

    @tracer.capture_method(capture_response=False)
    def handle(self, posts: Iterable[Post]) -> int:
        """Queue every (subscriber, channel, post) hit; returns how many were queued."""
        now = self.clock()
        hits = [
            (post, sid, route) for post in posts for sid, route in self.index.match(post).items()
        ]
        if not hits:
            return 0
        people = self.subscribers.get_many({route.subscriber_id for _, _, route in hits})
        queued = 0
        windows: dict[tuple[str, Channel, datetime], None] = {}
        for post, search_id, route in hits:
            subscriber = people.get(route.subscriber_id)
            if subscriber is None:
                continue
            if not subscriber.reachable(route.channel):
                continue
            due_at = next_due(route.frequency, subscriber, now)
            self.matches.add(
                subscriber_id=subscriber.subscriber_id,
                channel=route.channel,
                post=post,
                search_id=search_id,
                due_at=due_at,
                matched_at=now,
                mark=False,
            )
            windows[(subscriber.subscriber_id, route.channel, due_at)] = None
            queued += 1
        # After every pending item of the batch, so a marker never precedes a post it covers.
        for window in windows:
            if self.marked.needs_write(window, now):
                self.matches.mark_due(*window)
                self.marked.written(window, now)
        metrics.add_metric(name="MatchesQueued", unit=MetricUnit.Count, value=queued)
        logger.info("queued matches", posts=len({p.id for p, _, _ in hits}), matches=queued)
        return queued


def post_from_new_image(event_name: str, image: dict[str, Any] | None) -> Post | None:
    """The post a stream record inserted, or None for records the match function ignores."""
    if event_name != "INSERT" or not image or image.get("kind") != POST_KIND:
        return None
    return item_to_post(dict(image))


def post_from_stream(record: DynamoDBStreamRecordModel) -> Post | None:
    """The post a parsed stream record inserted (Powertools has deserialized the image)."""
    image = record.dynamodb.NewImage
    return post_from_new_image(record.eventName, image if isinstance(image, dict) else None)


def post_from_fanout(body: str) -> Post | None:
    """The post in a message the fan-out published: the posts stream's record, as JSON."""
    return post_from_stream(DynamoDBStreamRecordModel.model_validate_json(body))


def match_parsed_batch(
    service: MatchService,
    parsed: Iterable[tuple[str, Any, Any]],
    response: Callable[[], PartialItemFailureResponse],
    item_id: Callable[[dict[str, Any]], str],
) -> tuple[PartialItemFailureResponse, list[Post]]:
    """Match what a Powertools batch processor parsed, the whole batch at once (one read of the
    subscribers per 100 of them, not per record); returns the partial-failure response and the
    posts matched.

    When matching fails, every record that carried a post is reported failed besides those that
    did not parse: adds are idempotent, and the stream (or the queue) hands them back."""
    posts = [(result, raw) for status, result, raw in parsed if status == "success" and result]
    try:
        service.handle([post for post, _ in posts])
    except Exception:
        logger.exception("matching a batch failed; its posts are retried")
        failed = list(response()["batchItemFailures"])
        failed += [{"itemIdentifier": item_id(raw)} for _, raw in posts]
        return {"batchItemFailures": failed}, []
    return response(), [post for post, _ in posts]
