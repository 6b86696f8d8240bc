"""Index snapshots: a cold worker loads exactly the index a warm one wrote, and nothing else."""

from __future__ import annotations

import io
import os
import zlib

import pytest

from jobalerts import snapshot
from jobalerts.matcher import Matcher
from jobalerts.matching import SearchRoute
from jobalerts.models import Channel, Frequency
from jobalerts.snapshot import Snapshot, SnapshotError

KEY = b"k" * 32
POSTS = [
    "Senior Python engineer, remote",
    "#golang developer in Berlin",
    "Data engineer: python, spark, remote-first",
    "C++ and rust, Munich, senior",
    "nothing here",
]


def warm_matcher() -> Matcher:
    """Every kind of structure: a big group (a set past 32 ids), checks, fan-out, a fallback."""
    matcher = Matcher()
    for number in range(40):
        matcher.add(f"big{number}", "python remote")
    matcher.add("pair", "golang berlin")
    matcher.add("check", '"data engineer" python -junior')
    for number, place in enumerate(["remote", "berlin", "munich", "paris", "rome"] * 2):
        matcher.add(f"fan{number}", f"(senior OR lead) (python OR rust) ({place} OR eu{number})")
    matcher.add("wide", "(a OR b OR c) (d OR e OR f) (g OR h OR i) (senior OR j OR c++)")
    matcher.match("")
    return matcher


def test_a_loaded_snapshot_matches_and_changes_like_the_index_it_was_taken_from() -> None:
    # Given a warm index written as a snapshot
    warm = warm_matcher()
    routes = {"pair": SearchRoute("sub-1", Channel.EMAIL, Frequency.DAILY)}
    data = snapshot.dump(Snapshot("0", "2026-01-01T00:00:00+00:00", 100.0, warm, routes), KEY)
    # When a cold worker loads it
    cold = snapshot.load(data, KEY, "0")
    # Then it carries the watermark and routes, and finds what the warm index finds
    assert (cold.watermark, cold.loaded_at, cold.routes) == (
        "2026-01-01T00:00:00+00:00",
        100.0,
        routes,
    )
    assert [cold.matcher.match(text) for text in POSTS] == [warm.match(text) for text in POSTS]
    assert "big3" in cold.matcher.match(POSTS[0])
    # and later changes apply to it as they would to the warm index
    for matcher in (warm, cold.matcher):
        matcher.remove("big3")
        matcher.remove("pair")
        matcher.add("new", "rust munich")
    assert [cold.matcher.match(text) for text in POSTS] == [warm.match(text) for text in POSTS]
    assert "big3" not in cold.matcher.match(POSTS[0])
    assert cold.matcher.match(POSTS[3]) >= {"new"}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "signature does not match"),
        (lambda data: b"XXXX" + data[4:], "not an index snapshot"),
        (lambda data: data[:4] + bytes([99]) + data[5:], "version 99"),
    ],
)
def test_bytes_a_worker_did_not_write_are_refused_before_unpickling(
    tamper: object, message: str
) -> None:
    data = snapshot.dump(Snapshot("0", None, 1.0, Matcher(), {}), KEY)
    assert callable(tamper)
    with pytest.raises(SnapshotError, match=message):
        snapshot.load(tamper(data), KEY, "0")


def test_another_key_or_another_shard_is_refused() -> None:
    data = snapshot.dump(Snapshot("1", None, 1.0, Matcher(), {}), KEY)
    with pytest.raises(SnapshotError, match="signature"):
        snapshot.load(data, b"another key", "1")
    with pytest.raises(SnapshotError, match="shard 1, not 0"):
        snapshot.load(data, KEY, "0")


def test_the_body_inflates_in_pieces_exactly_as_a_whole() -> None:
    # Given a compressed stream larger than one input chunk, of data that compresses well
    raw = b"".join(i.to_bytes(4, "big") * (i % 7 + 1) for i in range(400_000)) + os.urandom(3 << 20)
    compressed = zlib.compress(raw, 1)
    assert len(compressed) > 3 << 20
    # When it is read through the inflating stream in reads of various sizes
    stream = io.BufferedReader(snapshot._Inflating(memoryview(compressed)), buffer_size=1 << 16)
    pieces = [stream.read(size) for size in (1, 70_000, 5 << 20)]
    pieces.append(stream.read())
    # Then the bytes are the same, and the stream ends
    assert b"".join(pieces) == raw
    assert stream.read(1) == b""


def test_equal_routes_are_one_object_once_loaded() -> None:
    # Given a subscriber's two searches whose routes are equal but separate objects
    routes = {sid: SearchRoute("sub-1", Channel.EMAIL, Frequency.DAILY) for sid in ("s1", "s2")}
    routes["s3"] = SearchRoute("sub-2", Channel.SMS, Frequency.INSTANT)
    data = snapshot.dump(Snapshot("0", None, 1.0, Matcher(), routes), KEY)
    # When loaded, they are one object (a million searches, a tenth as many routes)
    loaded = snapshot.load(data, KEY, "0").routes
    assert loaded == routes
    assert loaded["s1"] is loaded["s2"]
    assert loaded["s3"] is not loaded["s1"]
