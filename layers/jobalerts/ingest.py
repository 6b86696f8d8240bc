"""One ingest run: every enabled source, from its checkpoint, into the posts table.

Order per source: fetch, store every post, then save the checkpoint; a crash in between
re-reads posts (stored ones are skipped) and never skips one. A source that reads in parts
(X: one query after another) commits each part as it goes, so progress survives a function
that keeps dying mid-run. One failing source does not stop
the others. X reads are counted against a monthly and a per-run budget in the State table, and
a 429 pauses a source until its reset instead of sleeping in Lambda. The sources secret is read
once an hour per warm instance (`SourceCredentials`), and again as soon as a source's API
refuses what it holds.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aws_lambda_powertools.metrics import MetricUnit

from jobalerts.errors import ConfigurationError, JobAlertsError
from jobalerts.identity import fingerprint
from jobalerts.models import Post
from jobalerts.observability import logger, metrics, tracer
from jobalerts.settings import SourceSettings
from jobalerts.sources import build_source
from jobalerts.sources.base import (
    BUDGET,
    RATE_LIMITED,
    UNAUTHORIZED,
    FetchResult,
    MissingCredentials,
    Source,
    SourceStores,
)
from jobalerts.store.posts import PostsRepository
from jobalerts.store.state import StateRepository

HTTP_TIMEOUT_SECONDS = 5.0
USER_AGENT = "jobalerts/1.0 (+https://github.com/jobalerts)"
# Runs are five minutes apart, so a cache as short as Powertools' default had always expired and
# every run paid a Secrets Manager read. An hour still picks up a rotated token within the hour;
# a token an API refuses is read again at once (`SourceCredentials.refused`).
CREDENTIALS_MAX_AGE = timedelta(hours=1)
# Powertools' own cache only serves callers without a SourceCredentials of their own (one-off
# runs); a SourceCredentials asks again an hour later, long after it expired.
POWERTOOLS_MAX_AGE_SECONDS = 300


@dataclass
class SourceSummary:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    reads: int = 0
    pages: int = 0
    stopped: str | None = None
    skipped: str | None = None
    error: str | None = None
    checkpoint_saved: bool = False
    commits: int = 0
    """Checkpoints saved mid-run, each after the posts it covers were stored."""
    resume_after: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class SettledPosts:
    """Ids of posts this warm instance has already stored (or filed as a duplicate), newest
    kept, oldest forgotten first.

    The planned X queries overlap, and a run cut short re-reads a query's pages: without this,
    every post read again costs two conditional writes to find out it is already there. It also
    keeps a run that keeps failing on a long query making progress: the writes it got through
    are not redone (and put at risk) on the next run. Only a settled outcome is remembered, so
    forgetting costs writes, never a post.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._ids

    def add(self, post_id: str) -> None:
        self._ids[post_id] = None
        self._ids.move_to_end(post_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


CredentialsReader = Callable[[bool], Mapping[str, Any]]
"""Reads the sources secret; True when the value held was refused, so no cache may answer."""


class SourceCredentials:
    """The sources secret as this warm instance last read it (lives as long as the instance,
    like `SettledPosts`): read again once it is `max_age` old, or on the next `get` after a
    source said its API refused it. A failed read changes nothing: the next run tries again.

    The clock is the wall clock, not `time.monotonic`: Lambda freezes a warm instance between
    invocations, and a monotonic clock that stands still while frozen would never see the hour
    pass."""

    def __init__(
        self,
        read: CredentialsReader,
        *,
        max_age: timedelta = CREDENTIALS_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.read = read
        self.max_age = max_age.total_seconds()
        self.clock = clock
        self._value: Mapping[str, Any] | None = None
        self._read_at = 0.0
        self._refused = False

    @classmethod
    def from_secret(cls, settings: SourceSettings) -> SourceCredentials:
        """The sources secret named in `settings`, through Powertools."""
        return cls(lambda fresh: load_credentials(settings, force_fetch=fresh))

    @classmethod
    def fixed(cls, value: Mapping[str, Any]) -> SourceCredentials:
        """Credentials known up front (tests, local runs): nothing to read."""
        return cls(lambda fresh: value)

    def get(self) -> Mapping[str, Any]:
        now = self.clock()
        age = now - self._read_at
        # A clock set back (negative age) is no proof of freshness either.
        if self._value is None or self._refused or not 0 <= age < self.max_age:
            fresh = self._refused
            self._value = self.read(fresh)
            self._read_at, self._refused = now, False
            logger.info("source credentials read", forced=fresh)
        return self._value

    def refused(self) -> None:
        """A source's API refused the credentials held: read the secret again before next use."""
        self._refused = True


@dataclass
class Ingest:
    settings: SourceSettings
    posts: PostsRepository
    state: StateRepository
    stores: SourceStores
    client: httpx.Client
    credentials: SourceCredentials | None = None
    """None: read the sources secret for this run alone (`SourceCredentials.from_secret`)."""
    sources: dict[str, Source] = field(default_factory=dict)
    settled: SettledPosts = field(default_factory=SettledPosts)

    def run(self, now: datetime) -> dict[str, Any]:
        summaries: dict[str, SourceSummary] = {}
        for name in self.settings.source_list:
            summary = summaries[name] = SourceSummary()
            try:
                self.run_source(name, now, summary)
            except Exception as exc:
                summary.error = type(exc).__name__
                metrics.add_metric(name="SourceErrors", unit=MetricUnit.Count, value=1)
                logger.exception("source failed", source=name)
        totals = {
            "fetched": sum(s.fetched for s in summaries.values()),
            "stored": sum(s.stored for s in summaries.values()),
        }
        metrics.add_metric(name="PostsFetched", unit=MetricUnit.Count, value=totals["fetched"])
        metrics.add_metric(name="PostsStored", unit=MetricUnit.Count, value=totals["stored"])
        result: dict[str, Any] = {
            **totals,
            "sources": {n: s.as_dict() for n, s in summaries.items()},
        }
        logger.info("ingest done", summary=result)
        return result

    def run_source(self, name: str, now: datetime, summary: SourceSummary) -> None:
        resume_after = paused_until(self.state.get_pause(name))
        if resume_after is not None and resume_after > now:
            summary.skipped, summary.resume_after = RATE_LIMITED, resume_after.isoformat()
            logger.info("source paused", source=name, resume_after=summary.resume_after)
            return
        budget = self.run_budget(name, now)
        if budget is not None and budget <= 0:
            summary.skipped = BUDGET
            metrics.add_metric(name="XBudgetExhausted", unit=MetricUnit.Count, value=1)
            logger.warning("x monthly read budget used up", month=f"{now:%Y-%m}")
            return
        source = self.source(name)
        committed = 0
        saved = self.state.get_checkpoint(name)
        # What the table holds, compared with where the run ends (a copy: sources may change theirs).
        written = copy.deepcopy(saved)

        def commit(posts: list[Post], checkpoint: dict[str, Any]) -> None:
            nonlocal committed, written
            # Any failure to store propagates before the checkpoint moves past what failed.
            self.store(posts, summary, now)
            committed += len(posts)
            self.state.put_checkpoint(name, checkpoint)
            written = copy.deepcopy(checkpoint)
            summary.commits += 1

        result = source.fetch(
            saved,
            max_pages=self.settings.x_max_pages,
            budget=budget,
            commit=commit,
        )
        if result.stopped == UNAUTHORIZED and self.credentials is not None:
            # Told before storing, which may fail: otherwise the refused token would be sent
            # for up to an hour. What was read is stored below and the checkpoint covers only
            # that, as for any run cut short.
            self.credentials.refused()
            logger.warning("source credentials refused, secret to be read again", source=name)
        self.account(name, now, result, summary)
        self.store(result.posts[committed:], summary, now)
        # A quiet run (nothing new anywhere) leaves the position where it was: no write.
        if result.checkpoint is not None and result.checkpoint != written:
            self.state.put_checkpoint(name, result.checkpoint)
            summary.checkpoint_saved = True
        if result.stopped == RATE_LIMITED and result.resume_after is not None:
            summary.resume_after = result.resume_after.isoformat()
            self.state.put_pause(name, summary.resume_after)
            metrics.add_metric(name="SourceRateLimited", unit=MetricUnit.Count, value=1)
        if result.stopped == BUDGET:
            metrics.add_metric(name="XBudgetExhausted", unit=MetricUnit.Count, value=1)

    def source(self, name: str) -> Source:
        if name not in self.sources:
            if self.credentials is None:
                self.credentials = SourceCredentials.from_secret(self.settings)
            try:
                self.sources[name] = build_source(
                    name, self.settings, self.client, self.credentials.get(), self.stores
                )
            except MissingCredentials:
                # The operator fills the secret after the first deploy: see the filled one on
                # the next run, not an hour after the empty one was read.
                self.credentials.refused()
                raise
        return self.sources[name]

    def run_budget(self, name: str, now: datetime) -> int | None:
        """Reads this run may spend: the per-run cap, or what is left of the month if less."""
        if name != "x":
            return None
        left = self.settings.x_monthly_read_budget - self.state.reads_used("x", f"{now:%Y-%m}")
        return min(self.settings.x_run_read_budget, left)

    def account(
        self, name: str, now: datetime, result: FetchResult, summary: SourceSummary
    ) -> None:
        summary.fetched, summary.reads, summary.pages = (
            len(result.posts),
            result.reads,
            result.pages,
        )
        summary.stopped = result.stopped
        if name == "x" and result.reads:
            # Counted before storing: X bills the reads whether or not storing works.
            self.state.add_reads("x", f"{now:%Y-%m}", result.reads)
            metrics.add_metric(name="XReads", unit=MetricUnit.Count, value=result.reads)

    def store_post(self, post: Post, now: datetime | None = None) -> str:
        """ "stored", "duplicate" (this very post, re-read) or "near_duplicate".

        A near-duplicate (same canonical job link or same long text, see `fingerprint`) adds
        its author to the first post's also_posted_by instead of being stored. The first
        post's id is remembered under `dup/<fingerprint>` in the State table for as long as
        posts live; a marker naming this very post is a retry after a crash between writes.
        A marker past its expiration counts as absent: DynamoDB deletes it only lazily.
        """
        key = fingerprint(post)
        if key is not None:
            until = post.created_at + timedelta(days=self.posts.ttl_days)
            first = self.state.first_post(key, post.id, until, now)
            original = str((first or {}).get("original", ""))
            if original and original != post.id:
                self.posts.add_also_posted_by(original, post.author_handle)
                return "near_duplicate"
        return "stored" if self.posts.put_new(post) else "duplicate"

    def store(self, posts: list[Post], summary: SourceSummary, now: datetime | None = None) -> None:
        """Store every post; any failure propagates so the checkpoint is not saved."""
        for post in posts:
            if post.id in self.settled:
                summary.duplicates += 1
                continue
            outcome = self.store_post(post, now)
            self.settled.add(post.id)
            if outcome == "stored":
                summary.stored += 1
            elif outcome == "duplicate":
                summary.duplicates += 1
            else:
                summary.near_duplicates += 1


def paused_until(record: Mapping[str, Any] | None) -> datetime | None:
    try:
        value = datetime.fromisoformat(str((record or {})["resume_after"]))
    except (KeyError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_credentials(settings: SourceSettings, *, force_fetch: bool = False) -> Mapping[str, Any]:
    """The sources secret (JSON); `force_fetch` skips Powertools' cache (a refused token)."""
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(
            settings.source_secret_name,
            transform="json",
            max_age=POWERTOOLS_MAX_AGE_SECONDS,
            force_fetch=force_fetch,
        )
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigurationError("source credentials secret could not be read") from exc
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError("source credentials secret is not JSON") from exc
    if not isinstance(value, dict):
        raise ConfigurationError("source credentials secret is not a JSON object")
    return value


def new_client(timeout: float = HTTP_TIMEOUT_SECONDS) -> httpx.Client:
    return httpx.Client(timeout=timeout, headers={"user-agent": USER_AGENT})


def run(
    now: datetime,
    *,
    settings: SourceSettings,
    posts: PostsRepository,
    state: StateRepository,
    stores: SourceStores,
    client: httpx.Client | None = None,
    credentials: Mapping[str, Any] | SourceCredentials | None = None,
    settled: SettledPosts | None = None,
) -> dict[str, Any]:
    """Fetch and store new posts from every enabled source; returns a summary per source.

    `credentials`: the warm instance's `SourceCredentials`, fixed ones, or None to read the
    sources secret for this run."""
    if credentials is not None and not isinstance(credentials, SourceCredentials):
        credentials = SourceCredentials.fixed(credentials)
    own_client = client is None
    http = client or new_client()
    try:
        ingest = Ingest(
            settings=settings,
            posts=posts,
            state=state,
            stores=stores,
            client=http,
            credentials=credentials,
            settled=settled if settled is not None else SettledPosts(),
        )
        return ingest.run(now)
    finally:
        if own_client:
            http.close()


@dataclass(frozen=True)
class IngestService:
    """The ingest function's use case; an HTTP client lives for one run (connections to the
    sources are not kept across invocations minutes apart)."""

    settings: SourceSettings
    posts: PostsRepository
    state: StateRepository
    stores: SourceStores
    credentials: SourceCredentials
    """Lives as long as the warm instance: the sources secret, read once an hour."""
    settled: SettledPosts = field(default_factory=SettledPosts)
    """Lives as long as the warm instance: what its earlier runs already stored."""

    @tracer.capture_method(capture_response=False)
    def run(self, now: datetime) -> dict[str, Any]:
        return run(
            now,
            settings=self.settings,
            posts=self.posts,
            state=self.state,
            stores=self.stores,
            credentials=self.credentials,
            settled=self.settled,
        )


__all__ = [
    "Ingest",
    "IngestService",
    "JobAlertsError",
    "SettledPosts",
    "SourceCredentials",
    "load_credentials",
    "new_client",
    "run",
]
