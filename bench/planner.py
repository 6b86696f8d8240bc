"""X query planner: queries per run, reads and dollars per month, against two baselines.

The saved searches and job posts are bench/match.py's synthetic ones (Zipf vocabularies of
titles, skills, places, tags and company accounts). Reads are measured on a sample of posts and
scaled to an assumed daily volume of job posts on X:

- planned: the planner's queries; a post is read once if it contains any planned atom (term
  queries are ANDed with the job filter), plus every post of the `from:` accounts;
- naive: one X query per saved search; X bills a post once per query that returns it, so a
  post is read as many times as searches match it, and every search is one request per poll;
- wholesale: read every post of the job hashtags/words (#hiring, #jobs, ...) and match locally.

    .venv/bin/python -m bench.planner                 # 10k and 100k saved searches
    .venv/bin/python -m bench.planner --sizes 1000    # quicker

Assumptions (documented in docs/sources.md): X bills $0.005 per post read; polling every 5
minutes (288 runs a day, 30-day month); 200,000 job posts a day on X pass the global job filter
(`--job-posts-per-day`); a company account posts 10 times a day, jobs or not; the app may send
450 recent-search requests per 15 minutes; X caps reads at 3M a month.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.match import Vocabulary, make_posts, make_searches
from jobalerts.matcher import Matcher
from jobalerts.query import Document, document
from jobalerts.sources.planner import Plan, plan_queries

DOLLARS_PER_READ = 0.005
RUNS_PER_DAY = 24 * 60 // 5
DAYS_PER_MONTH = 30
REQUESTS_PER_15_MIN = 450
MONTHLY_READ_CAP = 3_000_000
POSTS_PER_ACCOUNT_PER_DAY = 10.0
PAGE_SIZE = 100


@dataclass
class Cost:
    name: str
    queries: int
    reads_per_day: float

    @property
    def reads_per_run(self) -> float:
        return self.reads_per_day / RUNS_PER_DAY

    @property
    def requests_per_15_min(self) -> float:
        pages = max(self.queries, math.ceil(self.reads_per_run / PAGE_SIZE))
        return 3 * pages

    @property
    def reads_per_month(self) -> float:
        return self.reads_per_day * DAYS_PER_MONTH

    @property
    def dollars_per_month(self) -> float:
        return self.reads_per_month * DOLLARS_PER_READ

    def row(self) -> str:
        feasible = "yes" if self.requests_per_15_min <= REQUESTS_PER_15_MIN else "NO"
        capped = "yes" if self.reads_per_month <= MONTHLY_READ_CAP else "NO"
        return (
            f"  {self.name:<10} {self.queries:>8,} {self.reads_per_run:>10,.0f} "
            f"{self.reads_per_month:>14,.0f} {self.dollars_per_month:>12,.0f} "
            f"{self.requests_per_15_min:>10,.0f} {feasible:>6} {capped:>6}"
        )


def atom_in(atom: str, doc: Document) -> bool:
    """Whether X would return this post for this atom (same folding as the matcher)."""
    if atom.startswith('"'):
        words = atom.strip('"').split()
        if len(words) == 1:
            return words[0] in doc.terms
        return f"{words[0]} {words[1]}" in doc.terms and doc.has_phrase(tuple(words))
    return atom in doc.terms


def planned_cost(
    plan: Plan, docs: list[Document], on_topic_per_day: float, job_posts_per_day: float
) -> Cost:
    accounts = [c for c in plan.clauses if len(c) == 1 and c[0].startswith("from:")]
    singles = {c[0].strip('"') for c in plan.clauses if len(c) == 1 and " " not in c[0]}
    singles -= {c[0] for c in accounts}
    others = [c for c in plan.clauses if len(c) > 1 or " " in c[0]]
    if plan.fallback:
        return Cost("planned", len(plan.queries), job_posts_per_day)
    covered = sum(
        1
        for doc in docs
        if not singles.isdisjoint(doc.terms)
        or any(all(atom_in(a, doc) for a in clause) for clause in others)
    )
    # Account queries have no job filter: every post of those accounts is read.
    account_reads = len(accounts) * POSTS_PER_ACCOUNT_PER_DAY
    return Cost(
        "planned", len(plan.queries), on_topic_per_day * covered / len(docs) + account_reads
    )


def naive_and_ideal(
    searches: list[tuple[str, str]], docs: list[Document], on_topic_per_day: float
) -> tuple[Cost, Cost]:
    """Naive: a post is billed once per search it matches. Ideal: once if any search wants it,
    the floor for any plan (an oracle, not a plan: X cannot express every search exactly)."""
    matcher = Matcher()
    for search_id, text in searches:
        matcher.add(search_id, text)
    counts = [len(matcher.match_document(doc)) for doc in docs]
    naive = Cost("naive", len(searches), on_topic_per_day * sum(counts) / len(docs))
    wanted = sum(1 for c in counts if c)
    return naive, Cost("ideal", 0, on_topic_per_day * wanted / len(docs))


def wholesale_cost(job_posts_per_day: float) -> Cost:
    return Cost("wholesale", 1, job_posts_per_day)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.planner", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--posts", type=int, default=10_000, help="sample of job posts")
    parser.add_argument("--job-posts-per-day", type=float, default=200_000.0)
    parser.add_argument(
        "--on-topic-share",
        type=float,
        default=0.3,
        help="share of X job posts in the searches' vocabulary (tech jobs); the rest (retail, "
        "trucking, spam...) contain none of the planned terms",
    )
    parser.add_argument("--seed", type=int, default=7)
    args, _ = parser.parse_known_args(argv)
    rng = random.Random(args.seed)
    vocab = Vocabulary.build(rng, offset=2.7)
    posts = make_posts(vocab, rng, args.posts)
    docs = [document(p.text, p.author, p.lang) for p in posts]
    volume = float(args.job_posts_per_day)
    on_topic = volume * args.on_topic_share
    print(
        f"X query planner: {args.posts:,} sampled job posts, {volume:,.0f} job posts/day assumed,"
        f" {args.on_topic_share:.0%} of them on topic, ${DOLLARS_PER_READ}/read,"
        " polling every 5 min"
    )
    for size in (int(s) for s in args.sizes.split(",") if s):
        searches = make_searches(vocab, rng, size)
        started = time.perf_counter()
        plan = plan_queries([text for _, text in searches])
        planning = time.perf_counter() - started
        planned = planned_cost(plan, docs, on_topic, volume)
        naive, ideal = naive_and_ideal(searches, docs, on_topic)
        wholesale = wholesale_cost(volume)
        print(
            f"\n{size:,} saved searches: {len(plan.queries)} X queries "
            f"({plan.narrow:,} narrowed, {plan.fallback:,} fallback, {len(plan.clauses):,} clauses,"
            f" {plan.relaxed} widening steps),"
            f" planned in {planning:.2f}s"
        )
        print(
            f"  {'plan':<10} {'queries':>8} {'reads/run':>10} {'reads/month':>14} "
            f"{'$/month':>12} {'req/15min':>10} {'fits':>6} {'cap':>6}"
        )
        for cost in (ideal, planned, naive, wholesale):
            print(cost.row())
        print(
            f"  ratios: naive/planned reads {naive.reads_per_day / planned.reads_per_day:.1f}x,"
            f" queries {naive.queries / planned.queries:,.0f}x;"
            f" wholesale/planned reads {wholesale.reads_per_day / planned.reads_per_day:.2f}x;"
            f" planned/ideal reads {planned.reads_per_day / max(ideal.reads_per_day, 1):.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
