"""When a match worker reads and writes its index snapshot (the format is `jobalerts.snapshot`).

A cold worker tries the newest snapshot of its shard before its first refresh: the refresh then
reads only what changed after the snapshot's watermark. A missing, unreadable or refused
snapshot is logged and counted (`IndexSnapshotFallbacks`) and the worker builds its index from
the searches table, as it would without snapshots. A warm worker writes a new snapshot after a
refresh when its index changed since the last one it wrote or loaded, at most once per interval,
so the cost of writing (a few seconds at 1M searches) is paid rarely.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from jobalerts import snapshot
from jobalerts.matching import FULL_RELOAD_AFTER, LiveIndex
from jobalerts.observability import logger, metrics
from jobalerts.store.snapshots import SnapshotsRepository

cpu_seconds = time.process_time


@dataclass
class SnapshotKeeper:
    store: SnapshotsRepository
    # The HMAC key, read when first needed (Secrets Manager, cached by Powertools).
    key: Callable[[], bytes]
    interval: timedelta = timedelta(minutes=15)
    clock: Callable[[], float] = time.time
    # When this worker last wrote or loaded a snapshot, and the watermark it had then.
    last_at: float | None = None
    last_watermark: str | None = None

    def restore(self, index: LiveIndex) -> bool:
        """Start `index` from its shard's newest snapshot; False (logged, counted) if none fits."""
        started = cpu_seconds()
        reason = None
        try:
            data = self.store.get(index.shard)
            if data is None:
                reason = "missing"
            else:
                loaded = snapshot.load(data, self.key(), index.shard)
                if self.clock() - loaded.loaded_at > FULL_RELOAD_AFTER.total_seconds():
                    reason = "older than the tombstone horizon"
                else:
                    index.restore(loaded)
        except snapshot.SnapshotError as exc:
            reason = f"refused: {exc}"
        except Exception as exc:  # any failure here only costs a full build
            reason = f"unreadable: {type(exc).__name__}: {exc}"
        if reason is not None:
            logger.warning("index snapshot not used, building in full", reason=reason)
            metrics.add_metric(name="IndexSnapshotFallbacks", unit=MetricUnit.Count, value=1)
            return False
        self.last_at, self.last_watermark = self.clock(), index.watermark
        logger.info(
            "index snapshot loaded",
            searches=len(index.matcher),
            watermark=index.watermark,
            bytes=len(data or b""),
            cpu_seconds=round(cpu_seconds() - started, 3),
        )
        metrics.add_metric(name="IndexSnapshotLoads", unit=MetricUnit.Count, value=1)
        return True

    def write_if_due(self, index: LiveIndex) -> bool:
        """Write the index if it changed since the last snapshot and the interval has passed."""
        now = self.clock()
        if index.loaded_at is None or index.watermark == self.last_watermark:
            return False
        if self.last_at is not None and now - self.last_at < self.interval.total_seconds():
            return False
        started = cpu_seconds()
        data = snapshot.dump(index.snapshot(), self.key())
        try:
            self.store.put(index.shard, data)
        except Exception as exc:  # matching goes on; the next interval retries
            logger.warning("index snapshot not written", error=f"{type(exc).__name__}: {exc}")
            metrics.add_metric(name="IndexSnapshotWriteFailures", unit=MetricUnit.Count, value=1)
            return False
        self.last_at, self.last_watermark = now, index.watermark
        logger.info(
            "index snapshot written",
            searches=len(index.matcher),
            watermark=index.watermark,
            bytes=len(data),
            cpu_seconds=round(cpu_seconds() - started, 3),
        )
        metrics.add_metric(name="IndexSnapshotWrites", unit=MetricUnit.Count, value=1)
        return True


def secret_key(secret_name: str) -> Callable[[], bytes]:
    def key() -> bytes:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(secret_name, max_age=300)
        return value if isinstance(value, bytes) else str(value).encode()

    return key
