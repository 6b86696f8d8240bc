"""Every boto3 client and resource the service uses is built here, with an explicit Config.

botocore's defaults (legacy retry mode, 60 s read timeout, retries of read timeouts) would sit
below our own retries and below the delivery claim, with sleeps that ignore how much of the
invocation is left. So each call site says what it can afford:

| call site | connect / read timeout | retries (total attempts) | why |
| --- | --- | --- | --- |
| `DATA`: DynamoDB | 2 s / 5 s | standard, 4 | reads and conditional writes: a retry after a write that went through fails its condition, which the callers read as "already done" |
| `QUEUE`: SQS send | 2 s / 5 s | standard, 3 | a duplicated delivery request is harmless: the delivery claim settles it |
| `DIGEST_SEND`: SES SendEmail, SNS Publish of a digest | 2 s / 10 s | 1 | nothing resends below the claim; `DigestDelivery` retries throttling itself, within the invocation's time, and counts a timeout after sending as an ambiguous send (docs/digests.md) |
| `NOTIFY`: SES/SNS for confirmations | 2 s / 10 s | standard, 3 | a second confirmation is harmless |
| `LOOKUP`: SNS opt-out check | 2 s / 5 s | standard, 3 | a read |
| `SNAPSHOT`: S3 index snapshots | 2 s / 20 s | standard, 3 | tens of MB each way; a failed read falls back to a full build, a failed write is retried at the next interval |
| `PARAMETERS`: SSM Get/PutParameter (Bluesky sessions) | 2 s / 5 s | standard, 3 | a cache: a failure costs one login |

A unit test fails when `boto3.client(` or `boto3.resource(` appears anywhere else in layers/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient


def _config(connect: float, read: float, attempts: int) -> Config:
    return Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


DATA = _config(2, 5, 4)
QUEUE = _config(2, 5, 3)
DIGEST_SEND = _config(2, 10, 1)
NOTIFY = _config(2, 10, 3)
LOOKUP = _config(2, 5, 3)
SNAPSHOT = _config(2, 20, 3)
PARAMETERS = _config(2, 5, 3)


def dynamodb() -> DynamoDBServiceResource:
    return boto3.resource("dynamodb", config=DATA)


def table(name: str) -> Table:
    return dynamodb().Table(name)


def s3(config: Config = SNAPSHOT) -> S3Client:
    return boto3.client("s3", config=config)


def sesv2(config: Config) -> SESV2Client:
    return boto3.client("sesv2", config=config)


def sns(config: Config) -> SNSClient:
    return boto3.client("sns", config=config)


def ssm(config: Config = PARAMETERS) -> SSMClient:
    return boto3.client("ssm", config=config)


def sqs(config: Config = QUEUE) -> SQSClient:
    return boto3.client("sqs", config=config)


__all__ = [
    "DATA",
    "DIGEST_SEND",
    "LOOKUP",
    "NOTIFY",
    "PARAMETERS",
    "QUEUE",
    "SNAPSHOT",
    "dynamodb",
    "s3",
    "sesv2",
    "sns",
    "sqs",
    "ssm",
    "table",
]
