"""What template.yaml grants each function, and what a function's AWS calls need, in one
vocabulary: (IAM action, resource), where a resource is a template logical id (`StateTable`,
`SubscribersTable/index/email-index`), `*`, or a named pattern (`ses:identity`,
`ssm:parameter/bluesky-sessions/*`). tests/unit/test_iam.py and
tests/integration/test_iam_calls.py compare the two."""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.client

from jobalerts_local.template import load_template

Grant = tuple[str, str]

# Granted without a recorded call, each for its reason: Lambda (not our code) uses the role
# for a stream's OnFailure destination; and one path moto cannot reach through a handler.
PLATFORM: dict[str, dict[Grant, str]] = {
    "match": {
        ("sqs:SendMessage", "FailedInvocationsQueue"): "the stream's OnFailure destination",
    },
    "inbound_sms": {
        ("sns:OptInPhoneNumber", "*"): "START from a number on the account's opt-out list "
        "(SmsSender.opt_in); moto reports no number as opted out",
    },
}

_SUB_RESOURCES = {
    r"^\$\{(\w+)\.Arn\}(/index/[\w-]+)$": lambda m: m[1] + m[2],
    r"^\$\{(\w+)\.Arn\}(/[\w-]+/\*)$": lambda m: m[1] + m[2],
    r":ses:.*:identity/\$\{SenderDomain\}$": lambda m: "ses:identity",
    r":ses:.*:configuration-set/\$\{EmailConfigurationSet\}$": lambda m: "ses:configuration-set",
    r":ssm:.*:parameter/\$\{AWS::StackName\}/bluesky-sessions/\*$": lambda m: (
        "ssm:parameter/bluesky-sessions/*"
    ),
}


def functions(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Function name as in functions/<name>/ -> its properties."""
    template = template or load_template()
    return {
        Path(r["Properties"]["CodeUri"]).name: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }


def resource_name(value: Any) -> str:
    if value == "*":
        return "*"
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        for pattern, name in _SUB_RESOURCES.items():
            if match := re.search(pattern, value["Fn::Sub"]):
                return name(match)
    raise ValueError(f"a resource this test cannot name: {value!r}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _narrowing(condition: Any) -> bool:
    """No condition, or one that only narrows an Allow to items whose partition key matches
    (`dynamodb:LeadingKeys`): it grants no call the plain statement would not, so reading it as
    plain keeps "granted but never called" honest."""
    if condition is None:
        return True
    return all(
        op.startswith(("ForAllValues:", "StringLike", "StringEquals"))
        and set(keys) == {"dynamodb:LeadingKeys"}
        for op, keys in condition.items()
    )


def granted(properties: dict[str, Any]) -> set[Grant]:
    """Every (action, resource) a function's Policies allow; ValueError for what it cannot read
    (a Deny, a wildcard action, a SAM policy template it does not know)."""
    grants: set[Grant] = set()
    for policy in properties.get("Policies", []):
        [(kind, body)] = policy.items()
        if kind == "AWSSecretsManagerGetSecretValuePolicy":
            grants.add(("secretsmanager:GetSecretValue", resource_name(body["SecretArn"])))
            continue
        if kind != "Statement":
            raise ValueError(f"unknown policy template {kind}: write it as a Statement")
        for statement in body:
            if statement.get("Effect") != "Allow" or not _narrowing(statement.get("Condition")):
                raise ValueError(f"only plain Allow statements are read: {statement}")
            for action in _listed(statement["Action"]):
                if "*" in action:
                    raise ValueError(f"a wildcard action grants calls nobody reviewed: {action}")
                for resource in _listed(statement["Resource"]):
                    grants.add((action, resource_name(resource)))
    return grants


# ------------------------------------------------------------------ what calls need

_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
_TRANSACT |= {"ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


STACK_NAME = "jobalerts-local"


def logical(physical: str) -> str:
    """The local stack names a table, queue or secret after its logical id (a secret's ARN ends
    in `:secret:<name>-<6 random characters>`)."""
    name = physical.rsplit("/", 1)[-1]
    if ":secret:" in name:
        name = name.split(":secret:", 1)[1].rsplit("-", 1)[0]
    # Buckets are named `<stack>-<logical id, lower case>`.
    return _buckets().get(name, name)


def _buckets() -> dict[str, str]:
    resources = load_template()["Resources"]
    return {
        f"{STACK_NAME}-{lid}".lower(): lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::S3::Bucket"
    }


def needed(service: str, operation: str, params: dict[str, Any]) -> set[Grant]:
    """The grants one API call needs."""

    if service == "dynamodb":
        if operation in {"TransactWriteItems", "TransactGetItems"}:
            return {
                (f"dynamodb:{_TRANSACT[kind]}", logical(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            }
        if "RequestItems" in params:
            return {(f"dynamodb:{operation}", logical(t)) for t in params["RequestItems"]}
        table = logical(params["TableName"])
        if params.get("IndexName"):
            table += f"/index/{params['IndexName']}"
        return {(f"dynamodb:{operation}", table)}
    if service == "sesv2":
        needs = {(f"ses:{operation}", "ses:identity")}
        if params.get("ConfigurationSetName"):
            needs.add((f"ses:{operation}", "ses:configuration-set"))
        return needs
    if service == "sqs":
        return {(f"sqs:{operation}", logical(params["QueueUrl"]))}
    if service == "secretsmanager":
        return {(f"secretsmanager:{operation}", logical(params["SecretId"]))}
    if service == "ssm":
        prefix = f"/{STACK_NAME}/bluesky-sessions/"
        if str(params.get("Name", "")).startswith(prefix):
            return {(f"ssm:{operation}", "ssm:parameter/bluesky-sessions/*")}
        return {(f"ssm:{operation}", str(params.get("Name")))}
    if service == "s3":
        # Objects are granted by key prefix: `<bucket>/<first key segment>/*`.
        prefix = str(params["Key"]).split("/", 1)[0]
        return {(f"s3:{operation}", f"{logical(params['Bucket'])}/{prefix}/*")}
    if service == "sns":
        return {(f"sns:{operation}", logical(params["TopicArn"]) if "TopicArn" in params else "*")}
    return {(f"{service}:{operation}", "?")}


def _function_on_stack() -> str | None:
    """functions/<name>/app.py of the outermost handler frame running this call, if any."""
    frame = sys._getframe(2)
    found = None
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.name == "app.py" and path.parent.parent.name == "functions":
            found = path.parent.name
        frame = frame.f_back
    return found


@contextmanager
def recording() -> Iterator[dict[str, set[Grant]]]:
    """Record, per function, the grants every AWS call made inside its handler needs.

    Patches botocore's one funnel for API calls, so resource and client calls alike are seen,
    and calls a test makes itself (seeding, asserting) are not: they run outside any handler."""
    calls: dict[str, set[Grant]] = defaultdict(set)
    original = botocore.client.BaseClient._make_api_call

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = _function_on_stack()
        if function is not None:
            service = client.meta.service_model.service_name
            calls[function] |= needed(service, operation, params)
        return original(client, operation, params)  # type: ignore[no-untyped-call]

    botocore.client.BaseClient._make_api_call = recorded  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


RECORDED = Path(__file__).resolve().parents[1] / "iam_calls.json"


def load_recorded(path: Path = RECORDED) -> dict[str, set[Grant]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {fn: {(a, r) for a, r in grants} for fn, grants in data["calls"].items()}


def dump_recorded(calls: dict[str, set[Grant]], path: Path = RECORDED) -> None:
    data = {
        "about": "AWS calls each function's handler made during the integration suite, as "
        "(IAM action, resource); `make iam-calls` rewrites this file, tests/unit/test_iam.py "
        "compares it with template.yaml.",
        "calls": {fn: sorted([a, r] for a, r in grants) for fn, grants in sorted(calls.items())},
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
