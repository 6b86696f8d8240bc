"""`make chaos`: `jobalerts simulate` on one seeded workload at several fault rates, as a table.

Each rate runs in its own process (a fresh moto, fresh handler caches), all at once, as
`jobalerts simulate` would be run by hand; the table is built from the figures each run prints
on its last lines.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

RATES = ("0", "0.05", "0.2")
FIGURES = {
    "faults": r"^faults injected: (\d+)",
    "expected": r"^expected deliveries: (\d+)",
    "delivered": r"^delivered: (\d+)",
    "lost": r"^lost: (\d+)",
    "duplicated": r"^duplicated: (\d+)",
    "explained": r"^duplicates explained by an ambiguous send: (\d+)",
}


def figures(output: str) -> dict[str, str]:
    found = {}
    for name, pattern in FIGURES.items():
        match = re.search(pattern, output, re.MULTILINE)
        found[name] = match.group(1) if match else "?"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobalerts_local.chaos")
    parser.add_argument("--out", type=Path, default=Path("out/chaos"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rates", default=",".join(RATES))
    parser.add_argument("--shards", default="1", help="SearchShards of every run (1-4)")
    args = parser.parse_args(argv)
    command = [
        sys.executable,
        "-c",
        "import sys; from jobalerts_local.cli import main; sys.exit(main())",
    ]
    subscribers, posts = args.out / "subscribers.jsonl", args.out / "posts.jsonl"
    subprocess.run(  # noqa: S603 - our own command line
        [*command, "simulate-workload", "--subscribers", str(subscribers), "--posts",
         str(posts), "--people", str(args.people), "--count", str(args.posts),
         "--seed", str(args.seed)],
        check=True,
    )  # fmt: skip
    rows = []
    worst = 0
    # The rates run at once: each is one busy Python process, so a machine with a core per
    # rate finishes in the time of the slowest.
    runs = {}
    for rate in args.rates.split(","):
        runs[rate] = subprocess.Popen(  # noqa: S603 - our own command line
            [*command, "simulate", "--subscribers", str(subscribers), "--posts", str(posts),
             "--outbox", str(args.out / f"rate-{rate}"), "--faults", rate,
             "--seed", str(args.seed), "--shards", args.shards],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    for rate, run in runs.items():
        stdout, _ = run.communicate()
        print(stdout, end="", file=sys.stderr)
        worst = max(worst, run.returncode)
        rows.append({"rate": rate, **figures(stdout)})
    columns = ["rate", "faults", "expected", "delivered", "lost", "duplicated", "explained"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join(" ---: " for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")
    return worst


if __name__ == "__main__":
    sys.exit(main())
