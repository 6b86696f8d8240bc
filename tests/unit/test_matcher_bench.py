"""bench/match.py stays runnable and honest: every contender agrees, and the runner's argv works.

No timings are asserted here; performance figures come only from `make bench`.
"""

from __future__ import annotations

import random

import pytest

from bench import match
from jobalerts.query import document, evaluate, normalize, parse


def test_every_contender_finds_the_same_matches_on_a_small_run() -> None:
    # Given a small synthetic workload
    rng = random.Random(7)
    vocab = match.Vocabulary.build(rng, offset=2.7)
    posts = match.make_posts(vocab, rng, 60)
    # When the matcher, the naive loop and tantivy all run on it
    results = match.run_size(300, posts, vocab, rng)
    # Then each comparison reports agreement with the matcher
    mine, *others = results
    assert mine.matches_per_post > 0
    for result in others:
        assert "agrees with matcher" in result.note, result
        assert result.matches_per_post == pytest.approx(mine.matches_per_post)


def test_the_dense_regime_has_distinct_searches_and_every_contender_agrees() -> None:
    # Given a tiny dense workload
    rng = random.Random(11)
    vocab = match.Vocabulary.build(rng, offset=2.7)
    posts = match.make_posts(vocab, rng, 40)
    searches = match.make_dense_searches(vocab, rng, 400)
    assert len({normalize(query) for _, query in searches}) == 400
    # When the matcher, the compiled loop and `jobalerts match` run on it
    mine, compiled, cli = match.run_dense(400, posts, vocab, random.Random(11), cli_posts=40)
    # Then the compiled loop and the command find what the matcher finds
    assert mine.matches_per_post > 0
    assert "agrees with matcher" in compiled.note
    assert "agrees with matcher" in cli.note
    assert cli.matches_per_post == pytest.approx(mine.matches_per_post)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("python remote -senior", tuple),
        ('"data engineer" berlin', tuple),
        ("(python OR golang) remote", "generated"),
        ('"senior data engineer" -"junior dev"', "generated"),
        ("python -(senior berlin)", "generated"),
    ],
)
def test_the_compiled_form_agrees_with_the_reference_evaluator(query: str, kind: object) -> None:
    # Given a search compiled to its plain-Python form
    parsed = parse(query)
    plain = match.compile_plain(parsed)
    assert isinstance(plain, tuple) == (kind is tuple)
    # Then it decides every post as the reference evaluator does
    for text in [
        "Python remote",
        "senior python remote",
        "#Data engineer in Berlin",
        "golang remote, senior, berlin",
        "python remote berlin",
        "We need a #Senior data engineer",
        "senior data engineer, junior dev welcome",
    ]:
        doc = document(text)
        if isinstance(plain, tuple):
            required, excluded = plain
            got = required <= doc.terms and not (excluded & doc.terms)
        else:
            got = plain(doc.terms, doc)
        assert got == evaluate(parsed, doc), text


def test_main_ignores_flags_meant_for_other_bench_modules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the argv `python -m bench` passes to every module, with a flag this one does not know
    code = match.main(
        ["--sizes", "200", "--dense-sizes", "300", "--posts", "30", "--other-module-flag", "--p"]
    )
    # Then it still runs the sizes asked for (the exit code reflects the targets, not the argv)
    assert code in (0, 1)
    out = capsys.readouterr().out
    assert "200 saved searches" in out
    assert "dense: 300 saved searches" in out
