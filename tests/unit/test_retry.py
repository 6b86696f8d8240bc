"""One backoff rule and one set of throttling codes (jobalerts.retry) for every caller."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from jobalerts.retry import THROTTLING_CODES, Backoff, is_throttling

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "jobalerts"


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": ""}}, "Op")


@given(attempt=st.integers(0, 30), seed=st.integers())
def test_a_wait_is_jittered_between_zero_and_a_doubling_capped_ceiling(
    attempt: int, seed: int
) -> None:
    backoff = Backoff(base_seconds=0.25, cap_seconds=4.0)
    assert backoff.ceiling(attempt) == min(4.0, 0.25 * 2**attempt)
    assert 0 <= backoff.delay(attempt, random.Random(seed)) <= backoff.ceiling(attempt)


def test_the_ceiling_doubles_until_the_cap() -> None:
    backoff = Backoff(base_seconds=0.5, cap_seconds=8.0)
    assert [backoff.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",  # DynamoDB
        "TransactionConflictException",  # DynamoDB, a lost race that clears on retry
        "Throttled",  # SNS, as it arrives on the wire
        "Throttling",  # SNS
        "TooManyRequestsException",  # SESv2
        "LimitExceededException",  # SESv2 sending rate
        "AWS.SimpleQueueService.RequestThrottled",  # SQS
    ],
)
def test_each_services_spelling_of_throttled_is_throttling(code: str) -> None:
    assert is_throttling(client_error(code))


@pytest.mark.parametrize("code", ["ConditionalCheckFailedException", "MessageRejected", ""])
def test_other_errors_are_not(code: str) -> None:
    assert not is_throttling(client_error(code))


def test_the_faults_the_local_harness_injects_count_as_throttling() -> None:
    from jobalerts_local.faults import _THROTTLE_CODE

    assert set(_THROTTLE_CODE.values()) <= THROTTLING_CODES


def _code_literals(tree: ast.AST) -> set[str]:
    """Strings in sets and comparisons: where a module would keep error codes of its own."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.Compare):
            found |= {
                c.value
                for c in ast.walk(node)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return found


def test_no_other_module_keeps_its_own_throttling_codes() -> None:
    spelled = {
        f"{path.relative_to(ROOT)}: {code}"
        for path in sorted(LAYER.rglob("*.py"))
        if path.name != "retry.py"
        for code in _code_literals(ast.parse(path.read_text(encoding="utf-8")))
        if code in THROTTLING_CODES
    }
    assert spelled == set()
