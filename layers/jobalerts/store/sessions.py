"""Bluesky sessions, so a cold start refreshes instead of logging in again.

The tokens (an access JWT and a refresh JWT that can mint new ones) are secrets, so they are kept
apart from the State table, which the internet-facing subscriptions function reads: one SSM
Parameter Store SecureString per account, under `IngestSettings.session_parameter_path`, encrypted with
the account's `aws/ssm` key. Only the ingest function's role may read or write that path
(template.yaml; tests/unit/test_iam.py). Standard parameters cost nothing, unlike a Secrets
Manager secret per session; docs/architecture.md says more.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class SessionsRepository:
    def __init__(self, client: SSMClient, path: str) -> None:
        self.client = client
        self.path = path.rstrip("/")

    def name(self, session_key: str) -> str:
        # Parameter names allow [a-zA-Z0-9_.-/] only; a session key holds a URL and a handle.
        return f"{self.path}/{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"

    def get(self, session_key: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The saved session, or None when there is none or its refresh token has expired."""
        try:
            page = self.client.get_parameter(Name=self.name(session_key), WithDecryption=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise
        data: dict[str, Any] = json.loads(page["Parameter"].get("Value", "{}"))
        expiration = data.get("expiration")
        if expiration is not None and int(expiration) < (now or datetime.now(UTC)).timestamp():
            return None
        return data

    def put(self, session_key: str, data: dict[str, Any]) -> None:
        """Overwrites: one parameter per account, always its newest session. Errors propagate;
        the caller treats the store as a cache."""
        self.client.put_parameter(
            Name=self.name(session_key),
            Value=json.dumps(data, sort_keys=True),
            Type="SecureString",
            Overwrite=True,
            Tier="Standard",
        )
