"""AWS and X list prices for the cost model of `jobalerts load`, one named constant each.

us-east-1 on-demand list prices, no free tier, as this author knew them in AS_OF; they were not
re-checked when written (the build machine has no network). Check each SOURCE before quoting a
figure, and change the constant here: `jobalerts load` and its tests read them from this module.
"""

from __future__ import annotations

AS_OF = "2025-01 (list prices from memory of the pages below, not re-checked on 2026-12-02)"

# Lambda, arm64 (Graviton), first price tier.
LAMBDA_SOURCE = "https://aws.amazon.com/lambda/pricing/"
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20

# DynamoDB on-demand, standard table class (after the November 2024 price cut).
DYNAMODB_SOURCE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_PER_MILLION_RRU = 0.125
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25
DYNAMODB_STREAM_PER_100K_READS = 0.02
# "GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers are free": the match
# function's stream is read by Lambda's poller, so its reads are counted but not charged.
DYNAMODB_STREAM_READS_BY_LAMBDA_FREE = True

SQS_SOURCE = "https://aws.amazon.com/sqs/pricing/"
SQS_STANDARD_PER_MILLION_REQUESTS = 0.40

API_GATEWAY_SOURCE = "https://aws.amazon.com/api-gateway/pricing/"
HTTP_API_PER_MILLION_REQUESTS = 1.00

SECRETS_MANAGER_SOURCE = "https://aws.amazon.com/secrets-manager/pricing/"
SECRET_PER_MONTH = 0.40
SECRETS_PER_10K_API_CALLS = 0.05

CLOUDWATCH_SOURCE = "https://aws.amazon.com/cloudwatch/pricing/"
LOGS_INGESTION_PER_GB = 0.50
LOGS_STORAGE_PER_GB_MONTH = 0.03
CUSTOM_METRIC_PER_MONTH = 0.30
CLOUDWATCH_ALARM_PER_MONTH = 0.10  # standard resolution, one metric

# Pass-through: paid per message or read whatever the service does around it.
SES_SOURCE = "https://aws.amazon.com/ses/pricing/"
SES_PER_1000_EMAILS = 0.10
SMS_SOURCE = "https://aws.amazon.com/end-user-messaging/pricing/"
# US, toll-free origination: AWS's base price plus the carriers' fee per outbound part.
SMS_US_PER_MESSAGE = 0.00581 + 0.00302
X_SOURCE = "https://developer.x.com/en/products/x-api"
# The Pro tier: $5,000 a month for 1,000,000 posts read.
X_PER_POST_READ = 5000 / 1_000_000

DAYS_PER_MONTH = 30
