"""Settings per function, read from the environment that template.yaml gives each function.

Each function has its own model (`DeliverSettings`, `DigestSettings`, ...) composed of the field
groups below, so it reads exactly what it uses. Fields without a sane default (table names, queue
URLs, secret names, the public base URL, the sender) are required: `load()` at cold start turns a
missing variable into a `ConfigurationError` that names it, before the first event arrives.

Local runs are signalled explicitly, not guessed from a URL: `STAGE=local` (the harness sets it).
Anywhere else the public base URL must be https, since it is where emailed links point.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobalerts.errors import ConfigurationError

Stage = Literal["local", "aws"]


class _FromEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    @classmethod
    def load(cls) -> Self:
        """Read the environment, or fail naming each bad variable (upper case, as template.yaml)."""
        try:
            return cls()
        except ValidationError as error:
            problems = "; ".join(
                f"{str(e['loc'][0]).upper()}: {e['msg']}" if e["loc"] else e["msg"]
                for e in error.errors()
            )
            message = f"{cls.__name__}: bad environment: {problems}"
            raise ConfigurationError(message) from None


# ---------------------------------------------------------------- field groups


class SubscribersTableSettings(_FromEnvironment):
    subscribers_table: str = Field(min_length=1)


class SearchesTableSettings(_FromEnvironment):
    searches_table: str = Field(min_length=1)


class PostsTableSettings(_FromEnvironment):
    posts_table: str = Field(min_length=1)
    post_ttl_days: int = Field(default=7, ge=1, le=7)


class MatchesTableSettings(_FromEnvironment):
    matches_table: str = Field(min_length=1)
    match_ttl_days: int = Field(default=14, ge=1)


class StateTableSettings(_FromEnvironment):
    state_table: str = Field(min_length=1)


class ShardSettings(_FromEnvironment):
    search_shards: int = Field(default=1, ge=1)


class PublicLinkSettings(_FromEnvironment):
    """Signed links to our pages: where they point and the key that signs them."""

    stage: Stage = Field(default="aws", description="'local' only in the local harness and tests")
    public_base_url: str = Field(min_length=1, description="where links point")
    signing_secret_name: str = Field(min_length=1)

    @model_validator(mode="after")
    def _https_outside_local_runs(self) -> Self:
        url = self.public_base_url.lower()
        if url.startswith("https://") or (self.stage == "local" and url.startswith("http://")):
            return self
        raise ValueError(f"PUBLIC_BASE_URL must be https:// unless STAGE=local, got {url!r}")


class EmailSettings(_FromEnvironment):
    sender_email: str = Field(min_length=3)
    unsubscribe_mailbox: str = Field(min_length=3)
    ses_configuration_set: str = ""


class DigestLimitSettings(_FromEnvironment):
    max_posts_per_search: int = Field(default=5, ge=1)
    max_posts_per_author: int = Field(
        default=3, ge=1, description="posts of one account per search in one digest"
    )


class SourceSettings(ShardSettings):
    """What the sources read (sources/*.build); the shard count plans X's queries."""

    source_secret_name: str = Field(min_length=1)
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
    session_parameter_path: str = Field(
        min_length=1,
        description="SSM path of the SecureString parameters that hold Bluesky sessions",
    )

    @property
    def source_list(self) -> list[str]:
        return [s.strip() for s in self.enabled_sources.split(",") if s.strip()]

    @property
    def blocked_authors(self) -> set[str]:
        return {
            a.strip().lstrip("@").lower() for a in self.author_blocklist.split(",") if a.strip()
        }


class SignupLimitSettings(_FromEnvironment):
    """Sign-up abuse limits (template.yaml parameters). Each is "at most N per sliding window"."""

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


# ---------------------------------------------------------------- one model per function


class DeliverSettings(
    SubscribersTableSettings,
    SearchesTableSettings,
    MatchesTableSettings,
    StateTableSettings,
    PublicLinkSettings,
    EmailSettings,
    DigestLimitSettings,
):
    """functions/deliver: renders and sends one digest per SQS message."""


class DigestSettings(SubscribersTableSettings, SearchesTableSettings, MatchesTableSettings):
    """functions/digest: finds due digests, queues deliveries, ends pauses that are over."""

    delivery_queue_url: str = Field(min_length=1)


class FeedbackSettings(SubscribersTableSettings, SearchesTableSettings, StateTableSettings):
    """functions/feedback: SES bounces and complaints."""


class InboundSmsSettings(SubscribersTableSettings, StateTableSettings):
    """functions/inbound_sms: HELP, STOP and START."""

    support_contact: str = Field(
        default="support@jobalerts.example",
        description="how a person reaches a human: the HELP reply to a text names it",
    )


class IngestSettings(SearchesTableSettings, PostsTableSettings, StateTableSettings, SourceSettings):
    """functions/ingest: polls the sources into the posts table."""


class SnapshotSettings(_FromEnvironment):
    """Index snapshots in S3: optional, so an empty bucket turns them off."""

    snapshot_bucket: str = Field(default="", description="empty: no index snapshots")
    snapshot_secret_name: str = Field(
        default="", description="the HMAC key's secret; required once SNAPSHOT_BUCKET is set"
    )
    snapshot_interval_minutes: int = Field(
        default=15, ge=1, description="a warm worker writes its index at most this often"
    )

    @model_validator(mode="after")
    def _a_bucket_needs_a_key(self) -> Self:
        # An unsigned snapshot would be unpickled on trust: refuse the pair half set.
        if self.snapshot_bucket and not self.snapshot_secret_name:
            raise ValueError("SNAPSHOT_SECRET_NAME is required when SNAPSHOT_BUCKET is set")
        return self


class MatchSettings(
    SubscribersTableSettings,
    SearchesTableSettings,
    MatchesTableSettings,
    StateTableSettings,
    SnapshotSettings,
):
    """functions/match: the posts stream against the live searches of one shard; it also
    appends each batch to the previews' window of recent posts (state table)."""

    match_shard: str = "0"


class FanoutSettings(_FromEnvironment):
    """functions/fanout: with more than one search shard, the posts stream to the shards' topic."""

    posts_topic_arn: str = Field(min_length=1)


class SmsAccountSettings(_FromEnvironment):
    """functions/sms_settings: the custom resource reads everything from its event."""


class SubscriptionsSettings(
    SubscribersTableSettings,
    SearchesTableSettings,
    PostsTableSettings,
    MatchesTableSettings,
    StateTableSettings,
    PublicLinkSettings,
    EmailSettings,
    SignupLimitSettings,
    ShardSettings,
):
    """functions/subscriptions: the API, the search previews and the pages behind emailed
    links."""
