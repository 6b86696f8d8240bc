"""The custom resource that sets the account's SNS monthly SMS spend limit at deploy time."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3

from jobalerts.sms_account import handle_custom_resource
from jobalerts_local.runtime import invoke
from jobalerts_local.template import REGION, LocalStack


class _CloudFormation(BaseHTTPRequestHandler):
    replies: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.replies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_create_sets_the_monthly_spend_limit_and_answers_cloudformation(
    stack: LocalStack,
) -> None:
    # Given CloudFormation waiting on its presigned URL (a local server here)
    server = HTTPServer(("127.0.0.1", 0), _CloudFormation)
    threading.Thread(target=server.handle_request, daemon=True).start()
    sns = boto3.client("sns", region_name=REGION)
    event = {
        "RequestType": "Create",
        "ResponseURL": f"http://127.0.0.1:{server.server_address[1]}/reply",
        "StackId": "stack",
        "RequestId": "req",
        "LogicalResourceId": "SmsAccountSettings",
        "ResourceProperties": {"MonthlySpendLimit": "20"},
    }

    # When the custom resource's handler runs
    reply = invoke("sms_settings", event)

    # Then SNS has the limit and CloudFormation heard SUCCESS
    assert sns.get_sms_attributes()["attributes"]["MonthlySpendLimit"] == "20"
    assert reply["Status"] == "SUCCESS"
    server.server_close()
    assert _CloudFormation.replies[-1]["Status"] == "SUCCESS"


def test_a_bad_value_fails_the_deploy_instead_of_hanging_it(stack: LocalStack) -> None:
    reply = handle_custom_resource(
        {"RequestType": "Update", "ResourceProperties": {"MonthlySpendLimit": "lots"}},
        boto3.client("sns", region_name=REGION),
    )
    assert reply["Status"] == "FAILED"
