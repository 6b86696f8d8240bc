"""Fixtures shared by every test: fake credentials, and the whole stack on moto from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

# Before anything imports boto3: no test may reach a real AWS account.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="JobAlerts",
    POWERTOOLS_DEV="false",
)

TEST_BASE_URL = "http://jobalerts.test"

# The instant the `clock` fixture pins: the sample events' time, a Monday in November.
FIXED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[datetime]:
    """Given the wall clock at FIXED_NOW (ticking on from there), for code that reads the clock
    itself (HTTP handlers verifying tokens, the match worker's due times, the local service).

    Code that takes `now` gets it passed instead; this is for the handlers whose event carries
    no usable time. Request it before `stack` so the resources are created at the same time.
    """
    with time_machine.travel(FIXED_NOW, tick=True):
        yield FIXED_NOW


@pytest.fixture(autouse=True)
def cold_handlers() -> None:
    """Every test gets cold starts: handler modules (and what they cached) are imported afresh."""
    from jobalerts_local.runtime import cold_start_all

    cold_start_all()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Given every resource of template.yaml created on in-process moto, and its env applied."""
    from moto import mock_aws

    from jobalerts_local.runtime import apply_environment
    from jobalerts_local.settings import get_settings
    from jobalerts_local.template import provision

    with mock_aws():
        created = provision(parameters={"PublicBaseUrl": TEST_BASE_URL})
        for key in created.merged_environment():
            monkeypatch.delenv(key, raising=False)
        snapshot = dict(os.environ)
        apply_environment(created)
        yield created
        os.environ.clear()
        os.environ.update(snapshot)
        get_settings.cache_clear()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--iam-calls",
        action="store_true",
        help="record the AWS calls each handler makes and add them to tests/iam_calls.json",
    )


@pytest.fixture(scope="session", autouse=True)
def iam_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every AWS call a handler makes in any test must be in the recorded file, which
    tests/unit/test_iam.py holds template.yaml to: so a call the suite reaches is a call the
    deployed role allows, however partially the file was recorded. `make iam-calls` (the
    `--iam-calls` flag) merges this run's calls into the file instead (merged, so running part
    of the suite never forgets calls another part made)."""
    from tests.support.iam import RECORDED, dump_recorded, load_recorded, recording

    with recording() as calls:
        yield
    merged = load_recorded() if RECORDED.exists() else {}
    if request.config.getoption("--iam-calls"):
        for function, grants in calls.items():
            merged[function] = merged.get(function, set()) | grants
        dump_recorded(merged)
        return
    missing = {
        f"{function}: {action} on {resource}"
        for function, grants in calls.items()
        for action, resource in grants - merged.get(function, set())
    }
    if missing:
        pytest.fail(
            "handlers made AWS calls that tests/iam_calls.json (and so template.yaml's "
            "policies) leave out; grant them in template.yaml and run `make iam-calls`:\n"
            + "\n".join(sorted(missing)),
            pytrace=False,
        )
