"""Read template.yaml and create its resources on whatever AWS endpoint boto3 points at (moto).

template.yaml stays the single source of truth: table keys, indexes, streams, queues, topics and
each function's environment are all taken from it, so local runs cannot drift from the stack.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "jobalerts-local",
    "AWS::NoValue": None,
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !GetAtt, !Sub ...)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def repo_root() -> Path:
    """The checkout this package lives in (local/jobalerts_local -> repo)."""
    return Path(__file__).resolve().parents[2]


def load_template(path: Path | None = None) -> dict[str, Any]:
    text = (path or repo_root() / "template.yaml").read_text()
    data: dict[str, Any] = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return data


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    events: dict[str, Any]


@dataclass
class LocalStack:
    """What provisioning made: physical ids by logical id, and each function's spec."""

    template: dict[str, Any]
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions this template uses."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((name, arg),) = value.items()
        if name == "Ref":
            return self._ref(arg)
        if name == "Fn::GetAtt":
            return self.attrs[(arg[0], arg[1])]
        if name == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1)), arg)
        if name == "Fn::If":
            condition, yes, no = arg
            return self.resolve(yes if self._condition(condition) else no)
        if name == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.resolve(p)) for p in parts)
        if name == "Fn::Equals":
            # CloudFormation compares the string forms: a Number parameter equals "3".
            left, right = (str(self.resolve(v)) for v in arg)
            return left == right
        if name == "Fn::Not":
            return not self.resolve(arg[0])
        if name == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        if name == "Fn::And":
            return all(self.resolve(v) for v in arg)
        if name == "Condition":
            return self._condition(arg)
        return {name: self.resolve(arg)}

    def _ref(self, name: str) -> str:
        if name in PSEUDO:
            return str(PSEUDO[name])
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, expression: str) -> str:
        if "." in expression and expression not in PSEUDO:
            logical, attribute = expression.split(".", 1)
            return self.attrs[(logical, attribute)]
        return self._ref(expression)

    def _condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def declared(self, resource: dict[str, Any]) -> bool:
        """Whether a resource exists under these parameters (its Condition, if any, holds)."""
        condition = resource.get("Condition")
        return condition is None or self._condition(condition)

    def merged_environment(self) -> dict[str, str]:
        """The variables every function that has them agrees on, for running every handler in
        one process.

        Copies of the match worker differ in MATCH_SHARD: a variable functions disagree on is
        left out here and set around each invocation of its function instead
        (`own_environment`, `runtime.invoke`)."""
        values: dict[str, set[str]] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                values.setdefault(key, set()).add(value)
        return {key: seen.pop() for key, seen in values.items() if len(seen) == 1}

    def own_environment(self, logical_id: str) -> dict[str, str]:
        """This function's variables that the merged environment leaves out."""
        merged = self.merged_environment()
        spec = self.functions[logical_id]
        return {k: v for k, v in spec.environment.items() if k not in merged}

    def physical(self, logical_id: str) -> str:
        return self.refs[logical_id]


def provision(
    parameters: dict[str, str] | None = None,
    template_path: Path | None = None,
    session: boto3.Session | None = None,
) -> LocalStack:
    """Create every table, queue, topic, secret and SES identity the template declares."""
    template = load_template(template_path)
    defaults = {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    }
    stack = LocalStack(template=template, parameters={**defaults, **(parameters or {})})
    session = session or boto3.Session(region_name=REGION)
    resources: dict[str, Any] = template["Resources"]
    for logical_id in sorted(resources, key=lambda lid: _creation_rank(resources[lid])):
        resource = resources[logical_id]
        if not stack.declared(resource):
            continue
        creator = _CREATORS.get(resource["Type"])
        if creator is not None:
            creator(stack, session, logical_id, resource.get("Properties", {}))
    root = (template_path or repo_root() / "template.yaml").parent
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function" or not stack.declared(resource):
            continue
        props = resource["Properties"]
        variables = {
            **globals_env.get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        stack.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=root / props["CodeUri"],
            handler=props["Handler"],
            environment={k: str(stack.resolve(v)) for k, v in variables.items()},
            events=props.get("Events", {}),
        )
    return stack


def _creation_rank(resource: dict[str, Any]) -> int:
    """Dead-letter queues before the queues that redrive into them, and queues before the rest;
    buckets, queues and topics before their policies and subscriptions."""
    if resource["Type"] in {
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::Subscription",
    }:
        return 3
    if resource["Type"] != "AWS::SQS::Queue":
        return 2
    return 1 if "RedrivePolicy" in resource.get("Properties", {}) else 0


def _table(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    client = session.client("dynamodb")
    name = props.get("TableName") or logical_id
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    description = client.create_table(**kwargs)["TableDescription"]
    if props.get("TimeToLiveSpecification"):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
        )
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = description["TableArn"]
    if "LatestStreamArn" in description:
        stack.attrs[(logical_id, "StreamArn")] = description["LatestStreamArn"]


def _queue(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    client = session.client("sqs")
    attributes: dict[Any, str] = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(stack.resolve(props["RedrivePolicy"]))
    name = props.get("QueueName") or logical_id
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    stack.refs[logical_id] = url
    stack.attrs[(logical_id, "Arn")] = arn["QueueArn"]
    stack.attrs[(logical_id, "QueueName")] = name
    stack.attrs[(logical_id, "QueueUrl")] = url


def _topic(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    arn = session.client("sns").create_topic(Name=props.get("TopicName") or logical_id)["TopicArn"]
    stack.refs[logical_id] = arn
    stack.attrs[(logical_id, "TopicArn")] = arn
    stack.attrs[(logical_id, "TopicName")] = logical_id


def _subscription(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    """A topic's subscription; moto delivers to an SQS endpoint as SNS does."""
    attributes = {}
    if props.get("RawMessageDelivery"):
        attributes["RawMessageDelivery"] = "true"
    if props.get("FilterPolicy"):
        attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
    arn = session.client("sns").subscribe(
        TopicArn=str(stack.resolve(props["TopicArn"])),
        Protocol=props["Protocol"],
        Endpoint=str(stack.resolve(props["Endpoint"])),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    stack.refs[logical_id] = arn


def _queue_policy(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    policy = json.dumps(stack.resolve(props["PolicyDocument"]))
    client = session.client("sqs")
    for queue in props["Queues"]:
        client.set_queue_attributes(
            QueueUrl=str(stack.resolve(queue)), Attributes={"Policy": policy}
        )
    stack.refs[logical_id] = logical_id


def _secret(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    generate = props.get("GenerateSecretString", {})
    if "SecretStringTemplate" in generate:
        value = json.loads(generate["SecretStringTemplate"])
        value[generate["GenerateStringKey"]] = secrets.token_urlsafe(
            generate.get("PasswordLength", 32)
        )
        secret_string = json.dumps(value)
    else:
        secret_string = props.get("SecretString") or secrets.token_urlsafe(
            generate.get("PasswordLength", 32)
        )
    arn = session.client("secretsmanager").create_secret(
        Name=props.get("Name") or logical_id, SecretString=secret_string
    )["ARN"]
    stack.refs[logical_id] = arn


def _bucket(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    """A private bucket with the template's encryption, versioning and lifecycle."""
    client = session.client("s3")
    name = props.get("BucketName") or f"{PSEUDO['AWS::StackName']}-{logical_id}".lower()
    client.create_bucket(Bucket=name)
    if "BucketEncryption" in props:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "VersioningConfiguration" in props:
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
        )
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        lifecycle: Any = {"Rules": [_lifecycle_rule(r) for r in rules]}
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=lifecycle)
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's spelling of a lifecycle rule in the S3 API's."""
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {}}
    if "Prefix" in rule:
        api["Filter"] = {"Prefix": rule["Prefix"]}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return api


def _bucket_policy(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    bucket = str(stack.resolve(props["Bucket"]))
    document = stack.resolve(props["PolicyDocument"])
    # moto enforces bucket policies but ignores their conditions, so the TLS-only Deny would
    # deny every request here: conditional statements stay in AWS only.
    statements = [s for s in document["Statement"] if "Condition" not in s]
    if statements:
        policy = {"Version": "2012-10-17", "Statement": statements}
        session.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    stack.refs[logical_id] = bucket


def _configuration_set(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    name = props.get("Name") or logical_id
    session.client("sesv2").create_configuration_set(ConfigurationSetName=name)
    stack.refs[logical_id] = name


def _email_identity(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    identity = str(stack.resolve(props["EmailIdentity"]))
    session.client("sesv2").create_email_identity(EmailIdentity=identity)
    # moto verifies domain identities on creation; v1 is where sending checks them.
    session.client("ses").verify_domain_identity(Domain=identity)
    stack.refs[logical_id] = identity


def _http_api(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    stack.refs[logical_id] = "local"


def _layer(
    stack: LocalStack, session: boto3.Session, logical_id: str, props: dict[str, Any]
) -> None:
    stack.refs[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"


_CREATORS = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SES::ConfigurationSet": _configuration_set,
    "AWS::SES::EmailIdentity": _email_identity,
    "AWS::Serverless::HttpApi": _http_api,
    "AWS::Serverless::LayerVersion": _layer,
}
