"""bench/match.py stays runnable and honest: every contender agrees, and the runner's argv works.

No timings are asserted here; performance figures come only from `make bench`.
"""

from __future__ import annotations

import random

import pytest

from bench import match


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


def test_main_ignores_flags_meant_for_other_bench_modules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the argv `python -m bench` passes to every module, with a flag this one does not know
    code = match.main(["--sizes", "200", "--posts", "30", "--other-module-flag", "--p"])
    # Then it still runs the sizes asked for (the exit code reflects the targets, not the argv)
    assert code in (0, 1)
    assert "200 saved searches" in capsys.readouterr().out
