"""The X query planner: covers from the query AST, packing, fallback, and its cost estimate."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jobalerts import query as q
from jobalerts.sources.planner import (
    GLOBAL_QUERY,
    JOB_FILTER,
    MAX_X_QUERY,
    absorb,
    clause_text,
    cover,
    estimate_reads_per_day,
    plan_queries,
)

DEMO = [
    "python remote -senior",
    '"data engineer" (berlin OR remote)',
    "golang OR rust -crypto",
    "#nursing",
]


def clauses_of(text: str) -> set[str] | None:
    found = cover(q.parse(text))
    return None if found is None else {clause_text(c) for c in found}


def test_each_search_is_narrowed_to_its_required_parts() -> None:
    assert clauses_of("python remote -senior") == {"(python remote)"}
    assert clauses_of('"data engineer" (berlin OR remote)') == {
        '("data engineer" berlin)',
        '("data engineer" remote)',
    }
    assert clauses_of("golang OR rust -crypto") == {"golang", "rust"}
    assert clauses_of("#nursing") == {"#nursing"}
    assert clauses_of("from:acme_jobs") == {"from:acme_jobs"}
    assert clauses_of("c++ developer") == {'("c++" developer)'}


def test_a_wide_alternative_is_not_multiplied_out() -> None:
    # 3 x 3 clauses would be nine; one side alone is read instead
    found = clauses_of("(python OR rust OR go) (berlin OR paris OR remote)")
    assert found is not None
    assert len(found) == 3


def test_implied_clauses_are_dropped() -> None:
    assert absorb({frozenset({"python"}), frozenset({"python", "berlin"})}) == {
        frozenset({"python"})
    }


def test_too_many_clauses_are_widened_to_fit_the_query_budget() -> None:
    texts = [f"skill{n} city{m}" for n in range(40) for m in range(10)]
    plan = plan_queries(texts, max_queries=5)
    assert len(plan.queries) <= 5
    assert plan.relaxed > 0


def test_searches_that_cannot_be_narrowed_fall_back_to_the_global_filter() -> None:
    assert clauses_of("lang:de") is None
    plan = plan_queries(["python", "lang:de"])
    assert plan.fallback == 1
    assert plan.queries == [GLOBAL_QUERY]


def test_a_handle_x_cannot_have_never_matches_on_x() -> None:
    assert clauses_of("from:someone@mastodon.social") == set()


def test_the_demo_searches_make_one_query() -> None:
    plan = plan_queries(DEMO)
    assert len(plan.queries) == 1
    assert plan.queries[0] == (
        f'(#nursing OR ("data engineer" berlin) OR ("data engineer" remote) OR (python remote)'
        f" OR golang OR rust) {JOB_FILTER} -is:retweet"
    )
    assert plan.narrow == 4


def test_employer_accounts_get_their_own_queries_without_the_job_filter() -> None:
    plan = plan_queries(["from:acme_jobs", "python"])
    assert "(from:acme_jobs) -is:retweet" in plan.queries


def test_many_searches_pack_into_few_queries_within_512_characters() -> None:
    texts = [f"skill{n} developer" for n in range(300)]
    plan = plan_queries(texts)
    assert all(len(query) <= MAX_X_QUERY for query in plan.queries)
    joined = " ".join(plan.queries)
    assert all(clause_text(frozenset(c)) in joined for c in plan.clauses)
    assert len(plan.queries) < 30


def test_estimate_grows_with_atoms_but_never_exceeds_the_job_volume() -> None:
    small = estimate_reads_per_day(plan_queries(["python"]), job_posts_per_day=100_000)
    large = estimate_reads_per_day(plan_queries(DEMO), job_posts_per_day=100_000)
    wide = estimate_reads_per_day(plan_queries(["lang:de"]), job_posts_per_day=100_000)
    assert 0 < small < large < wide == 100_000


# --- soundness: any post a search matches contains one of the atoms X is asked for -------------

WORDS = ["python", "rust", "remote", "berlin", "senior", "data", "engineer", "#nursing", "#rust"]


def queries() -> st.SearchStrategy[q.Query]:
    term = st.sampled_from(WORDS).map(q.Term)
    phrase = st.lists(st.sampled_from(WORDS[:7]), min_size=2, max_size=2).map(
        lambda words: q.Phrase(tuple(words))
    )
    leaf = term | phrase
    return st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, min_size=2, max_size=3).map(lambda c: q.And(tuple(c)))
            | st.lists(inner, min_size=2, max_size=3).map(lambda c: q.Or(tuple(c)))
            | inner.map(q.Not)
        ),
        max_leaves=6,
    )


def clause_present(clause: frozenset[str], doc: q.Document) -> bool:
    return all(atom_present(atom, doc) for atom in clause)


def atom_present(atom: str, doc: q.Document) -> bool:
    if atom.startswith('"'):
        return doc.has_phrase(tuple(atom.strip('"').split()))
    return atom in doc.terms


@settings(max_examples=300, deadline=None)
@given(query=queries(), words=st.lists(st.sampled_from(WORDS), max_size=8))
def test_cover_is_sound(query: q.Query, words: list[str]) -> None:
    doc = q.document(" ".join(words))
    found = cover(query)
    if found is not None and q.evaluate(query, doc):
        assert any(clause_present(clause, doc) for clause in found)
