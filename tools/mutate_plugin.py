"""The pytest side of `make mutate` (tools/mutate.py), loaded with `-p tools.mutate_plugin`.

Environment variables switch each part on, so the plugin is inert when loaded without them:
- JOBALERTS_MUTATE_CONTEXTS: name each test's coverage context after its node id, so coverage
  can say which tests execute which line (the run must be under `coverage run`).
- JOBALERTS_MUTATE_DURATIONS=FILE: write {node id: seconds} for every test run.
- JOBALERTS_MUTATE_ONLY=FILE: run only the node ids listed (a JSON list) in that file; node ids
  go through a file because parametrised ids such as `[http://[::1]` do not survive argv.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path

import pytest

_durations: dict[str, float] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    coverage = None
    if os.environ.get("JOBALERTS_MUTATE_CONTEXTS"):
        import coverage as coverage_module  # only present under `coverage run`

        coverage = coverage_module.Coverage.current()
    if coverage is not None:
        coverage.switch_context(item.nodeid)
    yield
    if coverage is not None:
        # Whatever runs between tests (a later module's import) belongs to no test.
        coverage.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only = os.environ.get("JOBALERTS_MUTATE_ONLY")
    if not only:
        return
    wanted = set(json.loads(Path(only).read_text()))
    # A parametrized test's base id (no `[...]`) selects all of its cases.
    chosen = [item.nodeid in wanted or item.nodeid.split("[", 1)[0] in wanted for item in items]
    keep = [item for item, ok in zip(items, chosen, strict=True) if ok]
    config.hook.pytest_deselected(
        items=[item for item, ok in zip(items, chosen, strict=True) if not ok]
    )
    items[:] = keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    where = os.environ.get("JOBALERTS_MUTATE_DURATIONS")
    if where:
        Path(where).write_text(json.dumps(_durations, indent=0, sort_keys=True))
