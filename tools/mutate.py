"""A small mutation tester: `make mutate` (never part of `make test`).

For each target module it makes every mutant of a few kinds (comparison and boolean operators,
`AND`/`OR` inside DynamoDB condition strings, arithmetic, integer constants, True/False), then
runs only that module's own test files against each mutant, in a scratch copy of the repo so the
worktree is never touched. A mutant is killed when the tests fail or time out (an endless loop
is a kill). Results go to out/mutate/results.jsonl as they come, and a summary per module at
the end. mutmut 3 needs the code under a src/ layout it can trampoline; this needs nothing.

    python tools/mutate.py [--sample N] [--seed S] [--module NAME ...] [--workers W]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "layers/jobalerts"

# module -> the tests that are meant to pin it down
TARGETS: dict[str, list[str]] = {
    f"{PKG}/tokens.py": ["tests/unit/test_tokens.py"],
    f"{PKG}/schedule.py": ["tests/unit/test_schedule.py"],
    f"{PKG}/identity.py": ["tests/unit/test_identity.py", "tests/unit/test_compose.py"],
    f"{PKG}/query.py": ["tests/unit/test_query.py", "tests/unit/test_query_errors.py"],
    f"{PKG}/store/deliveries.py": ["tests/integration/test_delivery_records.py"],
    f"{PKG}/delivery/deliver.py": ["tests/integration/test_deliver_function.py"],
}
COPY = ["layers", "tests", "functions", "events", "template.yaml", "pyproject.toml"]

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}


# DynamoDB condition expressions (":value", "#name", "attribute_..."), not prose that says OR.
_CONDITION = re.compile(r"[:#]\w|attribute_")


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int
    line: int
    description: str


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes whose mutants say nothing: docstrings, annotations, log and metric calls."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            roots += [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]
            if node.returns is not None:
                roots.append(node.returns)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in {"logger", "metrics"}:
                roots.append(node)
        for root in roots:
            skip.update(id(n) for n in ast.walk(root))
    return skip


def _sites(tree: ast.AST) -> Iterator[tuple[ast.AST, int, str]]:
    """(node, option, description) for every mutation of the tree, in a stable order."""
    skip = _skipped(tree)
    nodes = [n for n in ast.walk(tree) if id(n) not in skip]
    # Source order (ast.walk is breadth-first), so mutant numbers read top to bottom.
    nodes.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    for node in nodes:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE_SWAPS:
                    new = _COMPARE_SWAPS[type(op)].__name__
                    yield node, i, f"line {line}: {type(op).__name__} -> {new}"
        elif isinstance(node, ast.BoolOp):
            new = "Or" if isinstance(node.op, ast.And) else "And"
            yield node, 0, f"line {line}: {type(node.op).__name__} -> {new}"
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
            new = _BINOP_SWAPS[type(node.op)].__name__
            yield node, 0, f"line {line}: {type(node.op).__name__} -> {new}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, 0, f"line {line}: drop not"
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                yield node, 0, f"line {line}: {value} -> {not value}"
            elif isinstance(value, int):
                yield node, 0, f"line {line}: {value} -> {value + 1}"
            elif isinstance(value, str) and _CONDITION.search(value):
                for j, word in enumerate((" AND ", " OR ")):
                    if word in value:
                        other = " OR " if word == " AND " else " AND "
                        yield node, j, f"line {line}: {word.strip()} -> {other.strip()}"


def _mutate(node: ast.AST, option: int) -> None:
    if isinstance(node, ast.Compare):
        node.ops[option] = _COMPARE_SWAPS[type(node.ops[option])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.UnaryOp):
        node.op = ast.UAdd()  # `+x` keeps the operand and drops the negation's meaning
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            node.value = not value
        elif isinstance(value, int):
            node.value = value + 1
        else:
            word = (" AND ", " OR ")[option]
            other = " OR " if word == " AND " else " AND "
            node.value = value.replace(word, other, 1)


def _drop_not(tree: ast.AST) -> ast.AST:
    """`+x` where `not x` was would be a type error for most x: make it plain `x` instead."""

    class Unwrap(ast.NodeTransformer):
        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
            self.generic_visit(node)
            return node.operand if isinstance(node.op, ast.UAdd) else node

    return Unwrap().visit(tree)


def changes(source: str) -> list[str]:
    """What each mutant of `source` changes, by mutant index."""
    return [description for _, _, description in _sites(ast.parse(source))]


def mutate(source: str, index: int) -> str:
    """`source` with mutant number `index` applied."""
    tree = ast.parse(source)
    node, option, _ = list(_sites(tree))[index]
    _mutate(node, option)
    return ast.unparse(_drop_not(tree))


def mutants(module: str) -> list[Mutant]:
    found = changes((ROOT / module).read_text())
    return [Mutant(module, i, 0, d) for i, d in enumerate(found)]


def mutated_source(module: str, index: int) -> str:
    return mutate((ROOT / module).read_text(), index)


def _scratch() -> Path:
    where = Path(tempfile.mkdtemp(prefix="jobalerts-mutate-"))
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / name)
    return where


def run_tests(where: Path, tests: list[str], timeout: float, budget: float) -> str:
    """'passed', 'failed' or 'timeout' for these tests in the scratch copy `where`: `timeout`
    seconds per test (an endless loop), `budget` seconds for the whole run."""
    env = {**os.environ, "PYTHONPATH": f"{where / 'layers'}{os.pathsep}{where}"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    command += ["-o", "addopts=", "--timeout", str(int(timeout))]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and test paths
            command, cwd=where, env=env, capture_output=True, timeout=budget, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode == 0:
        return "passed"
    return "timeout" if b"Timeout" in done.stdout else "failed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--module", action="append", help="only modules whose path has this")
    parser.add_argument("--mutant", type=int, action="append", help="only these mutant numbers")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "mutate")
    args = parser.parse_args(argv)

    targets = {
        m: t for m, t in TARGETS.items() if not args.module or any(s in m for s in args.module)
    }
    jobs: list[Mutant] = []
    for module in targets:
        found = [m for m in mutants(module) if not args.mutant or m.index in args.mutant]
        if args.sample and len(found) > args.sample:
            found = sorted(
                random.Random(args.seed).sample(found, args.sample), key=lambda m: m.index
            )
        jobs += found
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    results_path.write_text("")

    scratches = [_scratch() for _ in range(max(1, args.workers))]
    budgets: dict[str, float] = {}
    for where in scratches:
        for module, tests in targets.items():
            started = time.monotonic()
            baseline = run_tests(where, tests, args.timeout, budget=3600)
            # A slow machine is not a kill: a run may take three times the unmutated one.
            budgets[module] = 3 * (time.monotonic() - started) + 60
            if baseline != "passed":
                print(f"{module}: its tests do not pass unmutated ({baseline})", file=sys.stderr)
                return 2
        break
    free = list(scratches)

    def one(mutant: Mutant) -> dict[str, object]:
        where = free.pop()
        target = where / mutant.module
        original = target.read_text()
        started = time.monotonic()
        try:
            target.write_text(mutated_source(mutant.module, mutant.index))
            outcome = run_tests(where, targets[mutant.module], args.timeout, budgets[mutant.module])
        finally:
            target.write_text(original)
            free.append(where)
        result = {
            "module": mutant.module.removeprefix(f"{PKG}/"),
            "mutant": mutant.index,
            "change": mutant.description,
            "outcome": "survived" if outcome == "passed" else f"killed ({outcome})",
            "seconds": round(time.monotonic() - started, 1),
        }
        with results_path.open("a") as out:
            out.write(json.dumps(result) + "\n")
        print(f"{result['module']} #{mutant.index} {mutant.description}: {result['outcome']}")
        return result

    try:
        with ThreadPoolExecutor(max_workers=len(scratches)) as pool:
            results = list(pool.map(one, jobs))
    finally:
        for where in scratches:
            shutil.rmtree(where, ignore_errors=True)
    print(summary(results))
    return 0


def summary(results: list[dict[str, object]]) -> str:
    lines = [
        "| module | mutants | killed | survived | kill rate |",
        "| --- | --- | --- | --- | --- |",
    ]
    modules = sorted({str(r["module"]) for r in results})
    for module in [*modules, "all"]:
        rows = [r for r in results if module in ("all", r["module"])]
        killed = sum(1 for r in rows if str(r["outcome"]).startswith("killed"))
        rate = f"{100 * killed / len(rows):.0f}%" if rows else "-"
        lines.append(f"| {module} | {len(rows)} | {killed} | {len(rows) - killed} | {rate} |")
    survivors = [r for r in results if r["outcome"] == "survived"]
    lines += ["", "survivors:"] + [f"- {r['module']}: {r['change']}" for r in survivors]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
