"""Repositories on the `stack` fixture's resources, built the way the functions build them.

Repositories take their table (or bucket, or SSM path) as a required argument; the names come
from the environment the `stack` fixture applied, read by the harness's everything-model, and
the pieces from `jobalerts.wiring`, so a test never copies a table name around. Call these inside
a test that uses `stack` (this module holds no tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobalerts import aws, wiring
from jobalerts.settings import IngestSettings
from jobalerts.sources.base import SourceStores
from jobalerts.store import SearchesRepository, StateRepository, SubscribersRepository
from jobalerts.store.archive import DigestArchive
from jobalerts.store.deliveries import DeliveryLog
from jobalerts.store.inbound import InboundMessagesRepository
from jobalerts.store.matches import MatchesRepository
from jobalerts.store.posts import PostsRepository
from jobalerts.store.ratelimits import RateLimits
from jobalerts.store.recent import RecentPostsRepository
from jobalerts.store.sessions import SessionsRepository
from jobalerts.store.signups import SignupsRepository
from jobalerts.store.snapshots import SnapshotsRepository
from jobalerts.store.suppressions import SuppressionList
from jobalerts.store.tables import open_table
from jobalerts_local.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def settings() -> Settings:
    """The stack's names, read afresh: the `stack` fixture applies them to the environment."""
    return Settings()


def state_table() -> Table:
    return open_table(settings().state_table)


def subscribers() -> SubscribersRepository:
    return wiring.subscribers(settings())


def searches() -> SearchesRepository:
    return wiring.searches(settings())


def matches() -> MatchesRepository:
    return wiring.matches(settings())


def posts() -> PostsRepository:
    return wiring.posts(settings())


def state() -> StateRepository:
    return wiring.state(settings())


def inbound() -> InboundMessagesRepository:
    return wiring.inbound_messages(settings())


def recent() -> RecentPostsRepository:
    return wiring.recent_posts(settings())


def deliveries() -> DeliveryLog:
    return DeliveryLog(state_table())


def archive() -> DigestArchive:
    return DigestArchive(state_table())


def suppressions() -> SuppressionList:
    return SuppressionList(state_table())


def rate_limits() -> RateLimits:
    return RateLimits(state_table())


def signups() -> SignupsRepository:
    return SignupsRepository(state_table())


def sessions() -> SessionsRepository:
    return wiring.session_store(settings())()


def snapshots(bucket: str | None = None) -> SnapshotsRepository:
    """The match workers' snapshot bucket, or `bucket` (one the stack does not have)."""
    return SnapshotsRepository(bucket or settings().snapshot_bucket, aws.s3(aws.SNAPSHOT))


def sources(config: Settings | IngestSettings | None = None) -> SourceStores:
    return wiring.source_stores(config or settings())


def ingest(config: Settings | IngestSettings) -> dict[str, Any]:
    """What `jobalerts.ingest.run` takes besides its settings, as its keyword arguments."""
    return {
        "posts": wiring.posts(config),
        "state": wiring.state(config),
        "stores": wiring.source_stores(config),
    }
