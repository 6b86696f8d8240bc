"""moto's TransactWriteItems and Query without whole-table work, for long simulated runs.

To roll a failed transaction back, moto deep-copies every table the transaction names, once per
item (a 25-item stamp of due markers copies the matches table 25 times). A simulated run makes
thousands of transactions (every delivery claim and sent mark, every sign-up) on tables that
grow as it goes: profiled with py-spy, the copying was the biggest single cost of
`jobalerts simulate` on the seeded workload and grew with the square of its length. Here only
the items the transaction names are copied, and put back if it fails; the outcome is moto's
own. Tables with a stream keep moto's way (a rolled-back write must not leave stream records).

Every Query in moto sorts every item of the table (`Table.all_items`) before it looks at the key,
and then sorts the results again by the key it was asked for. Profiled on a 40-person workload,
that first sort and its comparisons were 30% of the run, and a table grows all run long. Here a
query on the table's own key reads only that partition, and an index query skips the first sort;
moto's second sort gives the same order, so results and pages are moto's own.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


class _TablesAsTheyAre:
    """Stands in for the `copy` module inside moto's DynamoDB models during a transaction."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is not None:
        if item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item


@contextmanager
def cheap_transactions() -> Iterator[None]:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items:
            op: Any = next(iter(entry.values()), {}) if isinstance(entry, dict) else {}
            table = self.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
            if table is None or table.stream_shard is not None:
                return original(self, transact_items)
            key = op.get("Key") or op.get("Item") or {}
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError):
                return original(self, transact_items)  # moto reports the bad request
            current = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        with mock.patch.object(models, "copy", _TablesAsTheyAre):
            try:
                return original(self, transact_items)
            except BaseException:
                # Later writes first, so a key named twice ends as it was before.
                for table, hash_key, range_key, item in reversed(saved):
                    _restore(table, hash_key, range_key, item)
                raise

    with mock.patch.object(models.DynamoDBBackend, "transact_write_items", transact_write_items):
        yield


class _QueryScope(threading.local):
    """The partition the current thread's query asked for; `None` outside a query."""

    hash_key: Any = None
    active: bool = False


@contextmanager
def cheap_queries() -> Iterator[None]:
    from moto.dynamodb.models.table import Table

    scope = _QueryScope()
    original_query, original_all_items = Table.query, Table.all_items

    def all_items(self: Any) -> list[Any]:
        if not scope.active:
            return original_all_items(self)
        if scope.hash_key is None:
            partitions = list(self.items.values())
        else:
            partitions = [self.items[scope.hash_key]] if scope.hash_key in self.items else []
        if not self.range_key_attr:
            return partitions
        return [item for partition in partitions for item in partition.values()]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        scope.hash_key = None if index_name else hash_key
        scope.active = True
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            scope.active, scope.hash_key = False, None

    with (
        mock.patch.object(Table, "query", query),
        mock.patch.object(Table, "all_items", all_items),
    ):
        yield
