"""Bluesky `app.bsky.feed.searchPosts` with an app-password session.

Each configured query is a stream with its own checkpoint `{"since", "cursor", "newest"}`:
`since` is the newest sort time (min of indexedAt and createdAt) of the last finished pass; a
pass reads `sort=latest` pages newest first with `cursor` until the API runs out of posts newer
than `since`. A pass cut short (max pages, 429, error) keeps `since` and remembers the cursor of
the first unread page, so the next run resumes there and no post is skipped. The cursor is an
offset into a list that grows at the front, so a resumed pass rereads a few posts and cannot see
the ones that arrived meanwhile: when it ends, the run starts a new pass from the new `since`.

Sessions (createSession, 30 logins per 5 minutes per account) are cached in memory for warm
invocations and in an SSM SecureString parameter for cold starts; an expired access token is refreshed with
refreshSession, and a refused refresh falls back to a new login. Tokens are never logged.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from jobalerts.errors import ConfigurationError
from jobalerts.models import Post
from jobalerts.observability import logger
from jobalerts.settings import SourceSettings
from jobalerts.sources.base import (
    BUDGET,
    ERROR,
    RATE_LIMITED,
    UNAUTHORIZED,
    BadResponse,
    Commit,
    FetchResult,
    MissingCredentials,
    Progress,
    RateLimited,
    SessionStore,
    SourceError,
    SourceStores,
)
from jobalerts.sources.http import HttpStatusError, Sleep, request_json
from jobalerts.sources.normalize import canonical_link, is_social

NAME = "bluesky"
PAGE_LIMIT = 100  # the API's maximum
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
# A first pass (no checkpoint) reads back this far, not through the whole index.
INITIAL_LOOKBACK = timedelta(hours=24)
# Refresh a little before the access token's own expiry rather than after a refused call.
EXPIRY_MARGIN = timedelta(seconds=60)
_LINK = "app.bsky.richtext.facet#link"
_TAG = "app.bsky.richtext.facet#tag"
_MENTION = "app.bsky.richtext.facet#mention"
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}")
_HANDLE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


# ------------------------------------------------------------------ session


@dataclass
class Session:
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Session:
        try:
            return cls(
                did=str(data["did"]),
                handle=str(data.get("handle") or ""),
                access_jwt=str(data["accessJwt"]),
                refresh_jwt=str(data["refreshJwt"]),
            )
        except KeyError as exc:
            raise BadResponse(f"bluesky session without {exc.args[0]}") from exc

    def __repr__(self) -> str:
        return f"Session(did={self.did!r}, handle={self.handle!r}, tokens=<hidden>)"

    def access_expires_at(self) -> datetime | None:
        return jwt_expiry(self.access_jwt)


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim, read without verifying (the server verifies); None if unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


# Warm Lambda invocations reuse the session without reading the parameter.
_MEMORY: dict[str, Session] = {}


def forget_sessions() -> None:
    """Tests: start as a cold Lambda would."""
    _MEMORY.clear()


class Sessions:
    """createSession / refreshSession, cached in memory and in SSM Parameter Store."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        handle: str,
        app_password: str,
        store: SessionStore | None = None,
        *,
        retries: int = 3,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.handle = handle.lstrip("@")
        self._password = app_password
        self.store = store
        self.retries = retries
        self.sleep = sleep
        self.logins = 0
        self.refreshes = 0

    @property
    def key(self) -> str:
        return f"bluesky#{self.base_url}#{self.handle}"

    def current(self, now: datetime | None = None) -> Session:
        """A usable session: cached if possible, refreshed if about to expire, else a login."""
        session = _MEMORY.get(self.key) or self._load()
        if session is None:
            return self.login()
        expires = session.access_expires_at()
        if expires is not None and expires - EXPIRY_MARGIN <= (now or datetime.now(UTC)):
            return self.refresh(session)
        _MEMORY[self.key] = session
        return session

    def login(self) -> Session:
        if not self.handle or not self._password:
            raise ConfigurationError("bluesky needs bluesky_handle and bluesky_app_password")
        try:
            data = self._post(
                CREATE_SESSION, None, {"identifier": self.handle, "password": self._password}
            )
        except HttpStatusError as exc:
            # 401 AuthenticationRequired: a wrong handle or password; retrying cannot fix it.
            raise ConfigurationError(
                f"bluesky login refused (http {exc.status}); check bluesky_handle and "
                "bluesky_app_password"
            ) from exc
        self.logins += 1
        logger.info("bluesky logged in", handle=self.handle)
        return self._keep(Session.from_api(data))

    def refresh(self, session: Session) -> Session:
        """refreshSession; a refused refresh token (expired, revoked) means a new login."""
        try:
            data = self._post(REFRESH_SESSION, session.refresh_jwt, None)
        except HttpStatusError as exc:
            logger.info("bluesky refresh refused, logging in again", status=exc.status)
            return self.login()
        self.refreshes += 1
        logger.info("bluesky session refreshed", handle=self.handle)
        return self._keep(Session.from_api(data))

    def _post(self, path: str, bearer: str | None, body: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        return request_json(
            self.client,
            "POST",
            f"{self.base_url}{path}",
            headers=headers,
            json_body=body,
            retries=self.retries,
            sleep=self.sleep,
        )

    def _keep(self, session: Session) -> Session:
        _MEMORY[self.key] = session
        if self.store is not None:
            try:
                data: dict[str, Any] = asdict(session)
                refresh_expiry = jwt_expiry(session.refresh_jwt)
                if refresh_expiry is not None:  # a dead session reads as absent
                    data["expiration"] = int(refresh_expiry.timestamp())
                self.store.put(self.key, data)
            except Exception as exc:  # a cache: losing it costs one login, not the run
                logger.warning("bluesky session not saved", error=type(exc).__name__)
        return session

    def _load(self) -> Session | None:
        if self.store is None:
            return None
        try:
            data = self.store.get(self.key)
        except Exception as exc:  # a cache: a failed read costs one login, not the run
            logger.warning("bluesky session not loaded", error=type(exc).__name__)
            return None
        if not data:
            return None
        try:
            session = Session(**{k: str(data[k]) for k in Session.__dataclass_fields__})
        except KeyError:
            return None
        _MEMORY[self.key] = session
        return session


# ------------------------------------------------------------------ parsing


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sort_time(post: Mapping[str, Any]) -> datetime | None:
    """What `since` compares against: the earlier of indexedAt and the record's createdAt."""
    record = _obj(post.get("record"))
    times = [
        t for t in (parse_time(post.get("indexedAt")), parse_time(record.get("createdAt"))) if t
    ]
    return min(times) if times else None


def _external_uris(embed: Any) -> list[str]:
    """Link cards, in the record (`external`) or the hydrated view (`#view`), maybe with media."""
    if not isinstance(embed, dict):
        return []
    uris: list[str] = []
    external = embed.get("external")
    if isinstance(external, dict) and isinstance(external.get("uri"), str):
        uris.append(external["uri"])
    uris += _external_uris(embed.get("media"))
    return uris


def _external_text(embed: Any) -> str:
    if not isinstance(embed, dict):
        return ""
    external = embed.get("external")
    if isinstance(external, dict):
        parts = [str(external.get(k) or "").strip() for k in ("title", "description")]
        return "\n".join(p for p in parts if p)
    return _external_text(embed.get("media"))


def _mention(text: bytes, index: Any, did: Any) -> tuple[str, str] | None:
    """(handle as written, profile URL) of a mention facet: the facet names the account by DID
    and points at the "@handle" in the text by UTF-8 byte offsets."""
    index = _obj(index)
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not isinstance(did, str) or not _DID.fullmatch(did):
        return None
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
        return None
    try:
        written = text[start:end].decode()
    except UnicodeDecodeError:
        return None
    handle = written.removeprefix("@")
    if not written.startswith("@") or not _HANDLE.fullmatch(handle):
        return None
    # The DID, not the handle: a handle can change hands, the DID names the same account forever.
    return handle, f"https://bsky.app/profile/{did}"


def parse_post(post: Mapping[str, Any]) -> Post | None:
    """One searchPosts hit as a Post; None when it has no usable id, author, time or content."""
    uri = post.get("uri")
    author, record = _obj(post.get("author")), _obj(post.get("record"))
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or not parts[0] or not parts[2]:
        return None
    did, rkey = parts[0], parts[2]
    handle = str(author.get("handle") or "") or did
    created_at = parse_time(record.get("createdAt")) or parse_time(post.get("indexedAt"))
    if created_at is None:
        return None
    links: list[str] = []
    tags: list[str] = [str(t) for t in record.get("tags") or [] if isinstance(t, str)]
    mention_urls: dict[str, str] = {}
    text_bytes = str(record.get("text") or "").encode()
    for facet in record.get("facets") or []:
        for feature in _obj(facet).get("features") or []:
            feature = _obj(feature)
            if feature.get("$type") == _LINK and isinstance(feature.get("uri"), str):
                links.append(feature["uri"])
            elif feature.get("$type") == _TAG and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"].lstrip("#"))
            elif feature.get("$type") == _MENTION:
                mention = _mention(text_bytes, _obj(facet).get("index"), feature.get("did"))
                if mention is not None:
                    mention_urls.setdefault(*mention)
    links += _external_uris(record.get("embed")) + _external_uris(post.get("embed"))
    text = (
        str(record.get("text") or "").strip()
        or _external_text(record.get("embed"))
        or _external_text(post.get("embed"))
    )
    if not text and not links:
        return None
    langs = record.get("langs")
    return Post(
        id=f"bluesky#{did}/{rkey}",
        source="bluesky",
        author_handle=handle,
        author_name=str(author.get("displayName") or ""),
        text=text,
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        links=list(dict.fromkeys(canonical_link(u) for u in links if not is_social(u))),
        hashtags=list(dict.fromkeys(tags)),
        mentions=list(mention_urls),
        mention_urls=mention_urls,
        lang=str(langs[0]) if isinstance(langs, list) and langs else None,
        created_at=created_at,
    )


def split_queries(value: str | Sequence[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return list(dict.fromkeys(q.strip() for q in items if q and q.strip()))


# ------------------------------------------------------------------ the source


@dataclass
class _Stop:
    reason: str
    resume_after: datetime | None = None


class BlueskySource:
    """searchPosts per query; checkpoint `{"queries": {q: {"since", "cursor", "newest"}}}`."""

    name = NAME

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        handle: str,
        app_password: str,
        *,
        queries: str | Sequence[str] = '#hiring,#jobs,"we\'re hiring"',
        state: SessionStore | None = None,
        limit: int = PAGE_LIMIT,
        retries: int = 3,
        sleep: Sleep = time.sleep,
        clock: Any = None,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.queries = split_queries(queries)
        self.limit = limit
        self.retries = retries
        self.sleep = sleep
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sessions = Sessions(
            client, base_url, handle, app_password, state, retries=retries, sleep=sleep
        )

    def fetch(
        self,
        checkpoint: dict[str, Any] | None,
        *,
        max_pages: int,
        budget: int | None,
        commit: Commit | None = None,
    ) -> FetchResult:
        """Read every query; `max_pages` is per query, `budget` counts posts over the run."""
        streams: dict[str, dict[str, Any]] = dict((checkpoint or {}).get("queries") or {})
        result = FetchResult()
        progress = Progress(commit, result, checkpoint)
        seen: set[str] = set()
        for position, query in enumerate(self.queries):
            if position:
                # What the queries before this one read survives a crash in this one.
                progress({"queries": streams} if streams else None)
            state, stop = self._read_query(
                query, dict(streams.get(query) or {}), max_pages, budget, result, seen
            )
            if state:
                streams[query] = state
            if stop is not None:
                result.stopped, result.resume_after = stop.reason, stop.resume_after
                break
        result.checkpoint = {"queries": streams} if streams else None
        logger.info(
            "bluesky fetched",
            posts=len(result.posts),
            reads=result.reads,
            pages=result.pages,
            stopped=result.stopped,
            logins=self.sessions.logins,
        )
        return result

    def _read_query(
        self,
        query: str,
        state: dict[str, Any],
        max_pages: int,
        budget: int | None,
        result: FetchResult,
        seen: set[str],
    ) -> tuple[dict[str, Any], _Stop | None]:
        """Read one query's pass into `result`; returns its new checkpoint and why it stopped
        the whole run (rate limit, budget), if it did."""
        since = state.get("since") or iso(self.clock() - INITIAL_LOOKBACK)
        cursor: str | None = state.get("cursor")
        newest = parse_time(state.get("newest"))
        # A pass begun in an earlier run missed whatever arrived since: those posts sit in front
        # of its offset cursor (newer than anything it reads), so once it ends a new pass starts.
        resumed = cursor is not None
        read_any = False
        stop: _Stop | None = None
        for _ in range(max_pages):
            if budget is not None and result.reads >= budget:
                stop = _Stop(BUDGET)
                break
            params = {"q": query, "sort": "latest", "since": since, "limit": self.limit}
            try:
                page = self._search({**params, "cursor": cursor})
            except RateLimited as exc:
                logger.warning("bluesky rate limited", query=query)
                stop = _Stop(RATE_LIMITED, exc.reset_at)
                break
            except ConfigurationError as exc:
                # A refused login fails every query alike; more attempts only burn the quota.
                # The app password may have been changed: ingest reads the secret again.
                logger.error("bluesky login failed", error=str(exc))
                stop = _Stop(UNAUTHORIZED)
                break
            except SourceError as exc:
                logger.warning("bluesky query failed", query=query, error=str(exc))
                result.stopped = ERROR
                break
            hits = [p for p in page.get("posts") or [] if isinstance(p, dict)]
            result.pages += 1
            result.reads += len(hits)
            read_any = True
            for hit in hits:
                moment = sort_time(hit)
                if moment is not None and (newest is None or moment > newest):
                    newest = moment
                post = parse_post(hit)
                if post is None:
                    logger.debug("bluesky post skipped", reason="malformed")
                elif post.id not in seen:
                    seen.add(post.id)
                    result.posts.append(post)
            next_cursor = page.get("cursor")
            if hits and isinstance(next_cursor, str) and next_cursor:
                cursor = next_cursor
                continue
            # The pass is over: every post from `since` to `newest` has been read.
            since, cursor, newest = (iso(newest) if newest else since), None, None
            if not resumed:
                break
            resumed = False
        if read_any:
            state = {"since": since, "cursor": cursor, "newest": iso(newest) if newest else None}
        return state, stop

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{SEARCH}"
        session = self.sessions.current(self.clock())
        try:
            return self._get(url, params, session)
        except HttpStatusError as exc:
            # 400 ExpiredToken (or 401): the status code is all http.py reports, so any refusal
            # of an authenticated call earns one refresh and one retry; a second one is an error.
            if exc.status not in (400, 401):
                raise
            logger.info("bluesky token refused, refreshing", status=exc.status)
            return self._get(url, params, self.sessions.refresh(session))

    def _get(self, url: str, params: dict[str, Any], session: Session) -> dict[str, Any]:
        page = request_json(
            self.client,
            "GET",
            url,
            params,
            {"authorization": f"Bearer {session.access_jwt}"},
            retries=self.retries,
            sleep=self.sleep,
        )
        if not isinstance(page.get("posts", []), list):
            raise BadResponse(f"{url}: posts is not a list")
        return page


def build(
    settings: SourceSettings,
    client: httpx.Client,
    credentials: Mapping[str, Any],
    stores: SourceStores,
) -> BlueskySource:
    handle = str(credentials.get("bluesky_handle") or os.environ.get("BLUESKY_HANDLE") or "")
    password = str(
        credentials.get("bluesky_app_password") or os.environ.get("BLUESKY_APP_PASSWORD") or ""
    )
    if not handle or not password:
        raise MissingCredentials(
            "bluesky needs bluesky_handle and bluesky_app_password in the sources secret "
            "(or BLUESKY_HANDLE and BLUESKY_APP_PASSWORD locally)"
        )
    return BlueskySource(
        client,
        settings.bluesky_base_url,
        handle,
        password,
        queries=settings.bluesky_queries,
        state=LazySessions(stores.sessions),
    )


class LazySessions:
    """The session store, opened on first use, so a failure to open it (a local `jobalerts fetch`
    without AWS) lands in the session cache's error handling instead of `build()`."""

    def __init__(self, open_store: Callable[[], SessionStore]) -> None:
        self.open_store = open_store
        self._repository: SessionStore | None = None

    def _open(self) -> SessionStore:
        if self._repository is None:
            self._repository = self.open_store()
        return self._repository

    def get(self, session_key: str) -> dict[str, Any] | None:
        return self._open().get(session_key)

    def put(self, session_key: str, data: dict[str, Any]) -> None:
        self._open().put(session_key, data)
