"""The fault hook: it runs inside botocore's retry loop, and its ambiguous case takes effect."""

from __future__ import annotations

import contextlib
import random

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from jobalerts_local.faults import FaultInjector, SimulatedCrash, installed
from jobalerts_local.template import LocalStack

ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def table(stack: LocalStack) -> str:
    return stack.refs["StateTable"]


def injector(*kinds: str) -> FaultInjector:
    return FaultInjector(rate=1.0, rng=random.Random(1), kinds=kinds)


def test_a_read_timeout_is_raised_after_the_write_took_effect(table: str) -> None:
    # Given every call times out after reaching AWS
    faults = injector("read_timeout")
    with installed(faults):
        client = boto3.client("dynamodb", config=ONE_ATTEMPT)
        # When an item is written inside a function
        with faults.enabled(), pytest.raises(ReadTimeoutError):
            client.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
        # Then the caller saw a timeout, yet the item is there
        item = client.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert "Item" in item
    assert faults.counts["read_timeout"] == 1


def test_botocore_retries_each_faulted_attempt_and_classifies_throttling(table: str) -> None:
    # Given every attempt is throttled and the client makes three attempts
    faults = injector("throttling")
    with installed(faults):
        client = boto3.client(
            "dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 3})
        )
        with faults.enabled(), pytest.raises(ClientError) as raised:
            client.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    # Then the hook ran once per attempt (before-send, inside the retry loop) and botocore
    # read the error as throttling
    assert faults.counts["throttling"] == 3
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


@pytest.mark.parametrize("kind", ["throttling", "http_500", "http_503", "connection_reset"])
def test_a_refused_or_dropped_request_never_takes_effect(table: str, kind: str) -> None:
    # Given every call is refused before it reaches AWS
    faults = injector(kind)
    with installed(faults):
        client = boto3.client("dynamodb", config=ONE_ATTEMPT)
        # When a function writes an item and is told no
        with faults.enabled(), pytest.raises(Exception):  # noqa: B017, PT011 - any refusal
            client.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
        # Then the item is not there: botocore emits before-send to every handler, so an error
        # answer from the hook must also keep moto from carrying the request out (it did:
        # a throttled SES send went out, was retried and sent twice, "unexplained")
        assert "Item" not in client.get_item(
            TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "b"}}
        )
    assert faults.counts[kind] == 1


def handler_that_swallows_errors(client: object, table: str) -> None:
    with contextlib.suppress(Exception):
        client.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})  # type: ignore[attr-defined]


def test_a_crash_escapes_every_except_exception(table: str) -> None:
    # Given an invocation armed to crash at its first call
    faults = injector("throttling")
    faults.arm(at=1)
    with installed(faults):
        client = boto3.client("dynamodb", config=ONE_ATTEMPT)
        with faults.enabled(), pytest.raises(SimulatedCrash):
            handler_that_swallows_errors(client, table)
        # And outside a function the harness's own calls are never faulted
        assert "Item" not in client.get_item(
            TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "b"}}
        )
