"""Every boto3 client is built in jobalerts/aws.py, with timeouts and retries chosen per call."""

from __future__ import annotations

import re
from pathlib import Path

from jobalerts import aws

LAYERS = Path(__file__).resolve().parents[2] / "layers"


def test_no_boto3_client_or_resource_is_built_outside_the_wiring_module() -> None:
    pattern = re.compile(r"boto3\.(client|resource)\(")
    offenders = [
        f"{path.relative_to(LAYERS)}:{number}"
        for path in sorted(LAYERS.rglob("*.py"))
        if path != LAYERS / "jobalerts" / "aws.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_a_digest_send_has_no_sdk_retries_beneath_the_claim() -> None:
    assert aws.DIGEST_SEND.retries == {"mode": "standard", "total_max_attempts": 1}
    assert aws.DIGEST_SEND.read_timeout == 10
    assert aws.DIGEST_SEND.connect_timeout == 2


def test_every_call_site_sets_timeouts_and_a_retry_mode() -> None:
    for config in (aws.DATA, aws.QUEUE, aws.DIGEST_SEND, aws.NOTIFY, aws.LOOKUP):
        assert config.connect_timeout <= 2
        assert config.read_timeout <= 10
        assert config.retries is not None
        assert config.retries["mode"] == "standard"
        assert 1 <= config.retries["total_max_attempts"] <= 4
