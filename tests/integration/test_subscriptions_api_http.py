"""ApiServer: real HTTP requests in, API Gateway HTTP API v2 events out, and responses back."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from jobalerts_local.http import ApiServer


def echo(event: dict[str, Any]) -> dict[str, Any]:
    """A function that answers with what it was given."""
    if event["rawPath"] == "/boom":
        raise RuntimeError("the function crashed")
    if event["rawPath"] == "/binary":
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(b"\x00\xffbytes").decode(),
            "isBase64Encoded": True,
        }
    body = event.get("body")
    if event.get("isBase64Encoded") and body is not None:
        body = base64.b64decode(body).decode()
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-seen": "yes"},
        "cookies": ["a=1; Secure", "b=2; Secure"],
        "body": json.dumps(
            {
                "version": event["version"],
                "method": event["requestContext"]["http"]["method"],
                "path": event["rawPath"],
                "raw_query": event["rawQueryString"],
                "query": event.get("queryStringParameters"),
                "content_type": event["headers"].get("content-type"),
                "host": event["headers"].get("host"),
                "body": body,
            }
        ),
    }


def test_a_request_becomes_an_http_api_v2_event_and_the_response_comes_back() -> None:
    # Given the bridge on a random port in front of a function
    with (
        ApiServer(handler=echo, port=0) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        address = server.base_url.removeprefix("http://")
        # When a form is posted to it
        response = client.post(
            "/unsubscribe?t=abc.def&x=1",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    # Then the function saw a v2 event with the method, path, query, headers and body
    assert response.status_code == 201
    seen = response.json()
    assert seen["version"] == "2.0"
    assert (seen["method"], seen["path"]) == ("POST", "/unsubscribe")
    assert seen["raw_query"] == "t=abc.def&x=1"
    assert seen["query"] == {"t": "abc.def", "x": "1"}
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["host"] == address
    assert seen["body"] == "List-Unsubscribe=One-Click"
    # And the function's headers and cookies reached the client
    assert response.headers["x-seen"] == "yes"
    assert response.headers.get_list("set-cookie") == ["a=1; Secure", "b=2; Secure"]


def test_base64_bodies_are_decoded_and_a_crash_is_a_502() -> None:
    with (
        ApiServer(handler=echo, port=0) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        binary = client.get("/binary")
        crashed = client.delete("/boom")
        still_up = client.get("/after")

    assert binary.content == b"\x00\xffbytes"
    assert crashed.status_code == 502
    assert still_up.status_code == 201
