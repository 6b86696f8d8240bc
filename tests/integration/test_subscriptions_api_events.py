"""The sample API Gateway HTTP API payloads in events/http parse and reach their routes."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from jobalerts import tokens
from jobalerts.links import DIGEST_TTL, MANAGE_TTL, UNSUBSCRIBE_TTL
from jobalerts.models import SubscriberStatus
from jobalerts_local.outbox import sent_emails
from jobalerts_local.runtime import invoke, json_body
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.support import stores
from tests.support.events import EVENTS, load_event

SAMPLES = sorted(p.stem for p in (EVENTS / "http").glob("*.json"))
DIGEST_ID = "2026-11-23T08-00-email"


def with_token(event: dict[str, Any], token: str) -> dict[str, Any]:
    """The sample with a token signed by this stack's key, wherever the sample carries one."""
    event = copy.deepcopy(event)
    if "authorization" in event["headers"]:
        event["headers"]["authorization"] = f"Bearer {token}"
    if event.get("queryStringParameters", {}).get("t"):
        event["queryStringParameters"]["t"] = token
        event["rawQueryString"] = f"t={token}"
    return event


def with_path(event: dict[str, Any], path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return event


def call(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = invoke("subscriptions", event)
    return response


def test_there_is_a_sample_for_every_kind_of_request() -> None:
    assert {
        "subscribe",
        "confirm-page",
        "confirm",
        "unsubscribe-one-click",
        "list-searches",
        "add-search",
        "delete-search",
        "digest-view",
        "landing-page",
        "subscribe-form",
        "preview",
    } <= set(SAMPLES)
    for name in SAMPLES:
        event = load_event(f"http/{name}.json")
        assert event["version"] == "2.0"
        assert event["rawPath"] == event["requestContext"]["http"]["path"]


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_with_the_token_they_were_recorded_with_are_refused_cleanly(
    stack: LocalStack, name: str
) -> None:
    # Given a sample whose token was signed by another deployment's key
    event = load_event(f"http/{name}.json")

    # When it reaches the function
    response = call(event)

    # Then the answer is a clean refusal (or, for requests without a token, a normal answer)
    assert response["statusCode"] < 500
    if "authorization" in event["headers"]:
        assert response["statusCode"] == 401
    elif event.get("queryStringParameters", {}).get("t"):
        assert response["statusCode"] == 403


def test_the_samples_drive_a_whole_subscription(clock: datetime, stack: LocalStack) -> None:
    # Given the subscribe sample, as API Gateway delivers it
    assert call(load_event("http/subscribe.json"))["statusCode"] == 202
    assert call(load_event("http/subscribe-sms.json"))["statusCode"] == 202
    landing = call(load_event("http/landing-page.json"))
    assert (landing["statusCode"], "<form" in landing["body"]) == (200, True)
    signed_up = call(load_event("http/subscribe-form.json"))
    assert signed_up["statusCode"] == 200
    assert any(mail.to == "chloe@example.com" for mail in sent_emails())
    bad = call(load_event("http/subscribe-bad-query.json"))
    assert bad["statusCode"] == 400
    assert json_body(bad)["column"] == 8
    [mail] = [mail for mail in sent_emails() if mail.to == "ana@example.com"]
    confirm = parse_qs(urlparse(next(u for u in mail.links() if "/confirm?" in u)).query)["t"][0]
    signer = tokens.load_signer(get_settings().signing_secret_name)

    # Then every sample reaches its route and does its job
    assert call(with_token(load_event("http/confirm-page.json"), confirm))["statusCode"] == 200
    confirmed = call(with_token(load_event("http/confirm.json"), confirm))
    assert confirmed["statusCode"] == 303
    subscriber = stores.subscribers().find_by_email("ana@example.com")
    assert subscriber is not None
    assert subscriber.status is SubscriberStatus.ACTIVE
    sid = subscriber.subscriber_id
    manage = signer.sign(tokens.MANAGE, sid, MANAGE_TTL)
    assert call(with_token(load_event("http/manage-page.json"), manage))["statusCode"] == 200
    added_by_form = call(with_token(load_event("http/manage-add-search.json"), manage))
    assert added_by_form["statusCode"] == 303
    added = call(with_token(load_event("http/add-search.json"), manage))
    assert added["statusCode"] == 201
    listed = json_body(call(with_token(load_event("http/list-searches.json"), manage)))
    assert [s["query"] for s in listed["searches"]] == [
        "python remote -senior",
        "golang OR rust -crypto",
        '"data engineer" (berlin OR remote)',
    ]
    delete = with_path(
        load_event("http/delete-search.json"), f"/api/searches/{json_body(added)['search_id']}"
    )
    assert call(with_token(delete, manage))["statusCode"] == 204
    assert len(stores.searches().list_for(sid)) == 2
    patched = call(with_token(load_event("http/update-subscriber.json"), manage))
    assert (patched["statusCode"], json_body(patched)["timezone"]) == (200, "Asia/Tokyo")

    stores.archive().put(sid, DIGEST_ID, "<p>archived digest</p>", clock, short_link=False)
    view = signer.sign(tokens.DIGEST, f"{sid}|{DIGEST_ID}", DIGEST_TTL)
    shown = call(with_token(load_event("http/digest-view.json"), view))
    assert (shown["statusCode"], shown["body"]) == (200, "<p>archived digest</p>")

    previewed = call(load_event("http/preview.json"))
    assert (previewed["statusCode"], json_body(previewed)["total"]) == (200, 0)

    unsubscribe = signer.sign(tokens.UNSUBSCRIBE, sid, UNSUBSCRIBE_TTL)
    one_click = call(with_token(load_event("http/unsubscribe-one-click.json"), unsubscribe))
    assert one_click["statusCode"] == 200
    assert stores.subscribers().get(sid).status is SubscriberStatus.UNSUBSCRIBED
