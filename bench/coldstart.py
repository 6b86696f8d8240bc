"""Cold start of a match worker: from a new process to an index ready to match.

Two ways to a ready index, in the same run:

- rebuild: what a cold worker without a snapshot does after reading its shard from the
  `shard-updated-index`: parse, compile and file every saved search (the GSI read itself is not
  timed here; it only adds to this side);
- snapshot: a new Python process reads the snapshot a warm worker wrote (`jobalerts.snapshot`),
  checks its signature, loads it, catches up on the searches changed since (1% of them, applied
  as the GSI read would apply them) and matches a first post.

    .venv/bin/python -m bench.coldstart             # 100k saved searches
    .venv/bin/python -m bench.coldstart --million   # and 1M
    .venv/bin/python -m bench.coldstart --quick     # 5k, a sanity run
    BENCH_MILLION=1 make bench                      # every bench, and this one at 1M too

The snapshot side runs in a child process so that its figures are those of a cold start: CPU
seconds of the child (user + system, interpreter start and imports included), its wall time,
and its peak resident memory (ru_maxrss). Rates elsewhere in bench/ are per CPU second for the
same reason: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.match import Vocabulary, make_searches
from jobalerts import snapshot
from jobalerts.matcher import Matcher
from jobalerts.matching import SearchRoute
from jobalerts.models import Channel, Frequency
from jobalerts_local.template import load_template

cpu_seconds = time.process_time
KEY = b"bench-only snapshot key, 32 byte"
CHANGED_SHARE = 0.01  # searches changed between the snapshot and the cold start
SEARCHES_PER_SUBSCRIBER = 10
# The goals; the memory goal is the match function's MemorySize in template.yaml.
GOAL_SECONDS = {100_000: 5.0, 1_000_000: 30.0}


def function_memory_mb() -> int:
    template = load_template()
    match = template["Resources"]["MatchFunction"]["Properties"]
    return int(match.get("MemorySize") or template["Globals"]["Function"]["MemorySize"])


FUNCTION_MEMORY_MB = function_memory_mb()

CHILD = """
import json, sys, time
clock = time.process_time  # CPU seconds: the machine is shared, wall time is not ours alone
started = clock()
from jobalerts import snapshot
from jobalerts.matching import SearchRoute
from jobalerts.models import Channel, Frequency
from jobalerts_local.template import load_template
imported = clock()
path, key, changes_path = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
data = open(path, "rb").read()
read = clock()
loaded = snapshot.load(data, key, "0")
restored = clock()
route = SearchRoute("changed", Channel.EMAIL, Frequency.DAILY)
for search_id, query in json.load(open(changes_path)):
    loaded.matcher.add(search_id, query)
    loaded.routes[search_id] = route
found = loaded.matcher.match("Senior Python engineer, remote, Berlin #hiring")
ready = clock()
print(json.dumps({"import": imported - started, "read": read - imported,
    "load": restored - read, "catch_up": ready - restored, "matches": len(found)}))
"""


def build(searches: list[tuple[str, str]]) -> tuple[Matcher, dict[str, SearchRoute]]:
    matcher = Matcher()
    routes: dict[str, SearchRoute] = {}
    channels, frequencies = list(Channel), list(Frequency)
    for number, (search_id, query) in enumerate(searches):
        matcher.add(search_id, query)
        subscriber = number // SEARCHES_PER_SUBSCRIBER
        routes[search_id] = SearchRoute(
            f"sub{subscriber:07d}",
            channels[subscriber % len(channels)],
            frequencies[subscriber % len(frequencies)],
        )
    matcher.match("")
    return matcher, routes


def run_size(count: int, vocab: Vocabulary, rng: random.Random) -> list[str]:
    searches = make_searches(vocab, rng, count)
    print(f"\n{count:,} saved searches", flush=True)
    started = cpu_seconds()
    matcher, routes = build(searches)
    rebuild = cpu_seconds() - started
    print(f"  rebuild (parse, compile, file)     {rebuild:8.1f} s CPU", flush=True)
    started = cpu_seconds()
    data = snapshot.dump(snapshot.Snapshot("0", "2026-01-01T00:00:00", 0.0, matcher, routes), KEY)
    dumped = cpu_seconds() - started
    print(
        f"  snapshot written by the warm worker {dumped:7.1f} s CPU, {len(data) / 1e6:,.1f} MB"
        f" ({len(data) / count:,.0f} B per search)",
        flush=True,
    )
    del matcher, routes
    changed = [
        (f"c{number:07d}", query)
        for number, (_, query) in enumerate(make_searches(vocab, rng, int(count * CHANGED_SHARE)))
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "index.snapshot")
        path.write_bytes(data)
        changes = Path(folder, "changes.json")
        changes.write_text(json.dumps(changed), encoding="utf-8")
        del data
        cpu, wall, peak_mb, steps = _cold_start(path, changes)
    print(
        f"  cold start from the snapshot       {cpu:8.1f} s CPU, {wall:.1f} s wall,"
        f" peak {peak_mb:,.0f} MB resident",
        flush=True,
    )
    print(
        "    "
        + ", ".join(
            f"{name} {seconds:.2f}s" for name, seconds in steps.items() if name != "matches"
        )
        + f" (CPU; catch-up adds {len(changed):,} changed searches and matches a post)",
        flush=True,
    )
    print(f"  rebuild / snapshot                 {rebuild / cpu:8.1f}x", flush=True)
    goal = GOAL_SECONDS.get(count)
    if goal is None:
        print("  goals: stated for 100,000 and 1,000,000 searches, not this size")
        return []
    targets = [
        (f"cold start at most {goal:g} s (CPU)", cpu <= goal),
        (
            f"peak memory within the function's {FUNCTION_MEMORY_MB} MB",
            peak_mb <= FUNCTION_MEMORY_MB,
        ),
    ]
    for name, met in targets:
        print(f"  target: {name:<50} {'met' if met else 'MISSED'}")
    return [name for name, met in targets if not met]


def _cold_start(path: Path, changes: Path) -> tuple[float, float, float, dict[str, float]]:
    """(CPU seconds, wall seconds, peak resident MB, CPU seconds per step) of a cold worker."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, str(path), KEY.decode(), str(changes)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, in KiB on Linux.
    return cpu, wall, after.ru_maxrss / 1024, json.loads(done.stdout)


def main(argv: list[str]) -> int:
    """Run the sizes asked for; 1 if a goal was missed. Ignores flags meant for other modules."""
    parser = argparse.ArgumentParser(
        prog="bench.coldstart", description=__doc__, allow_abbrev=False
    )
    parser.add_argument("--million", action="store_true", help="also 1M saved searches")
    parser.add_argument("--quick", action="store_true", help="5k searches, a sanity run")
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)
    million = args.million or os.environ.get("BENCH_MILLION", "") not in ("", "0")
    sizes = [5_000] if args.quick else [100_000] + ([1_000_000] if million else [])
    rng = random.Random(args.seed)
    vocab = Vocabulary.build(rng, 2.7)
    missed: list[str] = []
    for count in sizes:
        missed += [f"{count:,} searches: {name}" for name in run_size(count, vocab, rng)]
    if missed:
        print("\nmissed goals:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
