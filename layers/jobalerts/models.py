"""Pydantic models for everything stored or passed between functions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["x", "mastodon", "bluesky"]


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
    created_at: datetime
    confirmed_at: datetime | None = None


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
