"""`jobalerts simulate`, short: a few dozen subscribers at fault rate 0.1, nothing lost or repeated.

The same run as `make chaos`, smaller: real handlers on moto, faults inside botocore's retries,
the clock moved past every window and TTL. A lost job or an unexplained duplicate fails it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jobalerts.matching import LiveIndex, SearchRoute
from jobalerts.models import Post
from jobalerts_local.simulate import load_posts, load_subscribers, simulate
from jobalerts_local.workload import generate


@pytest.fixture
def workload(tmp_path: Path) -> tuple[Path, Path]:
    people, posts = generate(seed=11, subscribers=30, posts=150, hours=2)
    subscribers, post_file = tmp_path / "s.jsonl", tmp_path / "p.jsonl"
    subscribers.write_text("".join(json.dumps(p) + "\n" for p in people))
    post_file.write_text("".join(json.dumps(p) + "\n" for p in posts))
    return subscribers, post_file


@pytest.mark.timeout(900)
def test_nothing_is_lost_and_every_duplicate_comes_from_an_ambiguous_send(
    workload: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given a seeded workload of 30 subscribers and 150 posts, reposts and careers links included
    subscribers, posts = workload

    # When it runs through the whole pipeline with one AWS call attempt in ten faulted
    report = simulate(
        load_subscribers(subscribers), load_posts(posts), tmp_path / "out", faults=0.1, seed=3
    )

    # Then faults did happen, every person and search was taken, jobs were delivered, none was
    # lost and every duplicate has an ambiguous send behind it
    assert sum(report.faults.values()) > 0
    assert report.subscribers == 30
    assert report.refused_searches == 0
    assert report.expected > 0
    assert report.lost == 0, report.lost_samples
    assert report.duplicated == report.explained
    # And the outbox says who got what, once per line
    lines = (tmp_path / "out" / "deliveries.jsonl").read_text().splitlines()
    assert {"recipient", "channel", "post_id", "count"} <= json.loads(lines[0]).keys()


@pytest.mark.timeout(900)
def test_three_search_shards_under_faults_lose_nothing_and_repeat_nothing(
    workload: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same workload on a stack with SearchShards=3: shard 0 on the posts stream, the
    # fan-out on the stream too, shards 1 and 2 on their own queues (all from template.yaml)
    subscribers, posts = workload
    matched_by: Counter[str] = Counter()
    original = LiveIndex.match

    def recorded(index: LiveIndex, post: Post) -> dict[str, SearchRoute]:
        found = original(index, post)
        matched_by[index.shard] += len(found)
        return found

    monkeypatch.setattr(LiveIndex, "match", recorded)

    # When it runs with one AWS call attempt in ten faulted, crashed fan-outs and shard
    # batches, and shard messages delivered twice included
    report = simulate(
        load_subscribers(subscribers),
        load_posts(posts),
        tmp_path / "out",
        faults=0.1,
        seed=3,
        shards=3,
    )

    # Then every shard's worker matched its own searches, and still nothing was lost and every
    # duplicate has an ambiguous send behind it
    assert set(matched_by) == {"0", "1", "2"}
    assert all(matched_by[shard] > 0 for shard in ("1", "2")), matched_by
    assert sum(report.faults.values()) > 0
    assert report.refused_searches == 0
    assert report.expected > 0
    assert report.lost == 0, report.lost_samples
    assert report.duplicated == report.explained
