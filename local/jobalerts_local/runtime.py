"""Invoke the real handlers in this process with the event payloads Lambda would send them."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import boto3

from jobalerts_local.template import ACCOUNT_ID, REGION, LocalStack, repo_root

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_seconds: int = 60
    started: float = field(default_factory=lambda: datetime.now(UTC).timestamp())

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = datetime.now(UTC).timestamp() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def load_handler(function: str, root: Path | None = None, instance: str | None = None) -> Handler:
    """Import functions/<function>/app.py under a unique module name and return its handler.

    `instance` names one of several functions running the same code (each match shard): each
    gets its own module, so its own cold start, settings and warm state, as its own Lambda
    function would."""
    path = (root or repo_root()) / "functions" / function / "app.py"
    name = f"jobalerts_function_{function}" + (f"__{instance}" if instance else "")
    module: ModuleType | None = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


def cold_start_all() -> None:
    """Every function starts cold from here on, as after a fresh deployment: handler modules
    (and the clients, settings and secrets they cached) are imported afresh. A stack made after
    another one in the same process must not be served by handlers warmed on the first: their
    clients miss hooks registered since (`jobalerts load`'s meter) and their cached secrets
    name the old stack's."""
    global _last_copy
    from aws_lambda_powertools.utilities import parameters

    for name in [m for m in sys.modules if m.startswith("jobalerts_function_")]:
        del sys.modules[name]
    parameters.clear_caches()
    _last_copy = None


# Entered around every invocation with the function's name: `jobalerts load` meters each one.
invocation_observers: list[Callable[[str], AbstractContextManager[Any]]] = []


# The copy (`instance`) invoked last; None for functions that run alone.
_last_copy: str | None = None


def invoke(
    function: str,
    event: dict[str, Any],
    timeout_seconds: int = 60,
    *,
    instance: str | None = None,
    environment: dict[str, str] | None = None,
) -> Any:
    """Run functions/<function>'s handler on `event`; `instance` and `environment` (its own
    variables, `LocalStack.own_environment`) for one of several copies of the same code."""
    global _last_copy
    if instance != _last_copy:
        # Each copy is its own Lambda function, so its own process: what Powertools caches
        # (the snapshot key from Secrets Manager) is not shared with the copy that ran before.
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        _last_copy = instance
    with ExitStack() as observed:
        if environment:
            observed.enter_context(_environment(environment))
        handler = load_handler(function, instance=instance)
        for observer in list(invocation_observers):
            observed.enter_context(observer(function))
        return handler(event, LambdaContext(instance or function, timeout_seconds=timeout_seconds))


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """A function's own variables for the length of its invocation (cold start included)."""
    before = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def apply_environment(stack: LocalStack, overrides: dict[str, str] | None = None) -> None:
    """Give this process the variables template.yaml gives the functions, and Lambda's region."""
    # STAGE=local is what lets an http:// base URL through (jobalerts.settings): said, not guessed.
    lambda_runtime = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "STAGE": "local"}
    os.environ.update({**lambda_runtime, **stack.merged_environment(), **(overrides or {})})
    from jobalerts_local.settings import get_settings

    get_settings.cache_clear()


# ---------------------------------------------------------------- event payloads


def scheduled_event(rule: str, now: datetime | None = None) -> dict[str, Any]:
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT_ID,
        "time": moment,
        "region": REGION,
        "resources": [f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{rule}"],
        "detail": {},
    }


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message.get("Attributes", {}).get(
                        "ApproximateReceiveCount", "1"
                    ),
                    "SentTimestamp": message.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def sns_event(topic_arn: str, message: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/local.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1:8080",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request, as the subscriptions function receives it."""
    raw_body: str | None = None
    encoded = False
    if isinstance(body, bytes):
        raw_body, encoded = base64.b64encode(body).decode(), True
    elif body is not None:
        raw_body = body
    now = datetime.now(UTC)
    header_map = {"host": host, **{k.lower(): v for k, v in (headers or {}).items()}}
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": header_map,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": header_map.get("user-agent", "local"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "pathParameters": {"proxy": path.lstrip("/")},
        "body": raw_body,
        "isBase64Encoded": encoded,
    }


# ---------------------------------------------------------------- pumps: what Lambda's pollers do


class StreamPump:
    """Reads a table's DynamoDB stream the way Lambda's event source mapping does."""

    def __init__(self, stream_arn: str, session: boto3.Session | None = None) -> None:
        self.stream_arn = stream_arn
        # Recent botocore resolves Streams to a host moto does not route; name the classic one.
        self.client = (session or boto3.Session(region_name=REGION)).client(
            "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )
        self.iterators: dict[str, str] = {}

    def poll(self) -> list[dict[str, Any]]:
        description = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        records: list[dict[str, Any]] = []
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            page = self.client.get_records(ShardIterator=self.iterators[shard_id])
            self.iterators[shard_id] = page.get("NextShardIterator") or self.iterators[shard_id]
            for record in page.get("Records", []):
                records.append(_lambda_stream_record(dict(record), self.stream_arn))
        return records


def _lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def stream_batches(records: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return [{"Records": records[i : i + size]} for i in range(0, len(records), size)]


def drain_queue(
    queue_url: str,
    queue_arn: str,
    handle: Callable[[dict[str, Any]], dict[str, Any] | None],
    batch_size: int = 10,
    session: boto3.Session | None = None,
) -> int:
    """Feed queue batches to `handle` and delete what it did not report as failed.

    A batch gathers up to `batch_size` messages over several receives (SQS returns at most 10
    a call), as Lambda's poller does within its batching window."""
    sqs = (session or boto3.Session(region_name=REGION)).client("sqs")
    handled = 0
    while True:
        messages: list[Any] = []
        while len(messages) < batch_size:
            page = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, batch_size - len(messages)),
                AttributeNames=["All"],
                VisibilityTimeout=30,
            )
            if not page.get("Messages"):
                break
            messages += page["Messages"]
        if not messages:
            return handled
        response = handle(sqs_event(queue_arn, [dict(m) for m in messages])) or {}
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
        if failed:
            # Lambda would retry after the visibility timeout; a local run stops here instead.
            return handled


def json_body(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None
