"""bench/coldstart.py stays runnable: a child process loads the snapshot and reports its steps.

No timings are asserted here; the figures come only from `make bench`.
"""

from __future__ import annotations

import random

import pytest

from bench import coldstart
from bench.match import Vocabulary


def test_a_small_cold_start_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a small shard
    rng = random.Random(3)
    vocab = Vocabulary.build(rng, 2.7)
    # When the cold start is measured
    missed = coldstart.run_size(300, vocab, rng)
    # Then the child loaded the snapshot, caught up and matched (no goals at this size)
    out = capsys.readouterr().out
    assert missed == []
    assert "cold start from the snapshot" in out
    assert "catch_up" in out
