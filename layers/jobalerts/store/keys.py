"""Every StateTable key shape, in one place.

The State table holds many kinds of small records under one key schema (`pk`, `sk`). What keeps
them apart is the partition key: each kind owns either one fixed `pk` value or every `pk` that
starts with its prefix, and no two kinds may overlap (tests/unit/test_state_keys.py checks it).
Repositories in `jobalerts.store` build their keys here and nowhere else, so a new kind of
record is one `Shape` and one function below, and a collision is a failing test rather than
two features overwriting each other's items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jobalerts.models import Channel
from jobalerts.schedule import window_key

PARTITION = "pk"
SORT = "sk"
KEY_ATTRIBUTES = frozenset({PARTITION, SORT})

Key = dict[str, str]


@dataclass(frozen=True)
class Shape:
    """A kind of record: the `pk` it owns, exactly or (`prefix`) as a prefix, and who owns it."""

    name: str
    pk: str
    owner: str
    prefix: bool = False

    def owns(self, pk: str) -> bool:
        return pk.startswith(self.pk) if self.prefix else pk == self.pk

    def key(self, sk: str, pk_suffix: str = "") -> Key:
        if pk_suffix and not self.prefix:
            raise ValueError(f"{self.name} owns one fixed partition key")
        return {PARTITION: self.pk + pk_suffix, SORT: sk}


CHECKPOINT = Shape("source checkpoint", "checkpoint", "store/state.py")
SOURCE_PAUSE = Shape("source pause", "pause", "store/state.py")
READ_BUDGET = Shape("monthly read budget", "budget", "store/state.py")
QUERY_PLAN = Shape("cached query plan", "plan", "store/state.py")
NEAR_DUPLICATE = Shape("near-duplicate marker", "dup", "store/state.py")
INBOUND_SMS = Shape("handled inbound text", "inbound-sms", "store/inbound.py")
SIGNUP = Shape("pending sign-up", "signup", "store/signups.py")
RATE_COUNTER = Shape("rate-limit counter", "ratelimit#", "store/ratelimits.py", prefix=True)
DELIVERY = Shape("delivery window, lock, sms counter", "delivery#", "store/deliveries.py", True)
SUPPRESSED_EMAIL = Shape("suppressed address", "suppressed#email", "store/suppressions.py")
ARCHIVED_DIGEST = Shape("archived digest", "digest#", "store/archive.py", prefix=True)
DIGEST_LINK = Shape("short digest link", "digest-link", "store/archive.py")
RECENT_POSTS = Shape("recent posts for previews", "recent#", "store/recent.py", prefix=True)

SHAPES: tuple[Shape, ...] = (
    CHECKPOINT,
    SOURCE_PAUSE,
    READ_BUDGET,
    QUERY_PLAN,
    NEAR_DUPLICATE,
    INBOUND_SMS,
    SIGNUP,
    RATE_COUNTER,
    DELIVERY,
    SUPPRESSED_EMAIL,
    ARCHIVED_DIGEST,
    DIGEST_LINK,
    RECENT_POSTS,
)


def shape_of(pk: str) -> Shape:
    """The one shape that owns this partition key; ValueError for a key nobody owns."""
    owners = [shape for shape in SHAPES if shape.owns(pk)]
    if len(owners) != 1:
        raise ValueError(f"{len(owners)} shapes own this partition key")
    return owners[0]


def checkpoint(source: str) -> Key:
    return CHECKPOINT.key(source)


def source_pause(source: str) -> Key:
    return SOURCE_PAUSE.key(source)


def read_budget(source: str, month: str) -> Key:
    """`month` is `YYYY-MM`: a new month is a new counter, so nothing resets it."""
    return READ_BUDGET.key(f"{source}#{month}")


def query_plan(source: str) -> Key:
    return QUERY_PLAN.key(source)


def near_duplicate(fingerprint: str) -> Key:
    return NEAR_DUPLICATE.key(fingerprint)


def inbound_sms(message_id: str) -> Key:
    return INBOUND_SMS.key(message_id)


def signup(signup_id: str) -> Key:
    return SIGNUP.key(signup_id)


def rate_counter(bucket: str, key_digest: str, window: int) -> Key:
    return RATE_COUNTER.key(f"{key_digest}#{window}", bucket)


def delivery_window(subscriber_id: str, channel: Channel, window: datetime) -> Key:
    return DELIVERY.key(f"{channel.value}#w#{window_key(window)}", subscriber_id)


def delivery_lock(subscriber_id: str, channel: Channel) -> Key:
    return DELIVERY.key(f"{channel.value}#lock", subscriber_id)


def sms_counter(subscriber_id: str, day: date) -> Key:
    return DELIVERY.key(f"sms#count#{day.isoformat()}", subscriber_id)


def suppressed_email(address_digest: str) -> Key:
    return SUPPRESSED_EMAIL.key(address_digest)


def archived_digest(subscriber_id: str, digest_id: str) -> Key:
    return ARCHIVED_DIGEST.key(digest_id, subscriber_id)


def digest_link(digest_id: str) -> Key:
    return DIGEST_LINK.key(digest_id)


def recent_posts_partition(day: str) -> str:
    """The partition of the chunks that arrived on `day` (UTC, ISO), for a Query."""
    return RECENT_POSTS.pk + day


def recent_posts_chunk(day: str, chunk: str) -> Key:
    return RECENT_POSTS.key(chunk, day)
