"""The simulator's cheaper moto transactions keep moto's all-or-nothing outcome."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from jobalerts_local.fast_moto import cheap_queries, cheap_transactions
from jobalerts_local.template import LocalStack


def key(sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": "p"}, "sk": {"S": sk}}


@pytest.fixture
def table(stack: LocalStack) -> str:
    name = stack.refs["StateTable"]
    boto3.client("dynamodb").put_item(TableName=name, Item={**key("a"), "n": {"N": "1"}})
    return name


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table: str) -> None:
    client = boto3.client("dynamodb")
    with cheap_transactions():
        # Given a transaction that updates a, creates b, deletes a, then fails its last condition
        items = [
            {"Update": {"TableName": table, "Key": key("a"), "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Put": {"TableName": table, "Item": {**key("b"), "n": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": table, "Key": key("c"),
                                "ConditionExpression": "attribute_exists(pk)"}},
        ]  # fmt: skip
        # When it runs
        with pytest.raises(ClientError) as raised:
            client.transact_write_items(TransactItems=items)
        # Then it is cancelled, a keeps its value and b was never created
        assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert client.get_item(TableName=table, Key=key("a"))["Item"]["n"] == {"N": "1"}
        assert "Item" not in client.get_item(TableName=table, Key=key("b"))


def test_a_transaction_that_holds_applies_every_write(table: str) -> None:
    client = boto3.client("dynamodb")
    with cheap_transactions():
        client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": table, "Key": key("a")}},
                {"Put": {"TableName": table, "Item": {**key("b"), "n": {"N": "3"}}}},
            ]
        )
        assert "Item" not in client.get_item(TableName=table, Key=key("a"))
        assert client.get_item(TableName=table, Key=key("b"))["Item"]["n"] == {"N": "3"}


def _queries(client: Any, table: str) -> list[Any]:
    """Base-table and index queries, forwards, backwards and paged, as the service asks them."""
    answers = []
    for subscriber in ("s1", "s2", "nobody"):
        for forward in (True, False):
            answers.append(
                client.query(
                    TableName=table,
                    KeyConditionExpression="subscriber_id = :s AND begins_with(sk, :m)",
                    ExpressionAttributeValues={":s": {"S": subscriber}, ":m": {"S": "m#"}},
                    ScanIndexForward=forward,
                )["Items"]
            )
    pages, start = [], None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = client.query(
            TableName=table,
            IndexName="due-index",
            KeyConditionExpression="due_shard = :d AND due_at <= :t",
            ExpressionAttributeValues={":d": {"S": "0"}, ":t": {"S": "2026-12-01T09:00"}},
            Limit=3,
            **extra,
        )
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return [*answers, pages]


def test_cheaper_queries_answer_exactly_as_moto_does(stack: LocalStack) -> None:
    # Given matches for two subscribers across two due shards, some without a due time
    client = boto3.client("dynamodb")
    table = stack.refs["MatchesTable"]
    for n in range(12):
        item = {"subscriber_id": {"S": f"s{n % 2 + 1}"}, "sk": {"S": f"m#{n:02d}"}}
        if n % 3:
            item |= {"due_shard": {"S": str(n % 2)}, "due_at": {"S": f"2026-12-01T0{n % 10}:00"}}
        client.put_item(TableName=table, Item=item)
    # When the same queries run with moto's own Query and with the cheaper one
    expected = _queries(client, table)
    with cheap_queries():
        found = _queries(client, table)
    # Then every answer and every page is the same, in the same order
    assert found == expected
    assert any(expected[:6])
    assert len(expected[-1]) > 1
