"""The simulator's cheaper moto transactions keep moto's all-or-nothing outcome."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from jobalerts_local.fast_moto import cheap_transactions
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
