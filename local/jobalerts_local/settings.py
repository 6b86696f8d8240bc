"""Every field group of the functions' settings, each field with a local default.

For the harness's own commands (CLI, demo, serve, simulate, load) and bench/, which run many
functions' code in one process against one stack and want a value for every field without a
full environment. No handler reads it (each loads its own model from `jobalerts.settings`), and
nothing in the layer may: there, `jobalerts.wiring` is given a function's settings explicitly.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from jobalerts.settings import (
    DigestLimitSettings,
    EmailSettings,
    MatchesTableSettings,
    PostsTableSettings,
    PublicLinkSettings,
    SearchesTableSettings,
    SignupLimitSettings,
    SnapshotSettings,
    SourceSettings,
    Stage,
    StateTableSettings,
    SubscribersTableSettings,
)


class Settings(
    SubscribersTableSettings,
    SearchesTableSettings,
    PostsTableSettings,
    MatchesTableSettings,
    StateTableSettings,
    PublicLinkSettings,
    EmailSettings,
    DigestLimitSettings,
    SourceSettings,
    SignupLimitSettings,
    SnapshotSettings,
):
    """Every field group, each field with a local default. (The groups are listed in the order
    of `jobalerts.settings`' function models, so this class has a consistent MRO.)"""

    stage: Stage = "local"
    subscribers_table: str = "jobalerts-subscribers"
    searches_table: str = "jobalerts-searches"
    posts_table: str = "jobalerts-posts"
    matches_table: str = "jobalerts-matches"
    state_table: str = "jobalerts-state"
    delivery_queue_url: str = ""
    source_secret_name: str = "jobalerts/sources"  # noqa: S105 - a name, not a secret
    signing_secret_name: str = "jobalerts/signing-key"  # noqa: S105 - a name, not a secret
    session_parameter_path: str = "/jobalerts/bluesky-sessions"
    snapshot_secret_name: str = "jobalerts/index-snapshot-key"  # noqa: S105 - a name, not a secret
    public_base_url: str = Field(default="http://127.0.0.1:8080", description="where links point")
    sender_email: str = "alerts@jobalerts.example"
    unsubscribe_mailbox: str = "unsubscribe@jobalerts.example"
    support_contact: str = "support@jobalerts.example"
    match_shard: str = "0"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
