"""A cold match worker starts from a warm one's snapshot and catches up through the GSI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from jobalerts import snapshot
from jobalerts.matching import FULL_RELOAD_AFTER, LiveIndex, MatchService
from jobalerts.models import Channel, Frequency, SavedSearch
from jobalerts.observability import metrics
from jobalerts.settings import MatchSettings
from jobalerts.store import SearchesRepository
from jobalerts.wiring import snapshot_keeper
from jobalerts_local.template import LocalStack
from tests.support import stores

KEY = b"s" * 32
OLDER = "2025-12-31T00:00:00.000000+00:00"
OLD = "2026-01-01T00:00:00.000000+00:00"
LATER = "2026-01-02T00:00:00.000000+00:00"


def saved(sid: str, query: str, updated_at: str) -> SavedSearch:
    return SavedSearch(
        subscriber_id="ana",
        search_id=sid,
        query=query,
        channel=Channel.EMAIL,
        frequency=Frequency.DAILY,
        updated_at=updated_at,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_cold_worker_loads_the_snapshot_then_reads_only_what_changed_since(
    stack: LocalStack,
) -> None:
    # Given a warm worker that loaded two searches and wrote its snapshot
    searches = stores.searches()
    searches.put(saved("s1", "python", OLD))
    searches.put(saved("s2", "golang", OLDER))
    warm = LiveIndex(searches, shard="0", clock=lambda: 1_000.0)
    assert warm.refresh() == 2
    data = snapshot.dump(warm.snapshot(), KEY)
    # When searches change afterwards and a cold worker starts from the snapshot
    searches.put(saved("s3", "rust", LATER))
    searches.delete("ana", "s1", now=datetime(2026, 1, 2, tzinfo=UTC))
    cold = LiveIndex(searches, shard="0", clock=lambda: 2_000.0)
    cold.restore(snapshot.load(data, KEY, "0"))
    changes = cold.refresh()
    # Then it read only the two changes (s2 is older than the watermark and its overlap)
    assert changes == 2
    # and matches as a worker loaded from scratch does
    fresh = LiveIndex(searches, shard="0", clock=lambda: 2_000.0)
    fresh.refresh()
    for text in ["python job", "golang job", "rust job"]:
        assert cold.matcher.match(text) == fresh.matcher.match(text), text
        assert cold.routes.keys() == fresh.routes.keys()
    assert cold.matcher.match("rust job") == {"s3"}
    assert cold.matcher.match("python job") == set()


# --- The wiring: the match service, its S3 bucket and key, as template.yaml declares them ---


def service_for(searches: SearchesRepository, now: float) -> MatchService:
    """A match worker as the handler builds it, on a clock of our choosing."""
    keeper = snapshot_keeper(MatchSettings.load())
    assert keeper is not None, "template.yaml gives the match function a snapshot bucket"
    keeper.clock = lambda: now
    return MatchService(
        index=LiveIndex(searches, shard="0", clock=lambda: now),
        subscribers=stores.subscribers(),
        matches=stores.matches(),
        snapshots=keeper,
    )


POSTS = ["python job in berlin", "golang remote", "rust and python", "nothing to see"]


def test_a_warm_worker_writes_to_s3_and_a_cold_one_starts_from_it(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a warm worker that built its index in full (no snapshot yet) and wrote one
    searches = stores.searches()
    searches.put(saved("s1", "python berlin", OLDER))
    searches.put(saved("s2", "golang OR rust", OLD))
    warm = service_for(searches, now=1_000.0)
    assert warm.refresh() == 2
    assert stores.snapshots().get("0") is not None
    assert "index snapshot not used, building in full" in caplog.messages
    caplog.clear()
    # When a search is added after the snapshot and a new worker starts cold
    searches.put(saved("s3", "python", LATER))
    cold = service_for(searches, now=2_000.0)
    changes = cold.refresh()
    # Then it loaded the snapshot and read only the change since, plus s2 at the watermark
    # (the refresh overlap), not s1
    assert "index snapshot loaded" in caplog.messages
    assert changes == 2
    # and matches exactly as a worker that built everything from the table
    full = LiveIndex(searches, shard="0", clock=lambda: 2_000.0)
    full.refresh()
    for text in POSTS:
        assert cold.index.matcher.match(text) == full.matcher.match(text), text
    assert cold.index.routes == full.routes
    assert cold.index.matcher.match("rust and python") == {"s2", "s3"}


def test_a_warm_worker_writes_at_most_once_an_interval_and_only_after_a_change(
    stack: LocalStack,
) -> None:
    searches = stores.searches()
    searches.put(saved("s1", "python", OLD))
    worker = service_for(searches, now=1_000.0)
    worker.refresh()
    first = stores.snapshots().get("0")
    assert worker.snapshots is not None
    # When a search changes within the interval: no new snapshot yet
    searches.put(saved("s2", "golang", LATER))
    worker.refresh()
    assert stores.snapshots().get("0") == first
    # Once the interval has passed, the changed index is written
    worker.snapshots.clock = lambda: 1_000.0 + 16 * 60
    worker.refresh()
    second = stores.snapshots().get("0")
    assert second != first
    # and with nothing changed since, nothing more is written
    worker.snapshots.clock = lambda: 1_000.0 + 40 * 60
    assert worker.snapshots.write_if_due(worker.index) is False


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 1]), id="flipped bit"),
        pytest.param(lambda data: data[:100], id="truncated"),
        pytest.param(lambda data: b"not a snapshot", id="foreign object"),
    ],
)
def test_a_tampered_snapshot_is_refused_and_the_worker_builds_in_full(
    stack: LocalStack, caplog: pytest.LogCaptureFixture, tamper: Callable[[bytes], bytes]
) -> None:
    # Given a snapshot in S3 that someone without the key changed
    searches = stores.searches()
    searches.put(saved("s1", "python", OLD))
    service_for(searches, now=1_000.0).refresh()
    store = stores.snapshots()
    data = store.get("0")
    assert data is not None
    store.put("0", tamper(data))
    searches.put(saved("s2", "golang", LATER))
    caplog.clear()
    metrics.clear_metrics()
    # When a cold worker starts
    cold = service_for(searches, now=2_000.0)
    changes = cold.refresh()
    # Then it refused the snapshot (logged, counted) and read every search
    assert "index snapshot not used, building in full" in caplog.messages
    assert "index snapshot loaded" not in caplog.messages
    assert "IndexSnapshotFallbacks" in json.dumps(metrics.metric_set)
    assert changes == 2
    assert cold.index.matcher.match("python golang") == {"s1", "s2"}


def test_a_snapshot_older_than_the_tombstone_horizon_is_not_used(stack: LocalStack) -> None:
    searches = stores.searches()
    searches.put(saved("s1", "python", OLD))
    service_for(searches, now=1_000.0).refresh()
    later = 1_000.0 + FULL_RELOAD_AFTER.total_seconds() + 1
    keeper = service_for(searches, now=later).snapshots
    assert keeper is not None
    assert keeper.restore(LiveIndex(searches, shard="0", clock=lambda: later)) is False


def test_a_failed_write_is_logged_and_counted_and_matching_goes_on(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a worker whose snapshot bucket does not exist (say, deleted by hand)
    searches = stores.searches()
    searches.put(saved("s1", "python", OLD))
    worker = service_for(searches, now=1_000.0)
    assert worker.snapshots is not None
    worker.snapshots.store = stores.snapshots(bucket="no-such-bucket")
    metrics.clear_metrics()
    # When it refreshes, and so tries to write its first snapshot
    assert worker.refresh() == 1
    # Then the failure is logged and counted, and the index serves matches all the same
    assert "index snapshot not written" in caplog.messages
    assert "IndexSnapshotWriteFailures" in json.dumps(metrics.metric_set)
    assert worker.index.matcher.match("python developer") == {"s1"}
