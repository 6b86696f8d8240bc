"""Turn the active saved searches into as few X recent-search queries as possible.

X bills every post it returns, so the plan reads only posts some search could match: for each
search, a set of terms one of which every matching post must contain (its "cover", taken from
the query AST), unioned over all searches, packed into OR groups of at most 512 characters and
ANDed with a global job filter. A search with no cover (only negations or `lang:`) falls back to
the global filter alone, which then subsumes every term query. `from:` handles get their own
queries without the job filter: following an employer's account means all of its posts.

The plan is cached in the State table with the newest `updated_at` it saw and rebuilt when any
search changed since (one Query per shard on the searches index; never a table scan).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from jobalerts import query as q
from jobalerts.models import SearchStatus
from jobalerts.observability import logger

if TYPE_CHECKING:
    from jobalerts.store.searches import SearchesRepository
    from jobalerts.store.state import StateRepository

MAX_X_QUERY = 512
NOT_RETWEET = "-is:retweet"
JOB_WORDS = (
    "hiring",
    "#hiring",
    "#jobopening",
    "#nowhiring",
    '"we\'re hiring"',
    "#job",
    "#jobs",
    "vacancy",
    '"apply now"',
    '"job opening"',
)
JOB_FILTER = "(" + " OR ".join(JOB_WORDS) + ")"
GLOBAL_QUERY = f"{JOB_FILTER} {NOT_RETWEET}"
PLAN_PK = "plan"
# DynamoDB items stop at 400 KB; a plan bigger than this is rebuilt each run instead of cached.
MAX_CACHED_PLAN_BYTES = 300_000

_PLAIN = re.compile(r"[a-z0-9_]+")
_X_HANDLE = re.compile(r"[a-z0-9_]{1,15}")
_RESERVED = {"or", "and", "not"}

Cover = frozenset[str] | None
"""Atoms (X syntax) one of which every matching post contains; None = cannot narrow;
an empty set = the search can never match a post on X (e.g. it names a Mastodon handle)."""


@dataclass(frozen=True)
class Plan:
    queries: list[str]
    searches: int = 0
    narrow: int = 0
    fallback: int = 0
    atoms: list[str] = field(default_factory=list)
    max_updated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            queries=list(data.get("queries", [])),
            searches=int(data.get("searches", 0)),
            narrow=int(data.get("narrow", 0)),
            fallback=int(data.get("fallback", 0)),
            atoms=list(data.get("atoms", [])),
            max_updated_at=data.get("max_updated_at"),
        )


def default_rate(atom: str) -> float:
    """Guessed share of job posts containing `atom`; only ranks choices, see bench/planner.py."""
    if atom.startswith('"') and " " in atom:
        return 0.002
    if atom.startswith(("#", "@")):
        return 0.005
    return 0.01


def x_atom(term: str) -> Cover:
    """One AST term in X query syntax."""
    if term.startswith("lang:"):
        return None
    if term.startswith(("from:", "@")):
        handle = term.split(":", 1)[1] if term.startswith("from:") else term[1:]
        if not _X_HANDLE.fullmatch(handle):
            return frozenset()
        return frozenset({f"from:{handle}" if term.startswith("from:") else f"@{handle}"})
    if term.startswith("#"):
        tag = term[1:]
        return frozenset({term if _PLAIN.fullmatch(tag) else f'"{tag}"'})
    if _PLAIN.fullmatch(term) and term not in _RESERVED:
        return frozenset({term})
    return frozenset({'"' + term.replace('"', "") + '"'})


def cover(node: q.Query, rate: Callable[[str], float] = default_rate) -> Cover:
    if isinstance(node, q.Term):
        return x_atom(node.value)
    if isinstance(node, q.Phrase):
        words = " ".join(w.lstrip("#") for w in node.words).replace('"', "")
        return frozenset({f'"{words}"'})
    if isinstance(node, q.Not):
        return None
    if isinstance(node, q.Or):
        union: set[str] = set()
        for child in node.children:
            found = cover(child, rate)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    options = [c for c in (cover(child, rate) for child in node.children) if c is not None]
    if not options:
        return None
    # Any one required child narrows enough; the rarest (by estimated reads) reads least.
    return min(options, key=lambda c: (sum(rate(a) for a in c), len(c), sorted(c)))


def pack(atoms: Iterable[str], suffix: str) -> list[str]:
    """OR-groups of atoms, each query `(a OR b ...) suffix` within X's 512 characters."""
    queries: list[str] = []
    group: list[str] = []
    for atom in atoms:
        candidate = [*group, atom]
        if group and len(_query(candidate, suffix)) > MAX_X_QUERY:
            queries.append(_query(group, suffix))
            candidate = [atom]
        group = candidate
    if group:
        queries.append(_query(group, suffix))
    return queries


def _query(group: list[str], suffix: str) -> str:
    return f"({' OR '.join(group)}) {suffix}"


def plan_queries(
    texts: Iterable[str],
    *,
    rate: Callable[[str], float] = default_rate,
    max_updated_at: str | None = None,
) -> Plan:
    """The plan for these saved-search texts; unparseable ones are skipped (already rejected
    when saved, so this only happens if the language changed under a stored search)."""
    terms: set[str] = set()
    authors: set[str] = set()
    searches = narrow = fallback = 0
    for text in texts:
        searches += 1
        try:
            found = cover(q.parse(text), rate)
        except q.QuerySyntaxError:
            logger.warning("planner skipped an unparseable search")
            continue
        if found is None:
            fallback += 1
            continue
        narrow += 1
        for atom in found:
            (authors if atom.startswith("from:") else terms).add(atom)
    queries = pack(sorted(authors), NOT_RETWEET)
    if fallback:
        queries.append(GLOBAL_QUERY)
    else:
        queries = pack(sorted(terms), f"{JOB_FILTER} {NOT_RETWEET}") + queries
    return Plan(
        queries=queries,
        searches=searches,
        narrow=narrow,
        fallback=fallback,
        atoms=sorted(terms | authors),
        max_updated_at=max_updated_at,
    )


def estimate_reads_per_day(
    plan: Plan,
    *,
    job_posts_per_day: float,
    posts_per_author_per_day: float = 5.0,
    rate: Callable[[str], float] = default_rate,
) -> float:
    """Posts X would bill per day: term queries read the union of their atoms' job posts."""
    author_reads = sum(posts_per_author_per_day for a in plan.atoms if a.startswith("from:"))
    if plan.fallback:
        return job_posts_per_day + author_reads
    miss = sum(math.log1p(-min(rate(a), 0.999)) for a in plan.atoms if not a.startswith("from:"))
    return job_posts_per_day * (1 - math.exp(miss)) + author_reads


class QueryPlanner:
    """The cached plan for the current searches; `current()` replans only after a change."""

    def __init__(
        self, searches: SearchesRepository, state: StateRepository, shards: int = 1
    ) -> None:
        self.searches = searches
        self.state = state
        self.shards = shards

    def current(self) -> Plan:
        cached = self.state.get(PLAN_PK, "x")
        if cached is not None and "value" in cached:
            plan = Plan.from_json(cached["value"])
            if not self._changed_since(plan.max_updated_at):
                return plan
        plan = self.replan()
        logger.info(
            "x query plan rebuilt",
            queries=len(plan.queries),
            searches=plan.searches,
            fallback=plan.fallback,
            atoms=len(plan.atoms),
        )
        return plan

    def replan(self) -> Plan:
        texts: list[str] = []
        newest: str | None = None
        for shard in range(self.shards):
            for search in self.searches.changes_since(str(shard), None):
                newest = max(newest or "", search.updated_at)
                if search.status is SearchStatus.ACTIVE:
                    texts.append(search.query)
        plan = plan_queries(texts, max_updated_at=newest)
        value = plan.to_json()
        if len(repr(value)) <= MAX_CACHED_PLAN_BYTES:
            self.state.put(PLAN_PK, "x", {"value": value})
        else:
            logger.warning("x query plan too large to cache", atoms=len(plan.atoms))
        return plan

    def _changed_since(self, since: str | None) -> bool:
        if since is None:
            return True
        return any(
            next(iter(self.searches.changes_since(str(shard), since)), None) is not None
            for shard in range(self.shards)
        )
