"""`jobalerts demo`: subscribe a few people, run ingest -> match -> digest -> deliver, show the mail."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import boto3

from jobalerts_local.outbox import SentEmail, SentSms, sent_emails, sent_sms, write_outbox
from jobalerts_local.service import LocalService, local_service
from jobalerts_local.template import REGION

DEMO_BASE_URL = "http://127.0.0.1:8080"
DEMO_SOURCES = "x,mastodon,bluesky"
# Candidate homes for the SMS subscriber: the demo picks one where it is daytime right now, so
# quiet hours (21:00-08:00 local) never hide the text message whenever the demo is run.
SMS_TIMEZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Tokyo"]


@dataclass
class DemoSubscription:
    body: dict[str, Any]
    extra_searches: list[dict[str, Any]] = field(default_factory=list)


def daytime_zone(now: datetime) -> str:
    for name in SMS_TIMEZONES:
        if 9 <= now.astimezone(ZoneInfo(name)).hour < 20:
            return name
    return "Australia/Sydney"


def demo_subscriptions(now: datetime) -> list[DemoSubscription]:
    return [
        DemoSubscription(
            {
                "email": "ana@example.com",
                "timezone": "Europe/Berlin",
                "query": "python remote -senior",
                "channel": "email",
                "frequency": "daily",
            }
        ),
        DemoSubscription(
            {
                "email": "ben@example.com",
                "timezone": "America/New_York",
                "query": '"data engineer" (berlin OR remote)',
                "channel": "email",
                "frequency": "instant",
            },
            extra_searches=[
                {"query": "golang OR rust -crypto", "channel": "email", "frequency": "weekly"}
            ],
        ),
        DemoSubscription(
            {
                "phone": "+14155550123",
                "timezone": daytime_zone(now),
                "query": "#nursing",
                "channel": "sms",
                "frequency": "instant",
            }
        ),
        DemoSubscription(
            {
                "email": "dev@example.com",
                "timezone": "Asia/Kolkata",
                "query": "golang OR rust -crypto",
                "channel": "email",
                "frequency": "hourly",
            }
        ),
    ]


@dataclass
class DemoResult:
    posts: int
    matches: int
    confirmations: int
    emails: list[SentEmail]
    texts: list[SentSms]
    rejected: dict[str, Any]


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["t"][0]


def _confirm_links(already: int, texts_before: int) -> list[str]:
    links = [link for sent in sent_emails()[already:] for link in sent.links()]
    links += [word for sms in sent_sms()[texts_before:] for word in sms.text.split()]
    return [link for link in links if "/confirm?" in link or "/c/" in urlparse(link).path]


def confirm_from_outbox(service: LocalService, emails_before: int, texts_before: int) -> str | None:
    """Follow every confirmation link that arrived since the counts given, as a person would.

    Each channel confirms through its own single-use link (an email's `/confirm?t=`, a text's
    `/c/<code>`); confirming lands on the manage page, whose token this returns (None: nothing
    arrived to confirm).
    """
    manage = None
    for link in _confirm_links(emails_before, texts_before):
        path = urlparse(link).path
        if "/c/" in path:
            # A text's short confirm link: its button posts back to the same path.
            done = service.api("POST", path, body="", headers={})
        else:
            done = service.api("POST", "/confirm", query={"t": token_of(link)}, body="")
        location = (done.get("headers") or {}).get("Location")
        if manage is None and location and "t=" in location:
            manage = token_of(location)
    return manage


def subscribe_everyone(service: LocalService, people: list[DemoSubscription]) -> int:
    """Subscribe through the real API and click each confirmation link, as a person would."""
    confirmed = 0
    for person in people:
        emails_before, texts_before = len(sent_emails()), len(sent_sms())
        response = service.api("POST", "/subscriptions", body=person.body)
        if response["statusCode"] >= 400:
            raise RuntimeError(f"demo subscription refused: {response.get('body')}")
        token = confirm_from_outbox(service, emails_before, texts_before)
        if token is None:
            continue
        confirmed += 1
        # The manage page's token adds the person's other searches.
        manage = {"authorization": f"Bearer {token}"}
        for search in person.extra_searches:
            service.api("POST", "/api/searches", body=search, headers=manage)
    return confirmed


def count_items(table: str, prefix: str | None = None) -> int:
    """A demo-only scan, to report what the pipeline wrote."""
    client = boto3.Session(region_name=REGION).client("dynamodb")
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if prefix is None or item.get("sk", {}).get("S", "").startswith(prefix):
                total += 1
    return total


def run_demo(outbox: Path, base_url: str = DEMO_BASE_URL) -> DemoResult:
    now = datetime.now(UTC)
    with local_service(base_url, parameters={"EnabledSources": DEMO_SOURCES}) as service:
        rejected = json.loads(
            service.api(
                "POST",
                "/subscriptions",
                body={
                    "email": "typo@example.com",
                    "timezone": "UTC",
                    "query": "python (remote",
                    "channel": "email",
                    "frequency": "daily",
                },
            ).get("body")
            or "{}"
        )
        confirmations = subscribe_everyone(service, demo_subscriptions(now))
        mail_before, texts_before = len(sent_emails()), len(sent_sms())
        service.ingest()
        service.match()
        posts = count_items(service.stack.refs["PostsTable"])
        matches = count_items(service.stack.refs["MatchesTable"], prefix="m#")
        # Eight days on at noon UTC: every instant, hourly, daily and weekly window has come due.
        digest_at = (now + timedelta(days=8)).replace(hour=12, minute=0, second=0, microsecond=0)
        service.digest(digest_at)
        service.deliver()
        emails, texts = sent_emails()[mail_before:], sent_sms()[texts_before:]
        write_outbox(outbox, emails, texts)
        return DemoResult(posts, matches, confirmations, emails, texts, rejected)


def print_summary(result: DemoResult, outbox: Path) -> None:
    print("jobalerts demo: the whole pipeline on moto, with recorded X, Mastodon and Bluesky posts")
    if result.rejected:
        column = result.rejected.get("column")
        print(
            f"  rejected bad search 'python (remote': {result.rejected.get('error')} (column {column})"
        )
    print(f"  subscribers confirmed (double opt-in): {result.confirmations}")
    print(f"  posts fetched and stored:              {result.posts}")
    print(f"  matches queued:                        {result.matches}")
    print(f"  digest emails sent:                    {len(result.emails)}")
    print(f"  text messages sent:                    {len(result.texts)}")
    for sent in result.emails:
        print(f"    email: {sent.subject}")
    for sms in result.texts:
        print(f"    sms:   {sms.text!r}")
    print(f"  outbox: {outbox}/ (.eml with full headers, .html previews, sms.txt)")
