"""One settings model, read from the environment that template.yaml gives each function."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every function reads the same model; values it does not use keep their defaults."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    subscribers_table: str = "jobalerts-subscribers"
    searches_table: str = "jobalerts-searches"
    posts_table: str = "jobalerts-posts"
    matches_table: str = "jobalerts-matches"
    state_table: str = "jobalerts-state"
    delivery_queue_url: str = ""
    source_secret_name: str = "jobalerts/sources"  # noqa: S105 - a name, not a secret
    signing_secret_name: str = "jobalerts/signing-key"  # noqa: S105 - a name, not a secret
    session_parameter_path: str = Field(
        default="/jobalerts/bluesky-sessions",
        description="SSM path of the SecureString parameters that hold Bluesky sessions",
    )

    public_base_url: str = Field(default="http://127.0.0.1:8080", description="where links point")
    sender_email: str = "alerts@jobalerts.example"
    unsubscribe_mailbox: str = "unsubscribe@jobalerts.example"
    ses_configuration_set: str = ""
    support_contact: str = Field(
        default="support@jobalerts.example",
        description="how a person reaches a human: the HELP reply to a text names it",
    )

    x_base_url: str = "https://api.x.com"
    mastodon_instances: str = "mastodon.social"
    mastodon_tags: str = "hiring,jobs,remotejobs"
    bluesky_base_url: str = "https://bsky.social"
    bluesky_queries: str = Field(
        default='#hiring,#jobs,"we\'re hiring"',
        description="comma-separated searchPosts queries, each polled with its own checkpoint",
    )
    enabled_sources: str = "x"
    mastodon_base_url: str = Field(
        default="", description="empty = https://<instance>; set to a replay server locally"
    )
    x_monthly_read_budget: int = Field(default=100_000, ge=0, description="posts read per month")
    x_run_read_budget: int = Field(default=2_000, ge=0, description="posts read per ingest run")
    x_max_pages: int = Field(default=10, ge=1)
    author_blocklist: str = Field(default="", description="comma-separated handles to drop")

    post_ttl_days: int = Field(default=7, ge=1, le=7)
    match_ttl_days: int = Field(default=14, ge=1)
    search_shards: int = Field(default=1, ge=1)
    match_shard: str = "0"
    snapshot_bucket: str = Field(default="", description="empty: no index snapshots")
    snapshot_secret_name: str = "jobalerts/index-snapshot-key"  # noqa: S105 - a name, not a secret
    snapshot_interval_minutes: int = Field(
        default=15, ge=1, description="a warm worker writes its index at most this often"
    )
    max_posts_per_search: int = Field(default=5, ge=1)
    max_posts_per_author: int = Field(
        default=3, ge=1, description="posts of one account per search in one digest"
    )

    # Sign-up abuse limits (template.yaml parameters). Each is "at most N per sliding window".
    signup_window_seconds: int = Field(default=3600, ge=60)
    signup_limit_per_client: int = Field(default=10, ge=1, description="per client IP")
    signup_limit_per_destination: int = Field(
        default=3, ge=1, description="per email address (sub-addresses folded) or phone number"
    )
    signup_limit_per_number_range: int = Field(
        default=5, ge=1, description="per block of 1,000 phone numbers (SMS pumping uses ranges)"
    )
    signup_limit_overall: int = Field(default=500, ge=1, description="every sign-up together")
    sms_signup_limit_overall: int = Field(
        default=50, ge=1, description="confirmation texts, all numbers together"
    )
    # Search previews cost CPU, not messages: a tighter window, a looser count.
    preview_window_seconds: int = Field(default=60, ge=10)
    preview_limit_per_client: int = Field(default=20, ge=1, description="per client IP")
    preview_limit_overall: int = Field(default=600, ge=1, description="every preview together")
    sms_countries: str = Field(
        default="US,CA,GB,IE,DE,FR,NL,AU",
        description="ISO 3166 regions whose mobile numbers may get texts",
    )

    @property
    def sms_country_set(self) -> frozenset[str]:
        return frozenset(c.strip().upper() for c in self.sms_countries.split(",") if c.strip())

    @property
    def source_list(self) -> list[str]:
        return [s.strip() for s in self.enabled_sources.split(",") if s.strip()]

    @property
    def blocked_authors(self) -> set[str]:
        return {
            a.strip().lstrip("@").lower() for a in self.author_blocklist.split(",") if a.strip()
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
