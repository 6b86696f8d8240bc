"""The account-wide SNS SMS settings a deploy applies: today, the monthly spend limit.

CloudFormation has no property for SNS's `MonthlySpendLimit` (it is an account attribute set with
`SetSMSAttributes`), so the template declares a custom resource, `SmsAccountSettings`, whose
function calls this on create and update. SNS stops texting within minutes of crossing the limit:
the last line of defence against SMS pumping, after the sign-up limits and the country and
number-type rules.
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from jobalerts.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


def apply_spend_limit(sns: SNSClient, limit_usd: int) -> None:
    sns.set_sms_attributes(attributes={"MonthlySpendLimit": str(int(limit_usd))})
    logger.info("sms monthly spend limit set", limit_usd=int(limit_usd))


def handle_custom_resource(event: dict[str, Any], sns: SNSClient) -> dict[str, Any]:
    """Apply on Create/Update (Delete leaves the account as it is); always answer CloudFormation,
    which otherwise waits an hour for a reply."""
    status, reason = "SUCCESS", ""
    try:
        if event.get("RequestType") in {"Create", "Update"}:
            props = event.get("ResourceProperties") or {}
            apply_spend_limit(sns, int(props["MonthlySpendLimit"]))
    except Exception as exc:  # reported to CloudFormation, which rolls the deploy back
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"[:200]
        logger.error("sms settings not applied", error=type(exc).__name__)
    reply = {
        "Status": status,
        "Reason": reason or "applied",
        "PhysicalResourceId": "sms-account-settings",
        "StackId": event.get("StackId", ""),
        "RequestId": event.get("RequestId", ""),
        "LogicalResourceId": event.get("LogicalResourceId", ""),
    }
    url = str(event.get("ResponseURL", ""))
    if url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        body = json.dumps(reply).encode()
        request = urllib.request.Request(  # noqa: S310 - the presigned URL CloudFormation gave us
            url, data=body, method="PUT", headers={"content-type": ""}
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
    return reply
