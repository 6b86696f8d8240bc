"""What every repository shares: table lookup, item cleaning and AWS error translation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jobalerts import aws
from jobalerts.errors import (
    AlreadyExists,
    Conflict,
    JobAlertsError,
    NotFound,
    Throttled,
    Unavailable,
)
from jobalerts.retry import THROTTLING_CODES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def table_named(name: str) -> Table:
    return aws.table(name)


# UnprocessedKeys come back when a partition is throttled: re-request them after a pause that
# doubles each round, and give up (Throttled: the caller's retry takes over) after this many.
BATCH_GET_ROUNDS = 8
BATCH_GET_BASE_SECONDS = 0.05
BATCH_GET_CAP_SECONDS = 1.0


def batch_get(
    client: Any,
    request: dict[str, Any],
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Every item of a BatchGetItem request, re-requesting unprocessed keys with backoff."""
    for round_ in range(BATCH_GET_ROUNDS):
        if round_:
            sleep(min(BATCH_GET_CAP_SECONDS, BATCH_GET_BASE_SECONDS * 2 ** (round_ - 1)))
        with translated(what):
            page = client.batch_get_item(RequestItems=request)
        for items in page.get("Responses", {}).values():
            yield from items
        request = page.get("UnprocessedKeys") or {}
        if not request:
            return
    raise Throttled(what)


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


def epoch(now: datetime | None = None) -> int:
    return int((now or datetime.now(UTC)).timestamp())


def is_expired(item: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Past its TTL attribute `expiration`; an item without one never expires. DynamoDB deletes
    expired items only lazily (within a day or two), so reads must check for themselves."""
    expiration = item.get("expiration")
    return expiration is not None and int(expiration) < epoch(now)


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
        if code in THROTTLING_CODES:
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
    "batch_get",
    "epoch",
    "epoch_after",
    "from_item",
    "is_expired",
    "now_iso",
    "table_named",
    "to_item",
    "translated",
]
