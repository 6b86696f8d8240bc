"""The composition root: each function's service is built here, from that function's settings.

A handler does three things at cold start and nothing else: load its settings
(`<Function>Settings.load()`, which fails naming a missing variable), call
`build_<function>(settings)`, and keep the result for warm invocations. Everything below the
handler takes its collaborators as arguments; this module alone decides which table, queue and
client each gets, and which botocore `Config` each client has (clients come from `jobalerts.aws`).

The signing key is a secret: it is read on first use (a cached provider), not at cold start, so
a request that signs nothing does not pay for a Secrets Manager call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from jobalerts import aws, tokens
from jobalerts.delivery.deliver import DeliveryStores, DigestDelivery
from jobalerts.delivery.email import EmailSender
from jobalerts.delivery.senders import Senders
from jobalerts.delivery.sms import SmsSender
from jobalerts.digests.enqueue import DeliveryQueue, DigestSchedule
from jobalerts.fanout import PostFanout
from jobalerts.feedback import FeedbackService
from jobalerts.feeds import FeedService
from jobalerts.inbound_sms import InboundSms
from jobalerts.index_snapshots import SnapshotKeeper, secret_key
from jobalerts.ingest import IngestService, SourceCredentials
from jobalerts.links import Links
from jobalerts.matching import LiveIndex, MatchService
from jobalerts.preview import RecentWindow, SearchPreviews
from jobalerts.settings import (
    DeliverSettings,
    DigestSettings,
    EmailSettings,
    FanoutSettings,
    FeedbackSettings,
    InboundSmsSettings,
    IngestSettings,
    MatchesTableSettings,
    MatchSettings,
    PostsTableSettings,
    PublicLinkSettings,
    SearchesTableSettings,
    SmsAccountSettings,
    SnapshotSettings,
    SourceSettings,
    StateTableSettings,
    SubscribersTableSettings,
    SubscriptionsSettings,
)
from jobalerts.sources.base import SourceStores
from jobalerts.sources.planner import QueryPlanner
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
from jobalerts.subscriptions import AccountStores, SubscriptionService

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


# ---------------------------------------------------------------- pieces several functions share


def signer_provider(settings: PublicLinkSettings) -> Callable[[], tokens.Signer]:
    """The signing key, fetched from Secrets Manager once, on first use."""
    name = settings.signing_secret_name
    return cache(lambda: tokens.load_signer(name))


def links_provider(settings: PublicLinkSettings) -> Callable[[], Links]:
    signer = signer_provider(settings)
    base_url = settings.public_base_url
    return cache(lambda: Links(base_url, signer()))


def subscribers(settings: SubscribersTableSettings) -> SubscribersRepository:
    return SubscribersRepository(open_table(settings.subscribers_table))


def searches(settings: SearchesTableSettings) -> SearchesRepository:
    return SearchesRepository(open_table(settings.searches_table))


def matches(settings: MatchesTableSettings) -> MatchesRepository:
    return MatchesRepository(open_table(settings.matches_table), ttl_days=settings.match_ttl_days)


def posts(settings: PostsTableSettings) -> PostsRepository:
    return PostsRepository(open_table(settings.posts_table), ttl_days=settings.post_ttl_days)


def state(settings: StateTableSettings) -> StateRepository:
    return StateRepository(open_table(settings.state_table))


def inbound_messages(settings: StateTableSettings) -> InboundMessagesRepository:
    return InboundMessagesRepository(open_table(settings.state_table))


def recent_posts(settings: StateTableSettings) -> RecentPostsRepository:
    return RecentPostsRepository(open_table(settings.state_table))


def snapshot_keeper(settings: SnapshotSettings) -> SnapshotKeeper | None:
    """Index snapshots in S3 when the template gives the worker a bucket, else None. The HMAC
    key is read on first use, so a worker that finds no snapshot to load pays for it once."""
    if not settings.snapshot_bucket:
        return None
    return SnapshotKeeper(
        store=SnapshotsRepository(settings.snapshot_bucket, aws.s3(aws.SNAPSHOT)),
        key=secret_key(settings.snapshot_secret_name),
        interval=timedelta(minutes=settings.snapshot_interval_minutes),
    )


def deliver_stores(settings: DeliverSettings) -> DeliveryStores:
    state_table = open_table(settings.state_table)
    return DeliveryStores(
        matches=matches(settings),
        subscribers=subscribers(settings),
        searches=searches(settings),
        log=DeliveryLog(state_table),
        archive=DigestArchive(state_table),
        suppression=SuppressionList(state_table),
    )


def digest_senders(settings: EmailSettings) -> Senders:
    """One attempt per send: nothing may resend below the delivery claim (see jobalerts.aws)."""
    return Senders(
        email=EmailSender(
            settings.sender_email,
            settings.ses_configuration_set,
            client=aws.sesv2(aws.DIGEST_SEND),
        ),
        sms=SmsSender(aws.sns(aws.DIGEST_SEND), lookup=aws.sns(aws.LOOKUP)),
    )


def notification_senders(settings: EmailSettings) -> Senders:
    """Confirmations: a second copy is harmless, so the SDK may retry (aws.NOTIFY)."""
    return Senders(
        email=EmailSender(
            settings.sender_email, settings.ses_configuration_set, client=aws.sesv2(aws.NOTIFY)
        ),
        sms=reply_sender(),
    )


def reply_sender() -> SmsSender:
    return SmsSender(aws.sns(aws.NOTIFY), lookup=aws.sns(aws.LOOKUP))


# ---------------------------------------------------------------- one builder per function


def build_deliver(settings: DeliverSettings) -> DigestDelivery:
    return DigestDelivery(
        stores=deliver_stores(settings),
        senders=digest_senders(settings),
        links=links_provider(settings),
        settings=settings,
    )


def build_digest(settings: DigestSettings) -> DigestSchedule:
    return DigestSchedule(
        matches=matches(settings),
        queue=DeliveryQueue(settings.delivery_queue_url, aws.sqs(aws.QUEUE)),
        subscribers=subscribers(settings),
        searches=searches(settings),
    )


def build_feedback(settings: FeedbackSettings) -> FeedbackService:
    state_table = open_table(settings.state_table)
    return FeedbackService(
        subscribers=subscribers(settings),
        searches=searches(settings),
        suppression=SuppressionList(state_table),
        log=DeliveryLog(state_table),
    )


def build_inbound_sms(settings: InboundSmsSettings) -> InboundSms:
    return InboundSms(
        settings=settings,
        subscribers=subscribers(settings),
        inbound=inbound_messages(settings),
        sms=reply_sender(),
    )


def source_stores(settings: IngestSettings) -> SourceStores:
    """What the sources need besides their APIs: X's query plan (searches and state tables)
    and Bluesky's session store (SSM, opened on first use, so a local `jobalerts fetch`
    without AWS fails inside the session cache, not while building the source)."""
    planner = QueryPlanner(searches(settings), state(settings), settings.search_shards)
    return SourceStores(
        planned_queries=lambda: planner.current().queries, sessions=session_store(settings)
    )


def session_store(settings: SourceSettings) -> Callable[[], SessionsRepository]:
    """Bluesky's session store (SSM Parameter Store), opened when first called."""
    path = settings.session_parameter_path
    return lambda: SessionsRepository(aws.ssm(aws.PARAMETERS), path)


def build_ingest(settings: IngestSettings) -> IngestService:
    return IngestService(
        settings=settings,
        posts=posts(settings),
        state=state(settings),
        stores=source_stores(settings),
        credentials=SourceCredentials.from_secret(settings),
    )


def build_match(settings: MatchSettings) -> tuple[MatchService, RecentPostsRepository]:
    """The matching use case, and the previews' window of recent posts it appends to."""
    service = MatchService(
        index=LiveIndex(searches(settings), shard=settings.match_shard),
        subscribers=subscribers(settings),
        matches=matches(settings),
        snapshots=snapshot_keeper(settings),
    )
    return service, recent_posts(settings)


def build_fanout(settings: FanoutSettings) -> PostFanout:
    return PostFanout(aws.sns(aws.NOTIFY), settings.posts_topic_arn)


def build_sms_settings(settings: SmsAccountSettings) -> SNSClient:
    return aws.sns(aws.NOTIFY)


class WebServices(NamedTuple):
    """What the subscriptions function's routers use (`web.app.install(*services)`)."""

    subscriptions: SubscriptionService
    feeds: FeedService
    previews: SearchPreviews


def build_subscriptions(settings: SubscriptionsSettings) -> WebServices:
    """The API's use case, the feeds' and the previews' (one function serves all three),
    sharing one signing key and one table of rate counters."""
    state_table = open_table(settings.state_table)
    signer = signer_provider(settings)
    people, saved = subscribers(settings), searches(settings)
    limits = RateLimits(state_table)
    stores = AccountStores(
        subscribers=people,
        searches=saved,
        state=StateRepository(state_table),
        signups=SignupsRepository(state_table),
        limits=limits,
        suppression=SuppressionList(state_table),
        archive=DigestArchive(state_table),
        matches=matches(settings),
    )
    service = SubscriptionService(
        settings, stores=stores, senders=notification_senders(settings), signer=signer
    )
    window = RecentWindow(RecentPostsRepository(state_table), posts(settings))
    feeds = FeedService(
        settings=settings, subscribers=people, searches=saved, window=window, signer=signer
    )
    return WebServices(service, feeds, SearchPreviews(window, limits, settings))
