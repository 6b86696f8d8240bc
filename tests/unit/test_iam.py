"""Least privilege, per function: template.yaml grants each function exactly the AWS calls its
handler makes, and the internet-facing subscriptions function cannot read Bluesky sessions.

What a handler calls is recorded, not declared by hand: `make iam-calls` runs the integration
suite with a hook on botocore's API-call funnel and writes tests/iam_calls.json (action and
resource per call made inside functions/<name>/app.py); tests/integration/test_iam_calls.py
checks on every run that the file still covers what the handlers call.
"""

from __future__ import annotations

import pytest

from jobalerts_local.template import load_template
from tests.support.iam import PLATFORM, Grant, functions, granted, load_recorded, needed

FUNCTIONS = functions()
RECORDED = load_recorded()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_is_granted_exactly_what_its_handler_calls(name: str) -> None:
    # Given what template.yaml grants and what the handler was seen to call
    grants = granted(FUNCTIONS[name])
    calls = RECORDED.get(name, set()) | set(PLATFORM.get(name, {}))
    # Then no call would be refused, and no grant is for a call the handler never makes
    assert {"refused": calls - grants, "unused": grants - calls} == {
        "refused": set(),
        "unused": set(),
    }


def test_copies_of_one_function_must_be_granted_alike() -> None:
    # Given the template with one match shard granted more than the others
    template = load_template()
    extra = {"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": "*"}
    template["Resources"]["MatchShard2Function"]["Properties"]["Policies"][1]["Statement"].append(
        extra
    )
    # Then the copies' grants cannot be read as one function's
    with pytest.raises(ValueError, match="MatchShard2Function"):
        functions(template)


def test_every_function_has_recorded_calls() -> None:
    assert set(RECORDED) == set(FUNCTIONS)


def test_only_ingest_may_touch_the_bluesky_sessions() -> None:
    sessions = "ssm:parameter/bluesky-sessions/*"
    holders = {
        name for name, props in FUNCTIONS.items() for _, r in granted(props) if r == sessions
    }
    assert holders == {"ingest"}


def test_the_internet_facing_function_reads_no_source_secret_or_parameter() -> None:
    grants = granted(FUNCTIONS["subscriptions"])
    assert {a for a, _ in grants if a.startswith("ssm:")} == set()
    assert {r for a, r in grants if a.startswith("secretsmanager:")} == {"SigningKeySecret"}


def test_wildcard_actions_and_unknown_policy_templates_are_refused() -> None:
    with pytest.raises(ValueError, match="wildcard"):
        granted(
            {"Policies": [{"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}]}
        )
    with pytest.raises(ValueError, match="policy template"):
        granted({"Policies": [{"DynamoDBCrudPolicy": {"TableName": "T"}}]})


@pytest.mark.parametrize(
    ("service", "operation", "params", "needs"),
    [
        pytest.param(
            "dynamodb",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Update": {"TableName": "StateTable"}},
                    {"Put": {"TableName": "StateTable"}},
                ]
            },
            {("dynamodb:UpdateItem", "StateTable"), ("dynamodb:PutItem", "StateTable")},
            id="a transaction needs each item's own action",
        ),
        pytest.param(
            "dynamodb",
            "Query",
            {"TableName": "SubscribersTable", "IndexName": "email-index"},
            {("dynamodb:Query", "SubscribersTable/index/email-index")},
            id="an index query needs the index",
        ),
        pytest.param(
            "sesv2",
            "SendEmail",
            {"ConfigurationSetName": "c"},
            {("ses:SendEmail", "ses:identity"), ("ses:SendEmail", "ses:configuration-set")},
            id="a send with a configuration set needs both",
        ),
        pytest.param(
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": "arn:aws:secretsmanager:us-east-1:1:secret:SigningKeySecret-AbC123"},
            {("secretsmanager:GetSecretValue", "SigningKeySecret")},
            id="a secret by its ARN",
        ),
        pytest.param(
            "ssm",
            "GetParameter",
            {"Name": "/jobalerts-local/bluesky-sessions/abc"},
            {("ssm:GetParameter", "ssm:parameter/bluesky-sessions/*")},
            id="a session parameter",
        ),
        pytest.param(
            "sns",
            "PublishBatch",
            {"TopicArn": "arn:aws:sns:us-east-1:123456789012:PostsFanoutTopic"},
            {("sns:Publish", "PostsFanoutTopic")},
            id="a batch publish needs sns:Publish on its topic",
        ),
    ],
)
def test_a_call_needs_the_grants_iam_checks(
    service: str, operation: str, params: dict[str, object], needs: set[Grant]
) -> None:
    assert needed(service, operation, params) == needs
