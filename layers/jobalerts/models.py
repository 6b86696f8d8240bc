"""Pydantic models for everything stored or passed between functions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Source = Literal["x", "mastodon", "bluesky"]

# Bounds a manage-token holder cannot lift: at most this many texts a local day, and at least
# this many quiet hours a night. Stored values outside them are read back clamped, so nothing
# written before (or around) validation can make the service text more.
MAX_SMS_DAILY_CAP = 10
MIN_QUIET_HOURS = 8
DEFAULT_QUIET = (21, 8)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Frequency(StrEnum):
    INSTANT = "instant"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED = "suppressed"


class SearchStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class Post(BaseModel):
    """One job post, normalized the same way whatever microblog it came from."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="source-prefixed, e.g. 'x#1850000000000000000'")
    source: Source
    author_handle: str
    author_name: str = ""
    author_bot: bool = Field(default=False, description="the account says it is automated")
    text: str
    url: str
    links: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    mention_urls: dict[str, str] = Field(
        default_factory=dict,
        description="mentioned handle -> its profile, where the source says (Bluesky facets "
        "name the account's DID, Mastodon gives the profile URL)",
    )
    content_warning: str = Field(
        default="", description="Mastodon's spoiler_text: shown as a label before the text"
    )
    lang: str | None = None
    created_at: datetime
    also_posted_by: list[str] = Field(default_factory=list)


class Subscriber(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscriber_id: str
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    status: SubscriberStatus = SubscriberStatus.PENDING
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_weekday: int = Field(default=0, ge=0, le=6, description="0 = Monday")
    email_enabled: bool = True
    sms_enabled: bool = True
    sms_quiet_start: int = Field(default=21, ge=0, le=23, description="local hour texts pause")
    sms_quiet_end: int = Field(default=8, ge=0, le=23, description="local hour texts resume")
    sms_daily_cap: int = Field(default=3, ge=1, le=24, description="texts per local day")
    # Each channel is confirmed by a link sent to it, and only then is anything sent on it.
    email_confirmed: bool = False
    phone_confirmed: bool = False
    created_at: datetime
    confirmed_at: datetime | None = None
    paused: bool = Field(
        default=False, description="alerts paused: its searches are not live, nothing is sent"
    )
    paused_until: datetime | None = Field(
        default=None, description="when a pause ends by itself; None while paused: until resumed"
    )

    muted: list[str] = Field(
        default_factory=list,
        description="accounts (author keys, see `author_key`) whose posts this subscriber never "
        "gets in a digest",
    )

    @property
    def receiving(self) -> bool:
        """Confirmed, not left and not paused: its searches are live."""
        return self.status is SubscriberStatus.ACTIVE and not self.paused

    @field_validator("sms_daily_cap")
    @classmethod
    def _bounded_cap(cls, value: int) -> int:
        return min(value, MAX_SMS_DAILY_CAP)

    @model_validator(mode="after")
    def _bounded_quiet_hours(self) -> Subscriber:
        if quiet_hours(self.sms_quiet_start, self.sms_quiet_end) < MIN_QUIET_HOURS:
            self.sms_quiet_start, self.sms_quiet_end = DEFAULT_QUIET
        return self

    def confirmed(self, channel: Channel) -> bool:
        if channel is Channel.EMAIL:
            return bool(self.email) and self.email_confirmed
        return bool(self.phone) and self.phone_confirmed

    def unreachable(self, channel: Channel) -> str | None:
        """Why nothing can reach this subscriber on `channel`, or None when it can: the one rule
        the match worker (queues nothing) and delivery (sends nothing) share. Pauses and the
        suppression list are delivery's to check: a paused subscriber's matches wait."""
        if self.status is not SubscriberStatus.ACTIVE:
            return f"subscriber {self.status.value}"
        if not self.confirmed(channel):
            # A channel counts only once a link sent to that very address was used.
            return f"{channel.value} not confirmed"
        if channel is Channel.EMAIL:
            return None if self.email_enabled and self.email else "email off"
        return None if self.sms_enabled and self.phone else "sms off"

    def reachable(self, channel: Channel) -> bool:
        return self.unreachable(channel) is None


def author_key(handle: str) -> str:
    """One account however its handle is written: no leading @, case folded."""
    return handle.strip().lstrip("@").casefold()


def quiet_hours(start: int, end: int) -> int:
    """Length of the quiet window from `start`:00 to `end`:00 local (0 when they are equal)."""
    return (end - start) % 24


class SavedSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscriber_id: str
    search_id: str
    query: str
    channel: Channel = Channel.EMAIL
    frequency: Frequency = Frequency.DAILY
    status: SearchStatus = SearchStatus.ACTIVE
    live: bool = Field(
        default=True,
        description="its subscriber has confirmed and not left: only live searches are planned "
        "into X queries (billed per read) and held in the match index",
    )
    shard: str = "0"
    updated_at: str = Field(
        description="ISO-8601 UTC with microseconds; orders changes for the index"
    )
    created_at: datetime


class PendingMatch(BaseModel):
    """A post waiting to go out to one subscriber on one channel."""

    model_config = ConfigDict(extra="ignore")

    subscriber_id: str
    channel: Channel
    post: Post
    search_ids: list[str]
    due_at: datetime
    matched_at: datetime


class DeliveryRequest(BaseModel):
    """SQS message body: send one subscriber's digest for one channel and window."""

    subscriber_id: str
    channel: Channel
    due_at: datetime

    @property
    def digest_key(self) -> str:
        return f"{self.subscriber_id}#{self.channel.value}#{self.due_at.isoformat()}"
