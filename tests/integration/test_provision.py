"""Local resources come from template.yaml itself, so they cannot drift from the stack."""

from __future__ import annotations

import boto3

from jobalerts_local.template import LocalStack, load_template


def test_every_table_has_the_key_schema_and_indexes_of_the_template(stack: LocalStack) -> None:
    # Given the stack provisioned on moto from template.yaml
    client = boto3.client("dynamodb")
    declared = {
        lid: r["Properties"]
        for lid, r in load_template()["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    # Then each table exists with the same keys and GSIs, and streams where declared
    for logical_id, props in declared.items():
        table = client.describe_table(TableName=stack.physical(logical_id))["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        declared_indexes = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])}
        actual_indexes = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert actual_indexes == declared_indexes
        assert ("LatestStreamArn" in table) == ("StreamSpecification" in props)


def test_the_delivery_queue_redrives_to_its_dead_letter_queue(stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.physical("DeliveryQueue"), AttributeNames=["All"]
    )["Attributes"]
    assert stack.attrs[("DeliveryDeadLetterQueue", "Arn")] in attributes["RedrivePolicy"]


def test_functions_get_the_environment_the_template_gives_them(stack: LocalStack) -> None:
    digest = stack.functions["DigestFunction"].environment
    assert digest["DELIVERY_QUEUE_URL"] == stack.physical("DeliveryQueue")
    assert digest["MATCHES_TABLE"] == stack.physical("MatchesTable")
    # The subscriptions function builds links from the public base URL parameter.
    assert stack.functions["SubscriptionsFunction"].environment["PUBLIC_BASE_URL"] == (
        "http://jobalerts.test"
    )
