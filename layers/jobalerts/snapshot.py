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

import gc
import hashlib
import hmac
import io
import pickle
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector while millions of objects are pickled or unpickled.

    Every 700 new container objects start a collection, and the older generations are walked
    again and again as the heap grows: with the collector on, unpickling a 100k index took 2.6x
    as long. Nothing built here is garbage, so the pause loses nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def dump(snapshot: Snapshot, key: bytes) -> bytes:
    # Searches of one subscriber mostly share a route: one object each in the snapshot, and so
    # in the cold worker's memory (pickle keeps shared objects shared).
    shared: dict[SearchRoute, SearchRoute] = {}
    routes = {sid: shared.setdefault(route, route) for sid, route in snapshot.routes.items()}
    with _no_cyclic_gc():
        state = (snapshot.shard, snapshot.watermark, snapshot.loaded_at, snapshot.matcher, routes)
        body = zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), _LEVEL)
    header = MAGIC + bytes([VERSION])
    return header + hmac.digest(key, header + body, "sha256") + body


def load(data: bytes, key: bytes, shard: str) -> Snapshot:
    """The snapshot in `data`; raises SnapshotError unless a key holder wrote it for `shard`."""
    if data[: len(MAGIC)] != MAGIC:
        raise SnapshotError("not an index snapshot")
    if data[len(MAGIC) : _HEADER] != bytes([VERSION]):
        raise SnapshotError(f"snapshot version {data[len(MAGIC)]} is not {VERSION}")
    # Views, not slices: at 1M searches each copy of the body would be another 40 MB.
    view = memoryview(data)
    signature, body = view[_HEADER : _HEADER + _DIGEST], view[_HEADER + _DIGEST :]
    mac = hmac.new(key, view[:_HEADER], "sha256")
    mac.update(body)
    if not hmac.compare_digest(signature, mac.digest()):
        raise SnapshotError("snapshot signature does not match")
    # Inflated as the unpickler reads it (frame by frame), so the decompressed pickle, four
    # times the snapshot, is never in memory at once next to the index being built from it.
    stream = io.BufferedReader(_Inflating(body), buffer_size=_CHUNK)
    with _no_cyclic_gc():
        # Signed by a worker holding the key, so the pickle is our own.
        state = pickle.load(stream)  # noqa: S301
    # The index lives as long as the worker: keep the collector from walking it ever again
    # (its objects are freed by reference counting when it is replaced; it holds no cycles).
    gc.freeze()
    stored_shard, watermark, loaded_at, matcher, routes = state
    if stored_shard != shard:
        raise SnapshotError(f"snapshot of shard {stored_shard}, not {shard}")
    return Snapshot(stored_shard, watermark, loaded_at, matcher, routes)


_CHUNK = 1 << 20


class _Inflating(io.RawIOBase):
    """A zlib stream read as a file, inflating at most what each read asks for."""

    def __init__(self, compressed: memoryview) -> None:
        self._source = compressed
        self._position = 0
        self._inflater = zlib.decompressobj()
        self._tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        while True:
            if self._tail:
                source: bytes | memoryview = self._tail
            elif self._position < len(self._source):
                source = self._source[self._position : self._position + _CHUNK]
                self._position += len(source)
            else:
                return 0
            out = self._inflater.decompress(source, size)
            self._tail = self._inflater.unconsumed_tail
            if out:
                buffer[: len(out)] = out
                return len(out)
