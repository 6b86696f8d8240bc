"""Addresses SES reported as permanently bounced or complaining: they receive nothing more.

Kept apart from the subscriber so that signing up again with the same address (a new subscriber
id) stays suppressed. Addresses are stored as SHA-256 digests, never in clear.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobalerts.store import keys
from jobalerts.store._dynamo import translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def address_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class SuppressionList:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, email: str, reason: str, now: datetime | None = None) -> None:
        with translated("suppression list"):
            self.table.put_item(
                Item={
                    **keys.suppressed_email(address_digest(email)),
                    "reason": reason,
                    "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
                }
            )

    def contains(self, email: str) -> bool:
        with translated("suppression list"):
            page = self.table.get_item(
                Key=keys.suppressed_email(address_digest(email)), ConsistentRead=True
            )
        return "Item" in page
