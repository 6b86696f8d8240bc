"""What every source returns, and the one method ingest calls on it.

A source reads new posts since a checkpoint. It never stores anything and never saves the
checkpoint itself. Each source hands ingest a `commit(posts, checkpoint)` as it goes (X after
each planned query, Mastodon after each instance and tag, Bluesky after each query, and only
when something moved): the posts read since the last commit and a checkpoint that moves past
exactly those, which ingest saves only once they are stored, so a function that keeps dying
mid-run still makes progress. The rest, and `FetchResult.checkpoint`, ingest stores and saves
when `fetch` returns. A crash between storing and saving re-reads a page, never loses one.

Each source module (x, mastodon, bluesky) exposes
`build(settings, client, credentials, stores) -> Source`, which
`jobalerts.sources.build_source` calls. `stores` (`SourceStores`) is what the composition root
(`jobalerts.wiring.source_stores`) built for them, since no source opens a table or builds a
client itself; `credentials` is the JSON of the sources secret (x_bearer_token, bluesky_handle,
bluesky_app_password). HTTP goes through `jobalerts.sources.http.get_json`/`request_json`,
which raise RateLimited / Unavailable / BadResponse; a source turns those into
`FetchResult.stopped` (keeping the posts of the pages it already read) rather than raising.
A source whose credentials the API refuses stops with UNAUTHORIZED, which tells ingest to read
the sources secret again; one that finds them missing in the secret raises MissingCredentials.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from jobalerts.errors import ConfigurationError, JobAlertsError
from jobalerts.models import Post

# Why a run ended early; None means it read everything new.
RATE_LIMITED = "rate_limited"
BUDGET = "budget"
ERROR = "error"
UNAUTHORIZED = "unauthorized"
"""The API refused the credentials (a rotated or revoked token): every further call would be
refused too, and ingest reads the secret again before the next run builds the source."""

Commit = Callable[[list[Post], dict[str, Any]], None]
"""Store these posts, then save this checkpoint (which covers nothing the posts do not)."""


class SessionStore(Protocol):
    """Where Bluesky sessions outlive a cold start; `jobalerts.store.sessions` fits."""

    def get(self, session_key: str) -> dict[str, Any] | None: ...

    def put(self, session_key: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class SourceStores:
    """What sources keep or read outside their API, built by `jobalerts.wiring`."""

    planned_queries: Callable[[], list[str]]
    """X's queries: the current plan of the query planner (searches and state tables)."""
    sessions: Callable[[], SessionStore]
    """Bluesky's session store, opened on first use: a local `jobalerts fetch` without AWS then
    fails in the session cache's error handling, not while the source is built."""


@dataclass
class FetchResult:
    posts: list[Post] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    """The checkpoint to save once `posts` are stored; None = leave the saved one alone."""
    reads: int = 0
    """Posts read from the API (what X bills for), including ones dropped as noise."""
    pages: int = 0
    stopped: str | None = None
    """RATE_LIMITED, BUDGET, ERROR, UNAUTHORIZED or None."""
    resume_after: datetime | None = None
    """When rate limited: do not call the source again before this instant."""


@dataclass
class Progress:
    """Hands ingest what a run has read so far, after each of its streams (a tag, a query):
    the posts since the last commit and a checkpoint with the streams read so far moved and the
    others where they were. Only when something moved: a quiet stream costs no write."""

    commit: Commit | None
    result: FetchResult
    last: dict[str, Any] | None
    done: int = 0

    def __call__(self, checkpoint: dict[str, Any] | None) -> None:
        if self.commit is None or checkpoint is None:
            return
        fresh = self.result.posts[self.done :]
        if fresh or checkpoint != self.last:
            # Copies: the source goes on changing its own dicts after this.
            self.commit(fresh, copy.deepcopy(checkpoint))
            self.done, self.last = len(self.result.posts), copy.deepcopy(checkpoint)


class Source(Protocol):
    name: str

    def fetch(
        self,
        checkpoint: dict[str, Any] | None,
        *,
        max_pages: int,
        budget: int | None,
        commit: Commit | None = None,
    ) -> FetchResult:
        """Read posts newer than `checkpoint`, at most `max_pages` pages and `budget` reads.

        `FetchResult.posts` holds every post read, committed ones included."""
        ...


class MissingCredentials(ConfigurationError):
    """The sources secret lacks what a source needs. The operator fills the secret after the
    first deploy, so ingest reads it again on the next run rather than keeping the empty one."""


class SourceError(JobAlertsError):
    """A source could not be read this time; the checkpoint stays where it was."""


class RateLimited(SourceError):
    def __init__(self, reset_at: datetime | None) -> None:
        super().__init__(f"rate limited until {reset_at.isoformat() if reset_at else 'unknown'}")
        self.reset_at = reset_at


class BadResponse(SourceError):
    """Truncated or garbage JSON, or JSON of the wrong shape."""


class Unavailable(SourceError):
    """5xx or timeouts that outlasted the retries."""
