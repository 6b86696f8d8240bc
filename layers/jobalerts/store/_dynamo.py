"""What every repository shares: table lookup, item cleaning and AWS error translation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from jobalerts.errors import (
    AlreadyExists,
    Conflict,
    JobAlertsError,
    NotFound,
    Throttled,
    Unavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
}


def table_named(name: str) -> Table:
    return boto3.resource("dynamodb").Table(name)


def to_item(data: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB rejects empty strings in key attributes and floats anywhere; None means absent."""
    item: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = Decimal(str(value))
        item[key] = value
    return item


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers come back as Decimal; the models want ints."""
    return {k: (int(v) if isinstance(v, Decimal) and v == int(v) else v) for k, v in item.items()}


def epoch_after(days: float, now: datetime | None = None) -> int:
    """TTL attributes are Unix seconds."""
    return int(((now or datetime.now(UTC)) + timedelta(days=days)).timestamp())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn the AWS error codes callers care about into domain errors; re-raise the rest."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise Conflict(what) from exc
        if code == "ResourceNotFoundException":
            # The table (or index) is missing: an outage, never "this item does not exist".
            raise Unavailable(what) from exc
        if code in _THROTTLING:
            raise Throttled(what) from exc
        if code == "TransactionCanceledException":
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise Conflict(what) from exc
            raise Throttled(what) from exc
        raise


__all__ = [
    "AlreadyExists",
    "Conflict",
    "JobAlertsError",
    "NotFound",
    "Throttled",
    "Unavailable",
    "epoch_after",
    "from_item",
    "now_iso",
    "table_named",
    "to_item",
    "translated",
]
