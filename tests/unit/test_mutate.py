"""The mutation runner behind `make mutate` makes the mutants it promises."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.mutate import (
    EQUIVALENT,
    TARGETS,
    Coverage,
    Mutant,
    _lines,
    _preloadable,
    changes,
    equivalence,
    kept_results,
    mutate,
    selection,
)

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


MULTILINE = """
def g(a: int, b: int) -> bool:
    if (a < b and
            b > 0):
        return True
    return a == b
"""


def test_a_mutant_is_looked_up_at_its_own_lines_and_its_statements_first_line() -> None:
    # Given a condition spread over two lines (coverage files it under the `if` line)
    # When the lines each mutant may be recorded at are listed
    lines = _lines(ast.parse(MULTILINE))
    # Then the `and` spans both lines, `b > 0` adds the `if` line, and a body's mutant is not
    # charged to the `if` around it
    assert changes(MULTILINE)[:3] == ["line 3: And -> Or", "line 3: Lt -> LtE", "line 4: Gt -> GtE"]
    assert lines[0] == {3, 4}
    assert lines[2] == {3, 4}
    assert changes(MULTILINE)[4:] == ["line 5: True -> False", "line 6: Eq -> NotEq"]
    assert lines[4] == {5}
    assert lines[5] == {6}


def _coverage(contexts: dict[int, set[str]]) -> Coverage:
    return Coverage({"m.py": contexts}, durations={}, startup=0.0)


def _mutant(*lines: int) -> Mutant:
    return Mutant("m.py", 0, lines[0], f"line {lines[0]}: Lt -> LtE", "", frozenset(lines))


def test_a_mutant_runs_only_the_module_tests_that_execute_its_line() -> None:
    # Given one module test and one other test executing line 3, and nothing on line 9
    cov = _coverage({3: {"tests/t.py::test_a", "tests/other.py::test_b"}, 7: {""}})
    # Then a mutant on line 3 runs test_a only
    assert selection(_mutant(3), ["tests/t.py"], cov) == ["tests/t.py::test_a"]
    # And one on a line no test executes runs nothing (it cannot be killed)
    assert selection(_mutant(9), ["tests/t.py"], cov) == []
    # And one on a line run at import time runs all of the module's tests
    assert selection(_mutant(7), ["tests/t.py"], cov) is None


def test_a_known_equivalent_mutant_is_found_by_its_code_not_its_line_number() -> None:
    key = next(iter(EQUIVALENT))
    module, code, change = key
    assert equivalence(f"layers/jobalerts/{module}", code, f"line 999: {change}") == EQUIVALENT[key]
    assert equivalence(f"layers/jobalerts/{module}", code + " ", f"line 1: {change}") is None


def test_the_test_server_never_preloads_a_target_or_a_module_that_imports_one() -> None:
    # Given the real packages and the real targets
    root = Path(__file__).resolve().parents[2]
    # When the modules a test server may import before forking are listed
    preloaded = set(_preloadable(root, list(TARGETS)))
    # Then no target is among them, nor a module that reaches one only through a package
    # __init__ (store/__init__ imports the repositories, which import schedule and query)
    assert {
        "jobalerts.query",
        "jobalerts.schedule",
        "jobalerts.delivery.records",
    } & preloaded == set()
    assert {
        "jobalerts.store",
        "jobalerts.store.searches",
        "jobalerts.digests.compose",
    } & preloaded == set()
    # While leaves that import no target are
    assert {"jobalerts.errors", "jobalerts.models"} <= preloaded


def test_a_run_of_some_modules_keeps_the_results_of_the_others() -> None:
    # Given results of two modules
    previous: list[dict[str, object]] = [
        {"module": "query.py", "mutant": 0, "outcome": "killed (failed)"},
        {"module": "tokens.py", "mutant": 0, "outcome": "survived"},
    ]
    # When a run of query.py alone starts afresh, it keeps only tokens.py's
    assert kept_results(previous, {"query.py"}, resume=False) == previous[1:]
    # and a resumed run keeps everything (and skips what is there)
    assert kept_results(previous, {"query.py"}, resume=True) == previous
