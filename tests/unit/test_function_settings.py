"""Each function reads its own settings at cold start and fails by name when one is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobalerts.errors import ConfigurationError
from jobalerts.settings import (
    DeliverSettings,
    MatchSettings,
    PublicLinkSettings,
    SubscriptionsSettings,
)
from jobalerts_local.runtime import load_handler
from jobalerts_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]

# The variables without a sane default, per function: the spec each settings model must meet.
REQUIRED: dict[str, list[str]] = {
    "deliver": [
        "SUBSCRIBERS_TABLE",
        "SEARCHES_TABLE",
        "MATCHES_TABLE",
        "STATE_TABLE",
        "PUBLIC_BASE_URL",
        "SIGNING_SECRET_NAME",
        "SENDER_EMAIL",
        "UNSUBSCRIBE_MAILBOX",
    ],
    "digest": ["SUBSCRIBERS_TABLE", "SEARCHES_TABLE", "MATCHES_TABLE", "DELIVERY_QUEUE_URL"],
    "fanout": ["POSTS_TOPIC_ARN"],
    "feedback": ["SUBSCRIBERS_TABLE", "SEARCHES_TABLE", "STATE_TABLE"],
    "inbound_sms": ["SUBSCRIBERS_TABLE", "STATE_TABLE"],
    "ingest": [
        "POSTS_TABLE",
        "STATE_TABLE",
        "SEARCHES_TABLE",
        "SOURCE_SECRET_NAME",
        "SESSION_PARAMETER_PATH",
    ],
    "match": ["SUBSCRIBERS_TABLE", "SEARCHES_TABLE", "MATCHES_TABLE", "STATE_TABLE"],
    "match_shard": ["SUBSCRIBERS_TABLE", "SEARCHES_TABLE", "MATCHES_TABLE", "STATE_TABLE"],
    "sms_settings": [],
    "subscriptions": [
        "SUBSCRIBERS_TABLE",
        "SEARCHES_TABLE",
        "POSTS_TABLE",
        "MATCHES_TABLE",
        "STATE_TABLE",
        "PUBLIC_BASE_URL",
        "SIGNING_SECRET_NAME",
        "SENDER_EMAIL",
        "UNSUBSCRIBE_MAILBOX",
    ],
}

COMPLETE = {
    "SUBSCRIBERS_TABLE": "subscribers",
    "SEARCHES_TABLE": "searches",
    "POSTS_TABLE": "posts",
    "MATCHES_TABLE": "matches",
    "STATE_TABLE": "state",
    "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/delivery",
    "POSTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:posts",
    "PUBLIC_BASE_URL": "https://alerts.example",
    "SIGNING_SECRET_NAME": "signing-key",
    "SOURCE_SECRET_NAME": "sources",
    "SESSION_PARAMETER_PATH": "/stack/bluesky-sessions",
    "SENDER_EMAIL": "alerts@alerts.example",
    "UNSUBSCRIBE_MAILBOX": "unsubscribe@alerts.example",
}
CASES = [(function, name) for function, names in REQUIRED.items() for name in names]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Given every variable any function needs, as a deployed function sees them."""
    from moto import mock_aws

    for name, value in COMPLETE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STAGE", raising=False)
    with mock_aws():
        yield monkeypatch


def test_every_function_has_a_spec_here() -> None:
    assert sorted(REQUIRED) == sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("function", sorted(REQUIRED))
def test_a_function_with_its_environment_starts(
    environment: pytest.MonkeyPatch, function: str
) -> None:
    # When the handler is imported with everything set, it cold-starts without a call to AWS
    assert callable(load_handler(function))


@pytest.mark.parametrize(("function", "variable"), CASES, ids=[f"{f}-{v}" for f, v in CASES])
def test_a_missing_variable_fails_the_cold_start_naming_it(
    environment: pytest.MonkeyPatch, function: str, variable: str
) -> None:
    # Given the function's environment without one required variable
    environment.delenv(variable)
    # When the handler is imported, Then the cold start fails and says which variable is missing
    with pytest.raises(ConfigurationError, match=variable):
        load_handler(function)


@pytest.mark.parametrize("model", [DeliverSettings, SubscriptionsSettings])
def test_an_http_base_url_is_refused_unless_the_run_is_local(
    environment: pytest.MonkeyPatch, model: type[PublicLinkSettings]
) -> None:
    # Given a plain-http base URL, as a typo in a deployed stack would give
    environment.setenv("PUBLIC_BASE_URL", "http://alerts.example")
    # When a deployed function reads it, Then it refuses to start, naming the variable
    with pytest.raises(ConfigurationError, match="PUBLIC_BASE_URL"):
        model.load()
    # But when the harness says the run is local, http is fine (localhost has no certificate)
    environment.setenv("STAGE", "local")
    assert model.load().public_base_url == "http://alerts.example"
    # And an unknown stage is not taken for local
    environment.setenv("STAGE", "dev")
    with pytest.raises(ConfigurationError, match="STAGE"):
        model.load()


def _variables(properties: dict[str, Any]) -> set[str]:
    return set(((properties.get("Environment") or {}).get("Variables") or {}).keys())


@pytest.mark.parametrize("function", sorted(REQUIRED))
def test_template_gives_each_function_every_variable_it_requires(function: str) -> None:
    # Given the deployed template
    template = load_template()
    common = _variables(template.get("Globals", {}).get("Function", {}))
    given = {
        Path(str(resource["Properties"]["CodeUri"])).name: common
        | _variables(resource["Properties"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    # Then no function is deployed without a variable its settings require
    assert set(REQUIRED[function]) - given[function] == set()


def test_a_snapshot_bucket_without_its_key_is_refused(environment: pytest.MonkeyPatch) -> None:
    # Given a match worker told where snapshots live but not which key signs them
    environment.setenv("SNAPSHOT_BUCKET", "snapshots")
    environment.delenv("SNAPSHOT_SECRET_NAME", raising=False)
    # When it cold-starts, Then it refuses, naming the missing variable
    with pytest.raises(ConfigurationError, match="SNAPSHOT_SECRET_NAME"):
        MatchSettings.load()
    # But with the key named, or with no bucket at all, it starts
    environment.setenv("SNAPSHOT_SECRET_NAME", "snapshot-key")
    assert MatchSettings.load().snapshot_bucket == "snapshots"
    environment.delenv("SNAPSHOT_BUCKET")
    environment.delenv("SNAPSHOT_SECRET_NAME")
    assert MatchSettings.load().snapshot_bucket == ""
