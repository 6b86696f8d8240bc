"""What ships is what runs: the layer installs a lock that matches pyproject's runtime deps."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "layers" / "requirements.txt"


def _name(requirement: str) -> str:
    """PEP 503 normalised name of a requirement string ("aws-lambda-powertools[tracer]>=3")."""
    bare = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", bare).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==([^ \\]+)", line)
        if found:
            pins[_name(found.group(1))] = found.group(2)
    return pins


def test_every_runtime_dependency_is_pinned_in_the_layer_lock() -> None:
    # Given the runtime dependencies declared once, in pyproject.toml
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    # When the lock the layer builds from is read
    pins = _locked()
    # Then each one has an exact version there (`make lock` regenerates it)
    assert runtime - pins.keys() == set()


def test_the_lock_has_hashes_and_nothing_local_only() -> None:
    text = LOCK.read_text(encoding="utf-8")
    pins = _locked()
    # Every pinned line carries hashes, so a build installs the very bytes that were locked
    assert text.count("--hash=sha256:") >= len(pins)
    # And the local harness's own packages never ship in the layer
    assert {"pyyaml", "moto", "pytest", "hypothesis"} & pins.keys() == set()
