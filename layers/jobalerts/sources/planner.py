"""Turn the active saved searches into as few X recent-search queries as possible.

X bills every post it returns, so the plan reads only posts some search could match. From each
search's AST comes its "cover": clauses of one or two atoms (`python`, `(python berlin)`,
`"data engineer"`, `#nursing`) one of which every post it matches satisfies. The clauses of all
searches are unioned, implied ones dropped (`python` makes `(python berlin)` redundant), and
packed into OR-groups of at most 512 characters ANDed with a global job filter and
`-is:retweet`. When the groups would need more than `max_queries` queries (X allows 450
requests per 15 minutes), pairs are widened to single atoms, cheapest in estimated reads first.
A search with no cover (only negations or `lang:`) falls back to the global filter alone, which
then subsumes every term query. `from:` accounts get their own queries without the job filter:
following an employer's account means all of its posts.

The plan is cached in the State table with the newest `updated_at` it saw and rebuilt when any
search changed since (one Query per shard on the searches index; never a table scan).
"""

from __future__ import annotations

import math
import re
from collections import Counter
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
# DynamoDB items stop at 400 KB; a plan bigger than this is rebuilt each run instead of cached.
MAX_CACHED_PLAN_BYTES = 300_000

_PLAIN = re.compile(r"[a-z0-9_]+")
_X_HANDLE = re.compile(r"[a-z0-9_]{1,15}")
_RESERVED = {"or", "and", "not"}

Atoms = frozenset[str] | None
"""One AST term in X syntax (usually one atom); None = not narrow; empty = never on X."""
Clause = frozenset[str]
"""Atoms X must all find in a post: `python` or `(python berlin)`."""
Cover = frozenset[Clause] | None
"""Clauses one of which every post a search matches satisfies; None = cannot narrow; an empty
set = the search can never match a post on X (e.g. it names a Mastodon handle)."""

MAX_CLAUSE_ATOMS = 2
MAX_PRODUCT = 4
# For the logged estimate only: job posts a day on X passing the job filter (see docs/sources.md).
ASSUMED_JOB_POSTS_PER_DAY = 200_000.0
DEFAULT_MAX_QUERIES = 100  # 3 polls per 15 minutes stay within X's 450 requests per window


@dataclass(frozen=True)
class Plan:
    queries: list[str]
    searches: int = 0
    narrow: int = 0
    fallback: int = 0
    clauses: list[list[str]] = field(default_factory=list)
    relaxed: int = 0
    max_updated_at: str | None = None

    @property
    def atoms(self) -> list[str]:
        return sorted({atom for clause in self.clauses for atom in clause})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            queries=[str(x) for x in data.get("queries", [])],
            searches=int(data.get("searches", 0)),
            narrow=int(data.get("narrow", 0)),
            fallback=int(data.get("fallback", 0)),
            clauses=[[str(a) for a in c] for c in data.get("clauses", [])],
            relaxed=int(data.get("relaxed", 0)),
            max_updated_at=data.get("max_updated_at"),
        )


def default_rate(atom: str) -> float:
    """Guessed share of job posts containing `atom`; only ranks choices, see bench/planner.py."""
    if atom.startswith('"') and " " in atom:
        return 0.002
    if atom.startswith(("#", "@", "from:")):
        return 0.005
    return 0.01


def clause_rate(clause: Clause, rate: Callable[[str], float] = default_rate) -> float:
    return math.prod(rate(a) for a in clause)


def x_atom(term: str) -> Atoms:
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


def _singles(atoms: Atoms) -> Cover:
    return None if atoms is None else frozenset(frozenset({a}) for a in atoms)


def cover(node: q.Query, rate: Callable[[str], float] = default_rate) -> Cover:
    if isinstance(node, q.Term):
        return _singles(x_atom(node.value))
    if isinstance(node, q.Phrase):
        words = " ".join(w.lstrip("#") for w in node.words).replace('"', "")
        return frozenset({frozenset({f'"{words}"'})})
    if isinstance(node, q.Not):
        return None
    if isinstance(node, q.Or):
        union: set[Clause] = set()
        for child in node.children:
            found = cover(child, rate)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    options = [c for c in (cover(child, rate) for child in node.children) if c is not None]
    if not options:
        return None
    options.sort(key=lambda c: (sum(clause_rate(x, rate) for x in c), len(c), _key(c)))
    best = options[0]
    # Two required parts ANDed read far fewer posts than either alone ("python berlin").
    for second in options[1:]:
        if best and second and len(best) * len(second) <= MAX_PRODUCT:
            product = frozenset(a | b for a in best for b in second)
            if all(len(c) <= MAX_CLAUSE_ATOMS for c in product):
                return product
    return best


def _key(found: frozenset[Clause]) -> list[list[str]]:
    return sorted(sorted(c) for c in found)


def clause_text(clause: Clause) -> str:
    atoms = sorted(clause)
    return atoms[0] if len(atoms) == 1 else "(" + " ".join(atoms) + ")"


def absorb(clauses: Iterable[Clause]) -> set[Clause]:
    """Drop clauses implied by a smaller one: anything `(python berlin)` reads, `python` does."""
    unique = set(clauses)
    singles = {next(iter(c)) for c in unique if len(c) == 1}
    return {c for c in unique if len(c) == 1 or singles.isdisjoint(c)}


def relax(
    clauses: set[Clause], limit_chars: int, rate: Callable[[str], float] = default_rate
) -> tuple[set[Clause], int]:
    """Widen pairs to one of their atoms until the plan fits `limit_chars` of OR-groups.

    Each step widens every pair sharing the atom with the most pairs per unit of estimated
    reads: many searches on a rare tool cost little to read wholesale; `python` would not.
    """
    steps = 0
    size = {c: len(clause_text(c)) + 4 for c in clauses}
    total = sum(size.values())
    while total > limit_chars:
        pairs: dict[str, int] = {}
        for clause in size:
            if len(clause) > 1:
                for atom in clause:
                    pairs[atom] = pairs.get(atom, 0) + 1
        if not pairs:
            break
        atom = max(sorted(pairs), key=lambda a: pairs[a] / rate(a))
        single = frozenset({atom})
        for clause in [c for c in size if atom in c]:
            total -= size.pop(clause)
        if single not in size:
            size[single] = len(atom) + 4
            total += size[single]
        steps += 1
    return set(size), steps


def pack(items: Iterable[str], suffix: str) -> list[str]:
    """OR-groups, each query `(a OR (b c) ...) suffix` within X's 512 characters."""
    queries: list[str] = []
    group: list[str] = []
    for item in items:
        candidate = [*group, item]
        if group and len(_query(candidate, suffix)) > MAX_X_QUERY:
            queries.append(_query(group, suffix))
            candidate = [item]
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
    max_queries: int = DEFAULT_MAX_QUERIES,
    max_updated_at: str | None = None,
) -> Plan:
    """The plan for these saved-search texts; unparseable ones are skipped (already rejected
    when saved, so this only happens if the language changed under a stored search)."""
    clauses: set[Clause] = set()
    searches = narrow = fallback = 0
    # Popular searches are saved by many people: parse each distinct text once.
    for text, count in Counter(texts).items():
        searches += count
        try:
            found = cover(q.parse(text), rate)
        except q.QuerySyntaxError:
            logger.warning("planner skipped an unparseable search")
            continue
        if found is None:
            fallback += count
            continue
        narrow += count
        clauses |= found
    clauses = absorb(clauses)
    accounts = {c for c in clauses if len(c) == 1 and next(iter(c)).startswith("from:")}
    terms = clauses - accounts
    relaxed = 0
    term_suffix = f"{JOB_FILTER} {NOT_RETWEET}"
    room = max(1, max_queries - len(pack(sorted(map(clause_text, accounts)), NOT_RETWEET)))
    queries = pack(sorted(clause_text(c) for c in accounts), NOT_RETWEET)
    if fallback:
        queries.append(GLOBAL_QUERY)
    else:
        limit = room * (MAX_X_QUERY - len(term_suffix) - 3)
        while True:
            terms, steps = relax(terms, limit, rate)
            relaxed += steps
            packed = pack(sorted(clause_text(c) for c in terms), term_suffix)
            # Groups rarely fill to the last character; tighten until the count fits.
            if len(packed) <= room or not any(len(c) > 1 for c in terms):
                break
            limit = int(limit * 0.97)
        queries = packed + queries
    return Plan(
        queries=queries,
        searches=searches,
        narrow=narrow,
        fallback=fallback,
        clauses=sorted(sorted(c) for c in terms | accounts),
        relaxed=relaxed,
        max_updated_at=max_updated_at,
    )


def estimate_reads_per_day(
    plan: Plan,
    *,
    job_posts_per_day: float,
    posts_per_author_per_day: float = 5.0,
    rate: Callable[[str], float] = default_rate,
) -> float:
    """Posts X would bill per day, assuming atoms occur independently."""
    accounts = [c for c in plan.clauses if len(c) == 1 and c[0].startswith("from:")]
    author_reads = posts_per_author_per_day * len(accounts)
    if plan.fallback:
        return job_posts_per_day + author_reads
    miss = sum(
        math.log1p(-min(clause_rate(frozenset(c), rate), 0.999))
        for c in plan.clauses
        if not (len(c) == 1 and c[0].startswith("from:"))
    )
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
        cached = self.state.get_plan("x")
        if cached is not None and "value" in cached:
            plan = Plan.from_json(cached["value"])
            if not self._changed_since(plan.max_updated_at):
                return plan
        plan = self.replan()
        logger.info(
            "x query plan rebuilt",
            queries=len(plan.queries),
            estimated_reads_per_day=round(
                estimate_reads_per_day(plan, job_posts_per_day=ASSUMED_JOB_POSTS_PER_DAY)
            ),
            searches=plan.searches,
            fallback=plan.fallback,
            clauses=len(plan.clauses),
            relaxed=plan.relaxed,
        )
        return plan

    def replan(self) -> Plan:
        texts: list[str] = []
        newest: str | None = None
        for shard in range(self.shards):
            for search in self.searches.changes_since(str(shard), None):
                newest = max(newest or "", search.updated_at)
                # Unconfirmed sign-ups cost nothing: only live searches are read for.
                if search.status is SearchStatus.ACTIVE and search.live:
                    texts.append(search.query)
        plan = plan_queries(texts, max_updated_at=newest)
        value = plan.to_json()
        if len(repr(value)) <= MAX_CACHED_PLAN_BYTES:
            self.state.put_plan("x", value)
        else:
            logger.warning("x query plan too large to cache", clauses=len(plan.clauses))
        return plan

    def _changed_since(self, since: str | None) -> bool:
        if since is None:
            return True
        return any(
            next(iter(self.searches.changes_since(str(shard), since)), None) is not None
            for shard in range(self.shards)
        )
