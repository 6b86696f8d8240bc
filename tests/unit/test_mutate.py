"""The mutation runner behind `make mutate` makes the mutants it promises."""

from __future__ import annotations

from tools.mutate import changes, mutate

SOURCE = '''
"""doc with < and AND."""


def f(a: int, b: int) -> bool:
    """also a docstring"""
    logger.info("not mutated", n=1)
    return a < b and not a == 2


CONDITION = "attribute_exists(pk) AND #s = :sending"
PROSE = "use OR between words"
'''


def test_each_operator_and_constant_is_one_mutant_and_docstrings_logs_and_prose_are_not() -> None:
    assert changes(SOURCE) == [
        "line 8: And -> Or",
        "line 8: Lt -> LtE",
        "line 8: drop not",
        "line 8: Eq -> NotEq",
        "line 8: 2 -> 3",
        "line 11: AND -> OR",
    ]


def test_a_mutant_changes_only_its_own_site() -> None:
    assert "return a < b or not a == 2" in mutate(SOURCE, 0)
    assert "return a <= b and (not a == 2)" in mutate(SOURCE, 1)
    assert "return a < b and a == 2" in mutate(SOURCE, 2)
    assert "return a < b and (not a != 2)" in mutate(SOURCE, 3)
    assert "return a < b and (not a == 3)" in mutate(SOURCE, 4)
    assert "'attribute_exists(pk) OR #s = :sending'" in mutate(SOURCE, 5)
    assert "'use OR between words'" in mutate(SOURCE, 5)
