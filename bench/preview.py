"""Search previews at 50,000 recent posts: warm latency, and read cost per request.

On the moto stack provisioned from template.yaml, the posts of the last 7 days are written to
the previews' window (`jobalerts.preview.remember`, one chunk per stream batch of 100, as the
match function writes them) and those some preview will show to the posts table. Then, in the
same run:

- window: `RecentWindow.preview` of a mix of saved searches, warm (after one cold refresh):
  the Query of today's partition for new chunks, the in-memory evaluation, and the BatchGetItem
  of the 10 newest matches; per request, wall time and this thread's CPU time (p50, p95);
- baseline: what a preview without the window costs: a Scan of the posts table (its read
  units computed from the items' sizes) and an evaluate-every-post loop over those 50,000 posts
  with the reference evaluator (its time measured with the posts already in memory, so the
  scan's own time is not even counted).

The goal is a warm p95 of at most 300 ms. It is checked on CPU time (the run exits 1 when the
CPU-time p95 misses it): wall time is printed too, but on a shared machine it mostly measures
the other processes (in one run on a shared two-core box the bench got a ninth of a core and its
wall-time p95 was 8 times its CPU-time p95). Both include moto handling the two requests in
this thread (its response serializer alone is about half of a warm request), which stands in
for DynamoDB's own few milliseconds over the network.

Read units follow DynamoDB's rules for eventually consistent reads: a Query or Scan costs 0.5
RCU per 4 KB of the items it returns, summed (at least 0.5); BatchGetItem 0.5 per item, each
rounded up to 4 KB. Item sizes are attribute names plus values, as DynamoDB counts them.

    .venv/bin/python -m bench.preview               # 50,000 posts (the goal: p95 <= 300 ms)
    .venv/bin/python -m bench.preview --quick       # 5,000 posts, a sanity run
    .venv/bin/python -m bench.preview --profile     # and cProfile the warm requests
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bench.match import Vocabulary, make_posts, make_searches
from jobalerts.models import Post
from jobalerts.query import document, evaluate, parse

GOAL_P95_MS = 300.0
POSTS = 50_000
QUERIES = 200
BATCH = 100
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def item_size(item: dict[str, Any]) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, bytes | bytearray):
            size += len(value)
        elif hasattr(value, "value") and isinstance(value.value, bytes):
            size += len(value.value)
        elif isinstance(value, int | float | Decimal):
            size += 8
        elif isinstance(value, list | dict):
            size += len(str(value).encode())
        else:
            size += len(str(value).encode())
    return size


def read_units(total_bytes: int) -> float:
    """Query/Scan, eventually consistent: 0.5 RCU per 4 KB of what is returned, at least 0.5."""
    return max(0.5, math.ceil(total_bytes / 4096) * 0.5)


def batch_units(sizes: list[int]) -> float:
    return sum(math.ceil(max(size, 1) / 4096) * 0.5 for size in sizes)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _posts(count: int, seed: int) -> list[Post]:
    rng = random.Random(seed)
    vocab = Vocabulary.build(rng, 2.7)
    spread = timedelta(days=7).total_seconds()
    return [
        Post(
            id=f"x#{made.id}",
            source="x",
            author_handle=made.author,
            text=made.text,
            url=f"https://x.com/{made.author}/status/{made.id}",
            lang=made.lang,
            created_at=NOW - timedelta(seconds=rng.random() * spread),
        )
        for made in make_posts(vocab, rng, count)
    ]


def _queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    vocab = Vocabulary.build(random.Random(seed), 2.7)
    return [query for _, query in make_searches(vocab, rng, count)]


def run(posts_count: int, queries_count: int, seed: int, profile: bool = False) -> bool:
    from moto import mock_aws

    from jobalerts.observability import logger
    from jobalerts.preview import RecentWindow, remember
    from jobalerts.recent import RecentIndex, Summary
    from jobalerts.store.posts import PostsRepository, post_to_item
    from jobalerts.store.recent import RecentPostsRepository
    from jobalerts.store.tables import open_table
    from jobalerts_local.runtime import apply_environment
    from jobalerts_local.template import provision

    logger.setLevel("WARNING")  # one line per preview would drown the figures
    posts = _posts(posts_count, seed)
    queries = _queries(queries_count, seed)
    with mock_aws():
        apply_environment(provision(parameters={"PublicBaseUrl": "http://bench.test"}))
        from jobalerts_local.settings import get_settings

        get_settings.cache_clear()
        settings = get_settings()
        repository = RecentPostsRepository(open_table(settings.state_table))
        store = PostsRepository(open_table(settings.posts_table), ttl_days=settings.post_ttl_days)
        items = [post_to_item(post, 7) for post in posts]
        sizes = {str(item["post_id"]): item_size(item) for item in items}
        # Only the posts some preview will fetch are written to moto's posts table (writing all
        # 50,000 into moto takes minutes and changes nothing a BatchGetItem of 10 ids does);
        # the baseline's Scan is costed from every item's size.
        probe = RecentIndex()
        probe.add(Summary.of(post) for post in posts)
        utc = ZoneInfo("UTC")
        wanted = {i for text in queries for i in probe.preview(parse(text), NOW, utc).newest}
        with store.table.batch_writer() as writer:
            for item in items:
                if item["post_id"] in wanted:
                    writer.put_item(Item=item)
        # The match function appends each stream batch (up to 100 posts) as it arrives, a little
        # after the posts were written: here batches of 100 in time order, arriving 30 s after
        # their newest post.
        by_time = sorted(posts, key=lambda p: p.created_at)
        for start in range(0, len(by_time), BATCH):
            batch = by_time[start : start + BATCH]
            arrived = min(NOW, batch[-1].created_at + timedelta(seconds=30))
            remember(repository, batch, arrived)

        # Every byte the window's Queries return, for their read units.
        returned: list[int] = []
        reads = repository.chunks

        def counted(day: str, after: str | None = None, now: datetime | None = None) -> Any:
            chunks = reads(day, after, now)
            returned.append(sum(len(c.data) + 90 for c in chunks))  # + keys and names
            return chunks

        repository.chunks = counted  # type: ignore[method-assign]
        # max_age 0: every preview asks for new chunks (the worst case; the service's default
        # shares one look among the previews of 30 seconds).
        window = RecentWindow(repository, store, clock=lambda: NOW, max_age=timedelta(0))
        started = time.perf_counter()
        window.refresh(NOW)
        cold_ms = (time.perf_counter() - started) * 1000
        cold_units = sum(read_units(size) for size in returned)
        chunk_bytes = sum(returned)
        returned_cold = list(returned)

        window_ms: list[float] = []
        window_cpu_ms: list[float] = []
        window_units: list[float] = []
        for text in queries:
            returned.clear()
            started, cpu = time.perf_counter(), time.thread_time()
            result = window.preview(text, now=NOW)
            window_cpu_ms.append((time.thread_time() - cpu) * 1000)
            window_ms.append((time.perf_counter() - started) * 1000)
            # Warm: the Query of today's partition (the overlap only), then the newest matches.
            query_units = sum(read_units(size) for size in returned)
            window_units.append(query_units + batch_units([sizes[p.id] for p in result.posts]))

        # The in-memory part alone (what the window adds to the two requests).
        zone = ZoneInfo("UTC")
        evaluate_ms: list[float] = []
        evaluate_cpu_ms: list[float] = []
        for text in queries:
            started, cpu = time.perf_counter(), time.thread_time()
            window.index.preview(parse(text), NOW, zone)
            evaluate_cpu_ms.append((time.thread_time() - cpu) * 1000)
            evaluate_ms.append((time.perf_counter() - started) * 1000)
        if profile:
            _profile(window, queries)

        documents = [(post, document(post.text, post.author_handle, post.lang)) for post in posts]
        oldest = NOW - timedelta(days=7)
        naive_ms: list[float] = []
        for text in queries[: max(10, len(queries) // 10)]:
            started = time.perf_counter()
            parsed = parse(text)
            matched = [
                p for p, doc in documents if p.created_at >= oldest and evaluate(parsed, doc)
            ]
            matched.sort(key=lambda p: p.created_at, reverse=True)
            naive_ms.append((time.perf_counter() - started) * 1000)
        scan_units = read_units(sum(sizes.values()))

    p50, p95 = percentile(window_ms, 0.5), percentile(window_ms, 0.95)
    cpu_p50, cpu_p95 = percentile(window_cpu_ms, 0.5), percentile(window_cpu_ms, 0.95)
    load = os.getloadavg()[0]
    naive_p95 = percentile(naive_ms, 0.95)
    warm_units = statistics.mean(window_units)
    print(
        f"posts in the window: {posts_count:,}; queries: {len(queries)} (bench.match's mix); "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    print(
        f"window:   warm CPU time p50 {cpu_p50:6.1f} ms, p95 {cpu_p95:6.1f} ms "
        f"(goal: p95 <= {GOAL_P95_MS:.0f} ms); wall time p50 {p50:6.1f} ms, p95 {p95:6.1f} ms"
    )
    print(
        f"          of which the in-memory evaluation: CPU p50 "
        f"{percentile(evaluate_cpu_ms, 0.5):.2f} ms, p95 {percentile(evaluate_cpu_ms, 0.95):.2f} ms "
        f"(wall p50 {percentile(evaluate_ms, 0.5):.2f} ms, "
        f"p95 {percentile(evaluate_ms, 0.95):.2f} ms); the rest is moto answering the two requests"
    )
    print(
        f"          cold refresh {cold_ms:,.0f} ms reading {chunk_bytes / 1e6:.1f} MB "
        f"in {len(returned_cold)} Queries ({cold_units:,.0f} RCU once per cold worker)"
    )
    print(
        f"          read cost per warm request: 1 Query + 1 BatchGetItem, "
        f"{warm_units:.1f} RCU on average (max {max(window_units):.1f})"
    )
    print(
        f"baseline: evaluate-every-post p95 {naive_p95:6.1f} ms after a posts-table Scan of "
        f"{scan_units:,.0f} RCU ({math.ceil(sum(sizes.values()) / 1_048_576)}+ Scan pages)"
    )
    print(
        f"ratio:    {naive_p95 / p95:.1f}x faster at p95 (wall), "
        f"{scan_units / warm_units:,.0f}x fewer read units per request than the baseline"
    )
    met = cpu_p95 <= GOAL_P95_MS
    print(
        f"goal:     CPU-time p95 {cpu_p95:.1f} ms {'meets' if met else 'MISSES'} "
        f"{GOAL_P95_MS:.0f} ms; wall-time p95 {p95:.1f} ms "
        f"{'meets' if p95 <= GOAL_P95_MS else 'misses'} it at load average {load:.1f}"
    )
    return met


def _profile(window: Any, queries: list[str]) -> None:
    """Where a warm request's time goes: cProfile over the mix, again (parsed queries cached)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for text in queries:
        window.preview(text, now=NOW)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.preview", description=__doc__, allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="5,000 posts, 50 queries")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true", help="cProfile the warm requests")
    args, _ = parser.parse_known_args(argv)
    posts, queries = (5_000, 50) if args.quick else (POSTS, QUERIES)
    met = run(posts, queries, args.seed, args.profile)
    if not met and not args.quick:
        print("preview: the p95 goal (CPU time) was missed")
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
