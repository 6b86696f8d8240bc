"""Opening a table by name, for the composition root (`jobalerts.wiring`): tables are opened in
the store, and which table each repository gets is decided there, from a function's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobalerts.store._dynamo import table_named

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def open_table(name: str) -> Table:
    return table_named(name)
