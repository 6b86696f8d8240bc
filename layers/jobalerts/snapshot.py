"""A match worker's index as bytes: written by a warm worker, loaded by a cold one.

Building the index from the searches table parses and compiles every saved search (about ten
seconds per 100,000 on one core); loading a snapshot only rebuilds the finished objects. A cold
worker loads the newest snapshot of its shard and then catches up through the
`shard-updated-index` from the snapshot's watermark, as a warm worker does on every invocation.

Format: `MAGIC`, a version byte, an HMAC-SHA256 of the rest under a key only the workers hold,
then zlib-compressed pickle of the shard, watermark, time taken, `Matcher` and routes. Pickle is
what makes the load fast (no parsing, shared groups kept shared), and the signature is what
makes it safe: bytes that were not written by a worker holding the key are refused before
anything is unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobalerts.errors import JobAlertsError

if TYPE_CHECKING:
    from jobalerts.matcher import Matcher
    from jobalerts.matching import SearchRoute

MAGIC = b"JAIX"
VERSION = 1
_HEADER = len(MAGIC) + 1
_DIGEST = hashlib.sha256().digest_size
# Speed over size: level 1 is ~3x smaller than raw pickle and costs little on either side.
_LEVEL = 1


class SnapshotError(JobAlertsError):
    """Bytes that are not a snapshot this code may load."""


@dataclass(frozen=True)
class Snapshot:
    shard: str
    # The newest `updated_at` the index had read: a cold worker catches up from here.
    watermark: str | None
    # Epoch seconds when the index was last loaded in full, for its tombstone horizon.
    loaded_at: float
    matcher: Matcher
    routes: dict[str, SearchRoute]


def dump(snapshot: Snapshot, key: bytes) -> bytes:
    body = zlib.compress(
        pickle.dumps(
            (
                snapshot.shard,
                snapshot.watermark,
                snapshot.loaded_at,
                snapshot.matcher,
                snapshot.routes,
            ),
            protocol=pickle.HIGHEST_PROTOCOL,
        ),
        _LEVEL,
    )
    header = MAGIC + bytes([VERSION])
    return header + hmac.digest(key, header + body, "sha256") + body


def load(data: bytes, key: bytes, shard: str) -> Snapshot:
    """The snapshot in `data`; raises SnapshotError unless a key holder wrote it for `shard`."""
    if data[: len(MAGIC)] != MAGIC:
        raise SnapshotError("not an index snapshot")
    if data[len(MAGIC) : _HEADER] != bytes([VERSION]):
        raise SnapshotError(f"snapshot version {data[len(MAGIC)]} is not {VERSION}")
    signature, body = data[_HEADER : _HEADER + _DIGEST], data[_HEADER + _DIGEST :]
    if not hmac.compare_digest(signature, hmac.digest(key, data[:_HEADER] + body, "sha256")):
        raise SnapshotError("snapshot signature does not match")
    # Signed by a worker holding the key, so the pickle is our own.
    stored_shard, watermark, loaded_at, matcher, routes = pickle.loads(zlib.decompress(body))  # noqa: S301
    if stored_shard != shard:
        raise SnapshotError(f"snapshot of shard {stored_shard}, not {shard}")
    return Snapshot(stored_shard, watermark, loaded_at, matcher, routes)
