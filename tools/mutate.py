"""A small mutation tester: `make mutate` (never part of `make test`).

For each target module it makes every mutant of a few kinds (comparison and boolean operators,
`AND`/`OR` inside DynamoDB condition strings, arithmetic, integer constants, True/False), then
runs, against each mutant, only those of the module's own tests that execute the mutated line, in
a scratch copy of the repo so the worktree is never touched. Which test executes which line comes
from one run of all the target tests under coverage.py with a context per test
(tools/mutate_plugin.py). A line that only runs at import (a constant, a default, a decorator)
gets all the module's tests; a line no test executes cannot be killed, so it is reported as a
survivor without running anything. A mutant is killed when the tests fail or time out (three
times the unmutated run of the same tests: an endless loop is a kill). Results go to
out/mutate/results.jsonl as they come, and a summary per module (out/mutate/summary.md) at the
end. mutmut 3 needs the code under a src/ layout it can trampoline; this needs nothing.

    python tools/mutate.py [--sample N] [--seed S] [--module NAME ...] [--workers W]
    python tools/mutate.py --survivors            # run again only what survived last time
    python tools/mutate.py --summary              # the table from out/mutate/results.jsonl
"""

from __future__ import annotations

import argparse
import ast
import contextlib
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

# module -> the tests that are meant to pin it down. Only those of them that execute a mutated
# line run against it (see `selection`), so a wider list costs collection time, not runs.
TARGETS: dict[str, list[str]] = {
    f"{PKG}/tokens.py": ["tests/unit/test_tokens.py"],
    f"{PKG}/schedule.py": ["tests/unit/test_schedule.py"],
    f"{PKG}/identity.py": ["tests/unit/test_identity.py", "tests/unit/test_compose.py"],
    f"{PKG}/query.py": ["tests/unit/test_query.py", "tests/unit/test_query_errors.py"],
    f"{PKG}/store/deliveries.py": [
        "tests/integration/test_delivery_records.py",
        "tests/integration/test_deliver_function.py",
    ],
    f"{PKG}/delivery/deliver.py": [
        "tests/integration/test_deliver_function.py",
        "tests/unit/test_deliver_limits.py",
    ],
    f"{PKG}/store/matches.py": [
        "tests/integration/test_matches_repository.py",
        "tests/integration/test_repositories.py",
        "tests/integration/test_match_writes.py",
        "tests/integration/test_match_function.py",
        "tests/integration/test_digest_function.py",
        "tests/integration/test_deliver_function.py",
        "tests/integration/test_subscriptions_edit.py",
    ],
    # Its conditions keep a deleted search deleted against a racing edit or status change.
    f"{PKG}/store/searches.py": [
        "tests/integration/test_repositories.py",
        "tests/integration/test_subscriptions_edit.py",
        "tests/integration/test_subscriptions_api.py",
        "tests/integration/test_match_function.py",
        "tests/integration/test_index_snapshot.py",
        "tests/integration/test_match_shards.py",
    ],
}
COPY = [
    "layers",
    "local",
    "tests",
    "tools",
    "functions",
    "events",
    "template.yaml",
    "pyproject.toml",
]

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
    code: str = ""  # the mutated line as written, stripped
    lines: frozenset[int] = frozenset()  # where coverage may record it as executed

    @property
    def change(self) -> str:
        return self.description.split(": ", 1)[1]


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
            assert isinstance(value, str)
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


def _lines(tree: ast.AST) -> list[set[int]]:
    """For each mutant (by index), the lines coverage may record for it: its own lines and the
    first line of the statement around it (coverage files a multi-line statement under that)."""
    statement_of: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            # Compound statements: only their header belongs to them, not their bodies.
            header: list[ast.AST] = []
            for field in ("test", "iter", "target", "items", "value", "targets", "decorator_list"):
                value = getattr(node, field, None)
                header += value if isinstance(value, list) else [value] if value else []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                header += [node.args]
            if isinstance(node, ast.ClassDef):
                header += [*node.bases, *node.keywords]
            for part in header:
                for inner in ast.walk(part):
                    statement_of.setdefault(id(inner), node)
    found: list[set[int]] = []
    for node, _, _ in _sites(tree):
        first = getattr(node, "lineno", 0)
        lines = set(range(first, (getattr(node, "end_lineno", None) or first) + 1))
        statement = statement_of.get(id(node))
        if statement is not None:
            lines.add(statement.lineno)
        found.append(lines)
    return found


def mutants(module: str) -> list[Mutant]:
    source = (ROOT / module).read_text()
    text = source.splitlines()
    found = []
    for i, (description, lines) in enumerate(
        zip(changes(source), _lines(ast.parse(source)), strict=True)
    ):
        line = int(description.split(":")[0].removeprefix("line "))
        found.append(Mutant(module, i, line, description, text[line - 1].strip(), frozenset(lines)))
    return found


def mutated_source(module: str, index: int) -> str:
    return mutate((ROOT / module).read_text(), index)


def equivalence(module: str, code: str, description: str) -> str | None:
    """Why this mutant cannot be killed, if it is one of the known equivalent mutants."""
    change = description.split(": ", 1)[1]
    for (where, line, what), why in EQUIVALENT.items():
        if module.endswith(where) and line == code and what == change:
            return why
    return None


_END_COLUMN_NEVER_REPORTED = (
    "the end's column is never reported: every error names a lexeme before the end "
    "(30,000 random queries with accents and full-width operators agree)"
)

# (module, the mutated line as written, the change) -> why no test can tell the mutant apart.
# Keyed by the line's text, not its number, so the list survives edits elsewhere in the module.
# A `ConsistentRead=True` turned False: the reason for every such equivalent mutant.
MOTO_CONSISTENT = (
    "moto's reads are always consistent (on DynamoDB it matters; no test on moto sees it)"
)
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("tokens.py", 'return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))', "4 -> 5"): (
        "the base64 decoder ignores surplus padding"
    ),
    ("tokens.py", "@dataclass(frozen=True)", "True -> False"): (
        "nothing assigns to or hashes a Signer"
    ),
    (
        "tokens.py",
        'if int(payload.get("e", 0)) < (now if now is not None else time.time()):',
        "0 -> 1",
    ): "every token we sign has `e`; one without it is expired at 0 and at 1 alike",
    ("schedule.py", "for _ in range(10):", "10 -> 11"): "a weekday recurs within 7 days",
    ("schedule.py", "day = after.astimezone(zone).date() - timedelta(days=1)", "1 -> 2"): (
        "starting a day earlier adds only slots before `after`; ten days still reach a week on"
    ),
    (
        "schedule.py",
        'return window.astimezone(UTC).replace(microsecond=0).isoformat(timespec="seconds")',
        "0 -> 1",
    ): 'isoformat(timespec="seconds") drops the microseconds anyway',
    (
        "schedule.py",
        "quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)",
        "Gt -> GtE",
    ): "`start == end` returned None a few lines up, so `>` and `>=` agree here",
    ("schedule.py", "if start > end and hour >= start:", "Gt -> GtE"): (
        "`start == end` returned None a few lines up, so `>` and `>=` agree here"
    ),
    # Each AST class has `frozen=True, slots=True`: both mutants read "True -> False" on one
    # line. The frozen one is killed (test_a_parsed_query_is_an_immutable_value...); this
    # reason is for the slots one, which only changes memory use.
    ("query.py", "@dataclass(frozen=True, slots=True)", "True -> False"): (
        "`slots=False` only costs memory; the `frozen=True` mutant on the same line is killed"
    ),
    ("query.py", "column: int = field(default=0, compare=False)", "0 -> 1"): (
        "the parser always passes a column; hand-built ASTs never compare it (compare=False)"
    ),
    ("query.py", "terms.append(f\"lang:{code.split('-', 1)[0]}\")", "1 -> 2"): (
        "the first piece of a split is the same whatever the number of splits"
    ),
    ("query.py", "return text, list(range(1, len(raw) + 2))", "2 -> 3"): (
        "one more column past the end: no error is ever reported past the end of the query"
    ),
    ("query.py", "while start < len(raw):", "Lt -> LtE"): (
        "at `start == len(raw)` the extra turn adds an empty piece and no column"
    ),
    ("query.py", "columns.append(len(raw) + 1)", "Add -> Sub"): _END_COLUMN_NEVER_REPORTED,
    ("query.py", "columns.append(len(raw) + 1)", "1 -> 2"): _END_COLUMN_NEVER_REPORTED,
    ("query.py", 'while self.peek()[0] == "OR":', "0 -> 1"): (
        "`parse_and` stops only at OR, `)` or the end, so the lexeme here is one of those, "
        'whose text is its kind (a quoted "OR" is a phrase, taken inside `parse_and`)'
    ),
    ("query.py", 'if self.peek()[0] != ")":', "0 -> 1"): (
        "after `parse_or` the next lexeme is `)` or the end, whose texts are `)` and empty, "
        "so comparing the text decides as comparing the kind"
    ),
    ("query.py", "column or 1,", "1 -> 2"): (
        "the parser gives every node a column of at least 1; `or 1` only guards hand-built ASTs"
    ),
    (
        "store/deliveries.py",
        'lease_until=datetime.fromtimestamp(int(data.get("lease_until", 0)), UTC),',
        "0 -> 1",
    ): "every window record is written by `claim`, which sets `lease_until`: the default is "
    "never read",
    (
        "store/deliveries.py",
        'return int(item.get("sent", 0)) if item else 0  # type: ignore[arg-type]',
        "0 -> 1",
    ): "the counter item is only written by `ADD sent :one`, so it always has `sent`",
    (
        "delivery/deliver.py",
        "later = max(now, window + timedelta(seconds=1)).replace(microsecond=0)",
        "0 -> 1",
    ): "the marker's key and due time are written in whole seconds (`window_key`), so one "
    "microsecond more changes nothing stored",
    ("delivery/deliver.py", "@dataclass(frozen=True)", "True -> False"): (
        "nothing assigns to or hashes the stores bundle"
    ),
    (
        "delivery/deliver.py",
        "@tracer.capture_method(capture_response=False)",
        "False -> True",
    ): "the tracer is off outside Lambda (POWERTOOLS_TRACE_DISABLED): what it records is unseen",
    ("store/deliveries.py", "@dataclass(frozen=True)", "True -> False"): (
        "mutability is not behaviour"
    ),
    (
        "store/deliveries.py",
        "page = self.table.get_item(Key=self._window_key(request), ConsistentRead=True)",
        "True -> False",
    ): MOTO_CONSISTENT,
    (
        "store/deliveries.py",
        "Key=keys.sms_counter(subscriber_id, day), ConsistentRead=True",
        "True -> False",
    ): MOTO_CONSISTENT,
    (
        "store/deliveries.py",
        'item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")',
        "True -> False",
    ): MOTO_CONSISTENT,
    ("store/deliveries.py", "ConsistentRead=True,", "True -> False"): MOTO_CONSISTENT,
    (
        "store/searches.py",
        'Key={"subscriber_id": subscriber_id, "search_id": search_id}, ConsistentRead=True',
        "True -> False",
    ): MOTO_CONSISTENT,
    ("store/matches.py", "STAMP_CONCURRENCY = 10", "10 -> 11"): (
        "a tuning constant: 11 threads make the same stamps (botocore's pool of 10 queues one)"
    ),
    ("store/matches.py", "if len(markers) <= 1:", "LtE -> Lt"): (
        "a fast path: a pool of one or none makes the same stamps as the loop"
    ),
    ("store/matches.py", "if len(markers) <= 1:", "1 -> 2"): (
        "a fast path: two markers stamped in the loop are the same stamps as in the pool"
    ),
    # Both the sent log's batch read (`already_sent`) and the partition query (`_items`).
    ("store/matches.py", '"ConsistentRead": True,', "True -> False"): MOTO_CONSISTENT,
}


def _scratch() -> Path:
    where = Path(tempfile.mkdtemp(prefix="jobalerts-mutate-"))
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, where / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(source, where / name)
    return where


def _env(where: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{where / 'layers'}{os.pathsep}{where / 'local'}{os.pathsep}{where}",
    }
    env.update(extra)
    return env


def _pytest_args(tests: list[str]) -> list[str]:
    return [
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "tools.mutate_plugin",
        "-o",
        "addopts=",
        *tests,
    ]


# Imported once by each test server before it forks a run per mutant: under load, importing
# these takes most of a short pytest run. None of them imports the code under test.
_PRELOAD = (
    "pytest",
    "_pytest.python",
    "pytest_timeout",
    "hypothesis",
    "hypothesis.strategies",
    "time_machine",
    "boto3",
    "botocore.session",
    "moto",
    "moto.core",
    "pydantic",
    "jinja2",
    "yaml",
    "httpx",
    "aws_lambda_powertools",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.logging",
)


def _module_imports(root: Path) -> dict[str, set[str]]:
    """For each module of our two packages, the modules of ours importing it runs at once:
    module-level imports (an import inside a function runs later, in the fork) and parents."""
    graph: dict[str, set[str]] = {}
    for base in (root / "layers", root / "local"):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            package = parts[:-1]  # an __init__ is its own package
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found = {".".join(package[:i]) for i in range(1, len(package) + 1)} - {name}
            for node in ast.parse(path.read_text()).body:
                for inner in ast.walk(node):
                    if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                        break
                    if isinstance(inner, ast.Import):
                        found.update(alias.name for alias in inner.names)
                    elif isinstance(inner, ast.ImportFrom):
                        anchor = package[: len(package) - inner.level + 1] if inner.level else []
                        module = ".".join([*anchor, *([inner.module] if inner.module else [])])
                        found.add(module)
                        found.update(f"{module}.{alias.name}" for alias in inner.names)
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            found |= {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
            graph[name] = {m for m in found if m.split(".")[0] in {"jobalerts", "jobalerts_local"}}
    return graph


def _preloadable(root: Path, targets: list[str]) -> list[str]:
    """Our modules that can be imported before the fork: none of them reaches a target module,
    so none holds a reference to the unmutated code."""
    graph = _module_imports(root)
    banned = {m.removeprefix("layers/").removesuffix(".py").replace("/", ".") for m in targets}

    def bad(name: str) -> bool:
        # Plain reachability: package __init__s and their modules import each other in cycles.
        seen, todo = {name}, [name]
        while todo:
            current = todo.pop()
            if current in banned:
                return True
            fresh = graph.get(current, set()) - seen
            seen |= fresh
            todo += fresh
        return False

    return sorted(name for name in graph if not bad(name))


def serve() -> None:
    """A test server (`python tools/mutate.py --serve`, cwd a scratch copy): preload the slow
    imports, then for each request line `{"files": [...], "only": [...] | null, "budget": s}`
    fork a pytest run and answer `passed`, `failed` or `timeout`. A fork starts with nothing of
    the project imported, so each run sees the module as it is on disk, mutant and all."""
    import importlib
    import signal

    ours = _preloadable(Path.cwd(), list(TARGETS))
    for name in [*_PRELOAD, *ours]:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    answer = sys.stdout
    stale = {m.removeprefix("layers/").removesuffix(".py").replace("/", ".") for m in TARGETS}
    if stale & sys.modules.keys():
        # A preloaded module imported a target: every mutant of it would "survive".
        sys.stdout.write(f"preloaded {sorted(stale & sys.modules.keys())}\n")
        return
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for request_line in sys.stdin:
        request = json.loads(request_line)
        log = Path(request["log"])
        child = os.fork()
        if child == 0:  # pragma: no cover - the child never returns
            code = 3
            try:
                sink = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(sink, 1)
                os.dup2(sink, 2)
                if request["only"] is not None:
                    os.environ["JOBALERTS_MUTATE_ONLY"] = request["only"]
                import pytest

                code = int(pytest.main(request["args"]))
            finally:
                os._exit(code)
        deadline = time.monotonic() + request["budget"]
        status: int | str | None = None
        while status is None:
            done, raw = os.waitpid(child, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
            elif time.monotonic() > deadline:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                status = "timeout"
            else:
                time.sleep(0.05)
        if status == "timeout":
            outcome = "timeout"
        elif status == 0:
            outcome = "passed"
        elif status == 5:  # nothing collected: the selection is wrong, not the mutant killed
            outcome = "error: no tests ran"
        elif "Timeout" in log.read_text(errors="replace"):
            outcome = "timeout"
        else:
            outcome = "failed"
        answer.write(outcome + "\n")
        answer.flush()


class Server:
    """One test server per scratch copy, driven over its stdin and stdout."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(where / "tools" / "mutate.py"), "--serve"],
            cwd=where,
            env=_env(where),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the test server in {where} did not start")

    def run(self, files: list[str], only: list[str] | None, budget: float) -> str:
        """'passed', 'failed' or 'timeout' for these test files, only the node ids `only` of
        them when given, within `budget` seconds."""
        listing = None
        if only is not None:
            listing = self.where / "mutate-only.json"
            listing.write_text(json.dumps(only))
        args = [*_pytest_args(files), "--timeout", str(int(budget) + 1)]
        request = {
            "args": args,
            "only": str(listing) if listing else None,
            "budget": budget,
            "log": str(self.where / "mutate-run.log"),
        }
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        outcome = self.process.stdout.readline().strip()
        if outcome not in {"passed", "failed", "timeout"}:
            log = (self.where / "mutate-run.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{outcome or 'the test server died'} for {only}: {log}")
        return outcome

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@dataclass
class Coverage:
    """Which tests execute each line of each target module, and how long each test takes."""

    contexts: dict[str, dict[int, set[str]]]  # module -> line -> node ids ("" for import time)
    durations: dict[str, float]
    startup: float  # seconds pytest takes to start and collect, before any test runs


def collect(where: Path, targets: dict[str, list[str]]) -> Coverage:
    """Run every target test once under coverage with one context per test."""
    files = sorted({f for tests in targets.values() for f in tests})
    data_file = where / ".mutate-coverage"
    durations_file = where / "mutate-durations.json"
    include = ",".join(str(where / m) for m in targets)
    command = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        f"--data-file={data_file}",
        f"--include={include}",
        "-m",
        "pytest",
        *_pytest_args(files),
    ]
    env = _env(where, JOBALERTS_MUTATE_CONTEXTS="1", JOBALERTS_MUTATE_DURATIONS=str(durations_file))
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stdout.decode()[-4000:] + done.stderr.decode()[-4000:])
        raise SystemExit("the target tests do not pass unmutated")
    import coverage  # a dev dependency; imported here so the unit tests of the mutants need none

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    contexts: dict[str, dict[int, set[str]]] = {}
    for module in targets:
        path = str(where / module)
        if path not in data.measured_files():
            # The tests imported the module from somewhere else (an installed copy): mutating
            # the scratch copy would then change nothing and every mutant would "survive".
            raise SystemExit(
                f"{module} was not measured in {where}: {sorted(data.measured_files())}"
            )
        contexts[module] = {
            line: set(names) for line, names in data.contexts_by_lineno(path).items()
        }
    durations = json.loads(durations_file.read_text())
    return Coverage(contexts, durations, startup=0.0)


def _save(cov: Coverage, path: Path) -> None:
    """Add this coverage to the saved one: a run over some modules keeps the others'."""
    saved = json.loads(path.read_text()) if path.exists() else {"contexts": {}, "durations": {}}
    contexts = {
        m: {str(k): sorted(v) for k, v in lines.items()} for m, lines in cov.contexts.items()
    }
    saved["contexts"].update(contexts)
    saved["durations"].update(cov.durations)
    path.write_text(json.dumps(saved))


def _load(path: Path, targets: dict[str, list[str]]) -> Coverage:
    """The coverage of an earlier run: valid while no target module or test has changed."""
    saved = json.loads(path.read_text())
    missing = set(targets) - set(saved["contexts"])
    if missing:
        raise SystemExit(f"{path} has no coverage of {sorted(missing)}")
    contexts = {
        m: {int(k): set(v) for k, v in lines.items()} for m, lines in saved["contexts"].items()
    }
    return Coverage(contexts, saved["durations"], startup=0.0)


def selection(mutant: Mutant, tests: list[str], cov: Coverage) -> list[str] | None:
    """The node ids to run against `mutant`: [] when no test executes its line, None for all of
    the module's tests (its line runs at import, so any test may see the change)."""
    names: set[str] = set()
    for line in mutant.lines:
        names |= cov.contexts[mutant.module].get(line, set())
    if "" in names:
        return None
    return sorted(n for n in names if n.split("::")[0] in tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--module", action="append", help="only modules whose path has this")
    parser.add_argument("--mutant", type=int, action="append", help="only these mutant numbers")
    parser.add_argument("--survivors", action="store_true", help="only last run's survivors")
    parser.add_argument("--summary", action="store_true", help="print the last run's table")
    parser.add_argument("--workers", type=int, default=1, help="at most 2 on a shared machine")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "mutate")
    parser.add_argument(
        "--reuse-coverage", action="store_true", help="the last run's coverage (nothing changed)"
    )
    parser.add_argument("--resume", action="store_true", help="skip mutants already in results")
    parser.add_argument(
        "--extra-test", action="append", default=[], help="node id to run on every mutant too"
    )
    parser.add_argument(
        "--test-file", action="append", help="use only these test files for the chosen modules"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    results_path = args.out / "results.jsonl"
    if args.summary:
        print(summary(_read(results_path)))
        return 0

    # Modules run in the order --module names them.
    order = args.module or [""]
    targets = {m: args.test_file or TARGETS[m] for s in order for m in TARGETS if s in m}
    previous = _read(results_path) if args.survivors else []
    again = {
        (r["module"], r["code"], str(r["change"]).split(": ", 1)[1])
        for r in previous
        if str(r["outcome"]).startswith("survived")
    }
    jobs: list[Mutant] = []
    for module in targets:
        found = [m for m in mutants(module) if not args.mutant or m.index in args.mutant]
        if args.survivors:
            found = [m for m in found if (_short(m.module), m.code, m.change) in again]
        if args.sample and len(found) > args.sample:
            found = sorted(
                random.Random(args.seed).sample(found, args.sample), key=lambda m: m.index
            )
        jobs += found
    earlier = kept_results(
        _read(results_path) if results_path.exists() else [],
        {_short(m) for m in targets},
        resume=args.resume,
    )
    done = {(r["module"], r["mutant"]) for r in earlier} if args.resume else set()
    jobs = [j for j in jobs if (_short(j.module), j.index) not in done]
    targets = {m: t for m, t in targets.items() if any(j.module == m for j in jobs)}
    args.out.mkdir(parents=True, exist_ok=True)

    scratches = [_scratch() for _ in range(max(1, args.workers))]
    servers: list[Server] = []
    try:
        started = time.monotonic()
        coverage_path = args.out / "coverage.json"
        if args.reuse_coverage:
            cov = _load(coverage_path, targets)
        else:
            cov = collect(scratches[0], targets)
            _save(cov, coverage_path)
        servers = [Server(where) for where in scratches]
        # Start-up inside a server: fork, collect the target files, run nothing.
        files = sorted({f for tests in targets.values() for f in tests})
        begun = time.monotonic()
        servers[0].run([*files, "--collect-only"], None, 600)
        cov.startup = time.monotonic() - begun
        print(
            f"coverage of {len(cov.durations)} tests in {time.monotonic() - started:.0f}s; "
            f"start-up {cov.startup:.1f}s; {len(jobs)} mutants",
            flush=True,
        )
        results = _run(
            jobs,
            targets,
            cov,
            servers,
            results_path,
            append=args.survivors,
            resume=args.resume,
            extra=tuple(args.extra_test),
        )
        results = earlier + results
    finally:
        for server in servers:
            server.close()
        for where in scratches:
            shutil.rmtree(where, ignore_errors=True)
    if args.survivors:
        fresh = {(r["module"], r["mutant"]): r for r in results}
        results = [fresh.get((r["module"], r["mutant"]), r) for r in previous]
    if args.survivors or not args.resume:
        results_path.write_text("".join(json.dumps(r) + "\n" for r in results))
    table = summary(results)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)
    return 0


def kept_results(
    previous: list[dict[str, object]], running: set[str], *, resume: bool
) -> list[dict[str, object]]:
    """What a run keeps of the last results: all of them when resuming, else the modules it does
    not run (a run of one module used to leave only that module's results, and the table with
    it)."""
    if resume:
        return previous
    return [r for r in previous if r["module"] not in running]


def _short(module: str) -> str:
    return module.removeprefix(f"{PKG}/")


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run(
    jobs: list[Mutant],
    targets: dict[str, list[str]],
    cov: Coverage,
    servers: list[Server],
    results_path: Path,
    *,
    append: bool,
    resume: bool = False,
    extra: tuple[str, ...] = (),
) -> list[dict[str, object]]:
    free = list(servers)
    out = results_path.with_suffix(".rerun.jsonl") if append else results_path
    if not resume:
        out.write_text("")

    def one(mutant: Mutant) -> dict[str, object]:
        tests = targets[mutant.module]
        only = selection(mutant, tests, cov)
        if only is not None and extra:
            # Tests written after the coverage run: they run too (a slow machine's shortcut
            # for confirming that new tests kill the survivors they were written for).
            only = sorted({*only, *(n for n in extra if n.split("::")[0] in tests)})
            cov.durations.update({n: cov.durations.get(n, 5.0) for n in extra})
        chosen = list(cov.durations) if only is None else only
        chosen = [n for n in chosen if n.split("::")[0] in tests]
        # A loaded machine is not a kill: the mutant gets three times the unmutated run.
        budget = max(20.0, 3 * (cov.startup + sum(cov.durations.get(n, 0.0) for n in chosen)))
        started = time.monotonic()
        if only == []:
            outcome = "survived (no test runs it)"
        else:
            server = free.pop()
            target = server.where / mutant.module
            original = target.read_text()
            try:
                target.write_text(mutated_source(mutant.module, mutant.index))
                # Collecting only the files the chosen tests live in saves most of a short run.
                files = tests if only is None else sorted({n.split("::")[0] for n in only})
                ran = server.run(files, only, budget)
            finally:
                target.write_text(original)
                free.append(server)
            outcome = "survived" if ran == "passed" else f"killed ({ran})"
        why = equivalence(mutant.module, mutant.code, mutant.description)
        result: dict[str, object] = {
            "module": _short(mutant.module),
            "mutant": mutant.index,
            "change": mutant.description,
            "code": mutant.code,
            "outcome": outcome,
            "tests": len(chosen),
            "seconds": round(time.monotonic() - started, 1),
        }
        if why and outcome.startswith("survived"):
            result["equivalent"] = why
        with out.open("a") as sink:
            sink.write(json.dumps(result) + "\n")
        print(
            f"{result['module']} #{mutant.index} {mutant.description} "
            f"[{len(chosen)} tests]: {outcome}",
            flush=True,
        )
        return result

    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        return list(pool.map(one, jobs))


def summary(results: list[dict[str, object]]) -> str:
    # Equivalence is judged now, from EQUIVALENT, so adding a reason needs no rerun; a mutant
    # run twice (a resumed or repeated run) counts once, by its latest result.
    latest = {(r["module"], r["mutant"]): r for r in results}
    results = [dict(r) for r in latest.values()]
    for r in results:
        r.pop("equivalent", None)
        why = equivalence(str(r["module"]), str(r.get("code", "")), str(r["change"]))
        if why and str(r["outcome"]).startswith("survived"):
            r["equivalent"] = why
    lines = [
        "| module | mutants | killed | survived | equivalent | kill rate | kill rate of non-equivalent |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    modules = sorted({str(r["module"]) for r in results})
    for module in [*modules, "all"]:
        rows = [r for r in results if module in ("all", r["module"])]
        killed = sum(1 for r in rows if str(r["outcome"]).startswith("killed"))
        equivalent = sum(
            1 for r in rows if "equivalent" in r and str(r["outcome"]).startswith("survived")
        )
        rate = f"{100 * killed / len(rows):.1f}%" if rows else "-"
        real = len(rows) - equivalent
        rate_real = f"{100 * killed / real:.1f}%" if real else "-"
        name = f"`{module}`" if module != "all" else "**all**"
        lines.append(
            f"| {name} | {len(rows)} | {killed} | {len(rows) - killed} | {equivalent} | {rate} | {rate_real} |"
        )
    survivors = [r for r in results if str(r["outcome"]).startswith("survived")]
    lines += ["", "survivors:"]
    lines += [
        f"- `{r['module']}` {r['change']} `{r.get('code', '')}`: "
        + (f"equivalent: {r['equivalent']}" if "equivalent" in r else str(r["outcome"]))
        for r in survivors
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
