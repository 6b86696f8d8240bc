"""Percolator: match each new post against every saved search without looping over them.

Every saved search compiles to a disjunction of conjunctive clauses (DNF). A clause is filed
under its rarest required term, and under the second rarest too when it has one, so a post only
looks at clauses whose two keys it contains. Clauses shared by many searches (everyone who saved
`python remote`) are stored once with the list of their search ids. A query whose DNF would
explode is filed under one key per OR-branch instead and verified with the reference evaluator.

The index lives in memory and changes incrementally with `add`/`remove`. Searches can be split
across N match workers with `shard_for`; each worker holds the searches of its shard only.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from jobalerts.query import (
    And,
    Document,
    Not,
    Phrase,
    Query,
    Term,
    bigram,
    document,
    evaluate,
    parse,
)

if TYPE_CHECKING:
    from jobalerts.models import Post

# Past this many clauses a query is filed by key terms and verified against its AST instead.
MAX_CLAUSES = 32
# Almost every post has a language, so `lang:` is the worst possible key.
_LANG_COST_FACTOR = 1000

# A list of search ids costs a few bytes per id but is slow to merge into a result; past this
# many ids a group becomes a set, which merges faster and takes ids out in constant time.
_SET_THRESHOLD = 32
# A big group is repacked (see _BigGroup.repack) once this share of its ids came after the last
# repack: often enough to keep most ids side by side, rarely enough to cost O(1) per add.
_REPACK_SHARE = 0.25

Words: TypeAlias = tuple[str, ...]
# (must, must_not, phrases, not_phrases): sorted tuples, so equal clauses compare and hash equal.
Clause: TypeAlias = tuple[Words, Words, tuple[Words, ...], tuple[Words, ...]]
_TRUE: Clause = ((), (), (), ())
_Compiled: TypeAlias = tuple[Clause, ...] | Query
# What a group of searches shares: one clause, or a whole query filed as a fallback.
_Key: TypeAlias = Clause | Query
# The terms a post must contain for a clause to be worth checking; the second is optional.
_Site: TypeAlias = tuple[str, str | None]


def shard_for(search_id: str, shards: int) -> str:
    """The shard ("0".."N-1") whose match worker holds this search.

    A stable hash, so every writer and worker agrees without coordination; with N a power of two,
    doubling N splits each shard in two (shard s becomes s and s + N), so growing is a backfill.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    digest = hashlib.blake2b(search_id.encode(), digest_size=8).digest()
    return str(int.from_bytes(digest, "big") % shards)


# --- Compiling a query to DNF ------------------------------------------------------------------


def compile_query(query: Query) -> tuple[Clause, ...] | None:
    """The DNF of `query` without contradictory clauses, or None if it needs over MAX_CLAUSES."""
    clauses = _dnf(query, negate=False)
    return None if clauses is None else tuple(sorted(clauses))


def _dnf(query: Query, negate: bool) -> set[Clause] | None:
    if isinstance(query, Term):
        term = (query.value,)
        return {((), term, (), ())} if negate else {(term, (), (), ())}
    if isinstance(query, Phrase):
        # Adjacent pairs are terms of their own, so a two-word phrase is an ordinary term and
        # only longer phrases need their positions checked.
        grams = _bigrams(query.words)
        long = (query.words,) if len(query.words) > 2 else ()
        if negate:
            return {((), (), (), long)} if long else {((), grams, (), ())}
        return {(grams, (), long, ())}
    if isinstance(query, Not):
        return _dnf(query.child, not negate)
    parts: list[set[Clause]] = []
    for child in query.children:
        part = _dnf(child, negate)
        if part is None:
            return None
        parts.append(part)
    if isinstance(query, And) != negate:
        return _product(parts)
    union = set().union(*parts)
    return union if len(union) <= MAX_CLAUSES else None


def _product(parts: list[set[Clause]]) -> set[Clause] | None:
    result = {_TRUE}
    for part in parts:
        result = {merged for left in result for right in part if (merged := _merge(left, right))}
        if len(result) > MAX_CLAUSES:
            return None
    return result


def _merge(left: Clause, right: Clause) -> Clause | None:
    must = _union(left[0], right[0])
    must_not = _union(left[1], right[1])
    phrases = _union(left[2], right[2])
    not_phrases = _union(left[3], right[3])
    if not set(must).isdisjoint(must_not) or not set(phrases).isdisjoint(not_phrases):
        return None
    return must, must_not, phrases, not_phrases


def _union(left: tuple[Any, ...], right: tuple[Any, ...]) -> tuple[Any, ...]:
    if not right or left == right:
        return left
    if not left:
        return right
    return tuple(sorted(set(left) | set(right)))


# --- The index ---------------------------------------------------------------------------------


class _Group(list[str]):
    """Ids of the searches that share one clause; knows the clause, to be taken out again."""

    __slots__ = ("key",)

    def __init__(self, key: _Key, search_id: str) -> None:
        super().__init__((search_id,))
        self.key = key


class _BigGroup(set[str]):
    """A large group; `unpacked` counts ids added since its ids were last copied side by side."""

    __slots__ = ("key", "unpacked")

    def __init__(self, group: _Group) -> None:
        super().__init__(group)
        self.key = group.key
        self.unpacked = len(group)

    def __reduce__(self) -> tuple[Any, ...]:
        # set's own reduce would call __init__ with a plain list (pickled index snapshots).
        return _big_group, (self.key, list(self), self.unpacked)

    def repack(self) -> None:
        """Give the group its own copies of its ids, allocated one after another.

        Matching a popular clause adds thousands of ids to the result, and each one added is a
        reference count written in that string object: with ids scattered over a large heap,
        every one is a cache and TLB miss. Copies allocated together, in the order the set
        yields them, turn that into a mostly sequential sweep. Equal strings, so `match` still
        returns the same ids; the copies cost one small string per member.
        """
        order = list(set(self))
        copies = [_copy(search_id) for search_id in order]
        self.clear()
        self.update(copies)
        self.unpacked = 0


def _big_group(key: _Key, ids: list[str], unpacked: int) -> _BigGroup:
    group = _BigGroup.__new__(_BigGroup)
    set.__init__(group, ids)
    group.key = key
    group.unpacked = unpacked
    return group


_Ids: TypeAlias = _Group | _BigGroup
# A clause that needs more than its key terms: (other required terms, excluded terms, phrases,
# excluded phrases, ids, query to evaluate instead when the DNF was too large).
_Check: TypeAlias = tuple[Words, Words, tuple[Words, ...], tuple[Words, ...], _Ids, Query | None]
# Where one check of a fallback query went: (first key, second key, check).
_Filed: TypeAlias = tuple[str, str | None, _Check]
# One node per key term: [ids of the single-term clause, checks, {second key: ids},
# {second key: checks or _Fanout}]. A list, not an object: the match loop unpacks it in one step.
_IDS, _CHECKS, _PAIRS, _PAIR_CHECKS = range(4)
# Past this many checks under one pair of keys (python + senior: every "(senior OR lead)
# (python OR go) (berlin OR remote)"), the checks are filed by a third key as well.
_FANOUT_THRESHOLD = 8


class _Fanout(dict[str, list[_Check]]):
    """Checks under one pair of keys, by their third rarest term; `direct` holds those with none."""

    __slots__ = ("direct",)

    def __init__(self, checks: list[_Check]) -> None:
        super().__init__()
        self.direct: list[_Check] = []
        for check in checks:
            self.holder(check).append(check)

    def holder(self, check: _Check) -> list[_Check]:
        rest = check[0]
        return self.setdefault(rest[0], []) if rest else self.direct

    def checks(self) -> list[_Check]:
        return [*self.direct, *(check for checks in self.values() for check in checks)]


class Matcher:
    """Saved searches in a reverse index; `match` returns the ids of searches a post satisfies."""

    def __init__(self) -> None:
        self._searches: dict[str, _Ids | tuple[_Ids, ...]] = {}
        # Added but not yet filed: keys are chosen on first use, once term counts are known.
        self._pending: dict[str, _Compiled] = {}
        self._groups: dict[_Key, _Ids] = {}
        self._fallbacks: dict[Query, list[_Filed]] = {}
        self._index: dict[str, list[Any]] = {}
        self._must_counts: dict[str, int] = {}
        # Big groups to repack once the filing in progress is done, by key.
        self._to_repack: dict[_Key, _BigGroup] = {}

    def __len__(self) -> int:
        return len(self._searches) + len(self._pending)

    def __contains__(self, search_id: object) -> bool:
        return search_id in self._searches or search_id in self._pending

    def add(self, search_id: str, query: str) -> None:
        """Parse and stage a search; raises QuerySyntaxError. Re-adding an id replaces it."""
        parsed = parse(query)
        clauses = compile_query(parsed)
        compiled: _Compiled = parsed if clauses is None else clauses
        self.remove(search_id)
        self._pending[search_id] = compiled
        self._count(_required_terms(compiled), 1)

    def remove(self, search_id: str) -> None:
        """Forget a search; an unknown id is a no-op."""
        compiled = self._pending.pop(search_id, None)
        if compiled is not None:
            self._count(_required_terms(compiled), -1)
            return
        record = self._searches.pop(search_id, None)
        if record is None:
            return
        # A _Group is a list, so several groups are kept in a tuple, never a list.
        for group in record if isinstance(record, tuple) else (record,):
            self._leave(group, search_id)

    def match_post(self, post: Post) -> set[str]:
        return self.match(post.text, post.author_handle, post.lang)

    def match(self, text: str, author: str | None = None, lang: str | None = None) -> set[str]:
        """Ids of the saved searches this post satisfies."""
        return self.match_document(document(text, author, lang))

    def match_document(self, doc: Document) -> set[str]:
        if self._pending:
            self._file_pending()
        terms = doc.terms
        index = self._index
        found: set[str] = set()
        for term in index.keys() & terms:
            ids, checks, pairs, pair_checks = index[term]
            if ids:
                found.update(ids)
            if pairs:
                for second in pairs.keys() & terms:
                    found.update(pairs[second])
            if checks:
                _verify(checks, doc, found)
            if pair_checks:
                for second in pair_checks.keys() & terms:
                    bucket = pair_checks[second]
                    if type(bucket) is _Fanout:
                        if bucket.direct:
                            _verify(bucket.direct, doc, found)
                        for third in bucket.keys() & terms:
                            _verify(bucket[third], doc, found)
                    else:
                        _verify(bucket, doc, found)
        return found

    # --- joining and leaving groups ---

    def _file_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for search_id, compiled in pending.items():
            if isinstance(compiled, tuple):
                groups = tuple(self._join(clause, search_id) for clause in compiled)
                self._searches[search_id] = groups[0] if len(groups) == 1 else groups
            else:
                self._searches[search_id] = self._join(compiled, search_id)
        to_repack, self._to_repack = self._to_repack, {}
        for key, group in to_repack.items():
            if self._groups.get(key) is group:
                group.repack()

    def _join(self, key: _Key, search_id: str) -> _Ids:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, search_id)
            if isinstance(key, tuple):
                self._file_clause(key, group)
            else:
                self._file_fallback(key, group)
        elif isinstance(group, _BigGroup):
            group.add(search_id)
            group.unpacked += 1
            if group.unpacked > len(group) * _REPACK_SHARE:
                self._to_repack[key] = group
        else:
            group.append(search_id)
            if len(group) == _SET_THRESHOLD:
                big = _BigGroup(group)
                self._replace(group, big)
                # Earlier members still hold the list; they only use it for its key from now on.
                group.clear()
                group = self._groups[key] = big
                self._to_repack[key] = big
        return group

    def _leave(self, member_of: _Ids, search_id: str) -> None:
        key = member_of.key
        group = self._groups[key]
        group.remove(search_id)
        self._count(_required_terms((key,) if isinstance(key, tuple) else key), -1)
        if not group:
            del self._groups[group.key]
            self._replace(group, None)

    # --- filing ---

    def _file_clause(self, clause: Clause, group: _Group) -> None:
        must, must_not, phrases, not_phrases = clause
        ranked = sorted(must, key=self._cost)
        first, second = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        node = self._node(first)
        if not (must_not or phrases or not_phrases) and len(ranked) <= 2:
            if second is None:
                node[_IDS] = group
            else:
                _slot(node, _PAIRS, dict)[second] = group
            return
        check = (tuple(ranked[2:]), must_not, phrases, not_phrases, group, None)
        self._add_check(first, second, check)

    def _file_fallback(self, query: Query, group: _Group) -> None:
        """File a query with too many DNF clauses under terms it cannot match without."""
        sites = _necessary(query, False, self._cost)
        if not sites:
            raise AssertionError("parse() lets through only queries that need some term")
        filed: list[_Filed] = []
        for first, *others in sites:
            second = others[0] if others else None
            check: _Check = (tuple(others[1:]), (), (), (), group, query)
            self._add_check(first, second, check)
            filed.append((first, second, check))
        self._fallbacks[query] = filed

    def _add_check(self, first: str, second: str | None, check: _Check) -> None:
        node = self._node(first)
        if second is None:
            _slot(node, _CHECKS, list).append(check)
            return
        buckets = _slot(node, _PAIR_CHECKS, dict)
        bucket = buckets.get(second)
        if bucket is None:
            buckets[second] = [check]
        elif type(bucket) is _Fanout:
            bucket.holder(check).append(check)
        else:
            bucket.append(check)
            if len(bucket) > _FANOUT_THRESHOLD:
                buckets[second] = _Fanout(bucket)

    def _checks_at(self, first: str, second: str | None) -> list[_Check]:
        """Every check filed under these keys (a copy when they are fanned out)."""
        node = self._index.get(first)
        if node is None:
            return []
        if second is None:
            return node[_CHECKS] or []
        bucket = (node[_PAIR_CHECKS] or {}).get(second)
        if type(bucket) is _Fanout:
            return bucket.checks()
        return bucket or []

    def _holder(self, first: str, second: str | None, check: _Check) -> list[_Check]:
        """The list that holds `check`."""
        node = self._index[first]
        if second is None:
            holder: list[_Check] = node[_CHECKS]
            return holder
        bucket = node[_PAIR_CHECKS][second]
        return bucket.holder(check) if type(bucket) is _Fanout else bucket

    def _node(self, term: str) -> list[Any]:
        node = self._index.get(term)
        if node is None:
            node = self._index[term] = [None, None, None, None]
        return node

    # --- moving a group, or taking it out ---

    def _replace(self, group: _Ids, new: _Ids | None) -> None:
        """Point the index at `new` instead of `group`; None takes the group out."""
        key = group.key
        if not isinstance(key, tuple):
            moved: list[_Filed] = []
            for first, second, check in self._fallbacks.pop(key):
                replacement = None if new is None else _with_ids(check, new)
                self._swap_check(first, second, check, replacement)
                if replacement is not None:
                    moved.append((first, second, replacement))
            if moved:
                self._fallbacks[key] = moved
            return
        for first, second in _orderings(key[0]):
            node = self._index.get(first)
            if node is None:
                continue
            if second is None and node[_IDS] is group:
                node[_IDS] = new
                self._prune(first)
                return
            pairs = node[_PAIRS]
            if second is not None and pairs and pairs.get(second) is group:
                if new is None:
                    del pairs[second]
                else:
                    pairs[second] = new
                self._prune(first)
                return
            old = next((c for c in self._checks_at(first, second) if c[4] is group), None)
            if old is not None:
                self._swap_check(first, second, old, None if new is None else _with_ids(old, new))
                return
        raise AssertionError(f"clause not found in the index: {key}")

    def _swap_check(self, first: str, second: str | None, old: _Check, new: _Check | None) -> None:
        checks = self._holder(first, second, old)
        position = next(i for i, check in enumerate(checks) if check is old)
        if new is not None:
            checks[position] = new
            return
        del checks[position]
        if second is not None and not checks:
            buckets = self._index[first][_PAIR_CHECKS]
            bucket = buckets[second]
            if type(bucket) is _Fanout and checks is not bucket.direct:
                del bucket[old[0][0]]
            if not bucket or (type(bucket) is _Fanout and not bucket.direct and not len(bucket)):
                del buckets[second]
        self._prune(first)

    def _prune(self, term: str) -> None:
        """Drop empty containers, then the node itself once nothing is filed under the term."""
        node = self._index[term]
        for slot in (_CHECKS, _PAIRS, _PAIR_CHECKS):
            if not node[slot]:
                node[slot] = None
        if not any(node):
            del self._index[term]

    # --- term rarity ---

    def _count(self, terms: list[str], delta: int) -> None:
        """Count how many clauses require each term: the rarity estimate used to pick keys."""
        counts = self._must_counts
        for term in terms:
            count = counts.get(term, 0) + delta
            if count > 0:
                counts[term] = count
            else:
                counts.pop(term, None)

    def _cost(self, term: str) -> tuple[int, str]:
        count = self._must_counts.get(term, 0) + 1
        if term.startswith("lang:"):
            count *= _LANG_COST_FACTOR
        return count, term


def _verify(checks: list[_Check], doc: Document, found: set[str]) -> None:
    terms = doc.terms
    for rest, must_not, phrases, not_phrases, ids, query in checks:
        if rest and not terms.issuperset(rest):
            continue
        if must_not and not terms.isdisjoint(must_not):
            continue
        if phrases and not all(map(doc.has_phrase, phrases)):
            continue
        if not_phrases and any(map(doc.has_phrase, not_phrases)):
            continue
        if query is not None and not evaluate(query, doc):
            continue
        found.update(ids)


def _copy(text: str) -> str:
    """An equal string in a new object (slicing or str() would hand back the same one)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _with_ids(check: _Check, ids: _Ids) -> _Check:
    rest, must_not, phrases, not_phrases, _, query = check
    return rest, must_not, phrases, not_phrases, ids, query


def _orderings(must: Words) -> list[_Site]:
    """Every (first, second) key a clause with these required terms may have been filed under."""
    if len(must) == 1:
        return [(must[0], None)]
    return [(first, second) for first in must for second in must if first != second]


def _necessary(query: Query, negate: bool, cost: Any) -> list[Words] | None:
    """Clauses of at most three terms, one of which every matching post satisfies; None if none.

    A weaker DNF: conjunctions keep their three rarest terms and may drop whole conjuncts, which
    only lets more posts through to the evaluator, never fewer.
    """
    if isinstance(query, Term):
        return None if negate else [(query.value,)]
    if isinstance(query, Phrase):
        return None if negate else [_rarest(_bigrams(query.words), cost)]
    if isinstance(query, Not):
        return _necessary(query.child, not negate, cost)
    parts = [_necessary(child, negate, cost) for child in query.children]
    if isinstance(query, And) != negate:
        usable = sorted((part for part in parts if part), key=len)
        if not usable:
            return None
        clauses = usable[0]
        for part in usable[1:]:
            combined = {_rarest((*left, *right), cost) for left in clauses for right in part}
            if len(combined) > MAX_CLAUSES:
                break
            clauses = sorted(combined)
        return clauses
    if not all(parts):
        return None
    return sorted({clause for part in parts for clause in part or ()})


def _bigrams(words: Words) -> Words:
    return tuple(sorted({sys.intern(bigram(*pair)) for pair in itertools.pairwise(words)}))


def _rarest(terms: Words, cost: Any) -> Words:
    """The terms worth keying on: two for the index, a third to skip the evaluator cheaply."""
    return tuple(sorted(set(terms), key=cost)[:3])


def _required_terms(compiled: _Compiled) -> list[str]:
    if isinstance(compiled, tuple):
        return [term for clause in compiled for term in clause[0]]
    return _positive_terms(compiled, False)


def _positive_terms(query: Query, negate: bool) -> list[str]:
    if isinstance(query, Term):
        return [] if negate else [query.value]
    if isinstance(query, Phrase):
        return [] if negate else list(_bigrams(query.words))
    if isinstance(query, Not):
        return _positive_terms(query.child, not negate)
    return [term for child in query.children for term in _positive_terms(child, negate)]


def _slot(node: list[Any], slot: int, factory: type) -> Any:
    holder = node[slot]
    if holder is None:
        holder = node[slot] = factory()
    return holder
