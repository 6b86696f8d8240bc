"""A cold match worker starts from a warm one's snapshot and catches up through the GSI."""

from __future__ import annotations

from datetime import UTC, datetime

from jobalerts import snapshot
from jobalerts.matching import LiveIndex
from jobalerts.models import Channel, Frequency, SavedSearch
from jobalerts.store import SearchesRepository
from jobalerts_local.template import LocalStack

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
    searches = SearchesRepository()
    searches.put(saved("s1", "python", OLD))
    searches.put(saved("s2", "golang", OLDER))
    warm = LiveIndex(searches, shard="0", clock=lambda: 1_000.0)
    assert warm.refresh() == 2
    data = snapshot.dump(warm.snapshot(), KEY)
    # When searches change afterwards and a cold worker starts from the snapshot
    searches.put(saved("s3", "rust", LATER))
    searches.delete("ana", "s1")
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
