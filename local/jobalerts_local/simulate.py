"""`jobalerts simulate`: the whole pipeline on a given workload, with faults, and what got lost.

What a run does, all on moto in this process through the real handlers:
1. subscribes every subscriber of S.jsonl through the subscriptions API and follows the
   confirmation link it was sent (email or text), then adds the other searches with the
   manage token, as a person would;
2. moves a simulated clock (time-machine: every `datetime.now`, `time.time` and moto's own
   clock follow it; sleeps advance it instead of waiting) from just before the first post to
   eight days after the last, so every instant, hourly, daily and weekly window falls due and
   every post's TTL has passed (DynamoDB keeps expired items readable, and so does moto);
3. on each tick plays what AWS would: the ingest and digest schedules (rate from template.yaml),
   Lambda's stream poller (batches of 100, bisect on error, retry from the first failed record,
   five retries), Lambda's SQS poller (batches of 10, partial failures stay on the queue until
   the visibility timeout, the redrive policy moves them to the dead-letter queue, which is
   redriven once the run is quiet, as an operator would after the alarm), and SES's "Send"
   events into the feedback function;
4. serves P.jsonl as X API responses from the replay server: a post becomes visible when the
   clock passes its `created_at`, and each planned X query gets the posts it selects.

Faults (`--faults RATE`): each AWS call attempt made by a function is faulted with probability
RATE (see `jobalerts_local.faults` for the kinds); each match invocation of more than one record
fails half-way with probability RATE; each SQS batch has one message delivered twice with
probability RATE.

Expected deliveries come from the reference evaluator `jobalerts.query.evaluate`, not from the
matcher: posts whose words are the same once links, mentions and a leading "RT" are dropped are
one job (a repost, a retweet-like copy, the same job link with other tracking parameters),
judged by its earliest post and expected once per subscriber and channel. A text over the daily
cap goes out in the next email digest instead: an expected text found in an email counts.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from jobalerts.models import Post
from jobalerts.store import matches as matches_store
from jobalerts_local.fast_moto import cheap_queries, cheap_transactions
from jobalerts_local.faults import Accepted, FaultInjector, SimulatedCrash, installed
from jobalerts_local.replay import Recorded, ReplayServer
from jobalerts_local.template import REGION

SIM_BASE_URL = "http://jobalerts.simulate"
CHANNELS = ("email", "sms")
FREQUENCIES = ("instant", "hourly", "daily", "weekly")
MAX_SEARCHES = 25
STREAM_BATCH = 100
# template.yaml retries a failing stream batch until it goes through (-1); here that is this
# many attempts in a row, after which a record counts as dropped: failing that often is no
# longer a fault drawn at random but something that will never go through.
UNBOUNDED_RETRIES = 200
SQS_BATCH = 10
FEEDBACK_RETRIES = 2
SWEEP_AFTER_LAST_POST = timedelta(days=8)
# Days the clock runs on while anything is still pending or queued: a match made late waits
# for its weekly window, up to a week on.
EXTRA_DAYS = 8
QUIET_STEP = timedelta(hours=1)
SUPPORTED_SOURCES = ("x",)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@[\w.\-@]+")
_WORD = re.compile(r"\w+")
_HREF = re.compile(r"""href=["']([^"']+)["']""")


# ---------------------------------------------------------------- the workload


class WorkloadError(Exception):
    """`FILE:LINE: reason`, for the user to fix their input."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")


@dataclass(frozen=True)
class SearchSpec:
    query: str
    channel: str
    frequency: str


@dataclass(frozen=True)
class SubscriberSpec:
    line: int
    email: str | None
    phone: str | None
    timezone: str
    searches: tuple[SearchSpec, ...]

    def recipient(self, channel: str) -> str:
        return (self.email if channel == "email" else self.phone) or ""


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(path, 0, f"cannot read: {exc}") from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except ValueError as exc:
            raise WorkloadError(path, number, f"not JSON: {exc}") from exc


def load_subscribers(path: Path) -> list[SubscriberSpec]:
    from jobalerts.query import QuerySyntaxError, parse

    found: list[SubscriberSpec] = []
    seen: set[str] = set()
    for number, data in _json_lines(path):

        def fail(reason: str, line: int = number) -> WorkloadError:
            return WorkloadError(path, line, reason)

        if not isinstance(data, dict):
            raise fail("expected a JSON object")
        email, phone = data.get("email"), data.get("phone")
        for name, value in (("email", email), ("phone", phone)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise fail(f"{name} must be a non-empty string")
        if not email and not phone:
            raise fail("needs an email or a phone")
        for address in (email, phone):
            if address and address in seen:
                raise fail(f"{address!r} appears on an earlier line")
        seen.update(a for a in (email, phone) if a)
        timezone = data.get("timezone", "UTC")
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise fail(f"timezone {timezone!r} is not an IANA zone") from exc
        searches = data.get("searches")
        if not isinstance(searches, list) or not searches:
            raise fail("searches must be a non-empty list")
        if len(searches) > MAX_SEARCHES:
            raise fail(f"{len(searches)} searches; a subscriber may have {MAX_SEARCHES}")
        specs: list[SearchSpec] = []
        for position, search in enumerate(searches, start=1):
            where = f"search {position}"
            if not isinstance(search, dict) or not isinstance(search.get("query"), str):
                raise fail(f"{where}: needs a query string")
            try:
                parse(search["query"])
            except QuerySyntaxError as exc:
                raise fail(f"{where}: query {search['query']!r}: {exc}") from exc
            channel = search.get("channel", "email")
            frequency = search.get("frequency", "daily")
            if channel not in CHANNELS:
                raise fail(f"{where}: channel must be one of {', '.join(CHANNELS)}")
            if frequency not in FREQUENCIES:
                raise fail(f"{where}: frequency must be one of {', '.join(FREQUENCIES)}")
            if (channel == "email" and not email) or (channel == "sms" and not phone):
                raise fail(
                    f"{where}: {channel} alerts need {'an email' if channel == 'email' else 'a phone'}"
                )
            specs.append(SearchSpec(search["query"], channel, frequency))
        found.append(SubscriberSpec(number, email, phone, str(timezone), tuple(specs)))
    if not found:
        raise WorkloadError(path, 0, "no subscribers")
    return found


def load_posts(path: Path) -> list[Post]:
    posts: list[Post] = []
    ids: dict[str, int] = {}
    for number, data in _json_lines(path):
        if not isinstance(data, dict):
            raise WorkloadError(
                path, number, "expected a JSON object (a line of `jobalerts fetch`)"
            )
        try:
            post = Post.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "post"
            raise WorkloadError(path, number, f"{where}: {first['msg']}") from None
        if post.source not in SUPPORTED_SOURCES:
            raise WorkloadError(
                path, number, f"source {post.source!r}: only x posts are replayed so far"
            )
        if not post.id.startswith("x#") or not post.id[2:].isdigit():
            raise WorkloadError(path, number, f"id {post.id!r}: an x post id is 'x#<digits>'")
        if post.created_at.tzinfo is None:
            raise WorkloadError(path, number, "created_at needs a UTC offset")
        if post.id in ids:
            raise WorkloadError(path, number, f"id {post.id!r} already on line {ids[post.id]}")
        ids[post.id] = number
        posts.append(post)
    if not posts:
        raise WorkloadError(path, 0, "no posts")
    return posts


# ---------------------------------------------------------------- the reference


def same_job_key(post: Post) -> str:
    """Reposts, retweet-like copies and tracking-parameter variants share their words."""
    from jobalerts.query import fold

    words = _WORD.findall(_MENTION.sub(" ", _URL.sub(" ", fold(post.text))))
    if words[:1] == ["rt"]:
        words = words[1:]
    return " ".join(words) or post.id


@dataclass(frozen=True)
class Reference:
    group_of: dict[str, str]
    """post id -> its job (the earliest post's id)."""
    expected: frozenset[tuple[int, str, str]]
    """(subscriber line, channel, job)."""


def reference(subscribers: list[SubscriberSpec], posts: list[Post]) -> Reference:
    from jobalerts.query import document, evaluate, parse

    first: dict[str, Post] = {}
    for post in sorted(posts, key=lambda p: (p.created_at, p.id)):
        first.setdefault(same_job_key(post), post)
    group_of = {p.id: first[same_job_key(p)].id for p in posts}
    jobs = [(p.id, document(p.text, p.author_handle, p.lang)) for p in first.values()]
    hits: dict[str, list[str]] = {}
    expected: set[tuple[int, str, str]] = set()
    for person in subscribers:
        for search in person.searches:
            if search.query not in hits:
                parsed = parse(search.query)
                hits[search.query] = [job for job, doc in jobs if evaluate(parsed, doc)]
            expected.update((person.line, search.channel, job) for job in hits[search.query])
    return Reference(group_of, frozenset(expected))


# ---------------------------------------------------------------- X, replayed from the workload


class WorkloadReplay(ReplayServer):
    """The replay server, answering X recent search from the workload's posts as time passes."""

    def __init__(self, posts: list[Post]) -> None:
        super().__init__(Path("."), routes=[])
        self.posts = sorted(posts, key=lambda p: int(p.id[2:]), reverse=True)
        self._selected: dict[str, set[str]] = {}

    def answer(self, method: str, path: str, query: dict[str, str]) -> Recorded:
        from jobalerts.sources.x import SEARCH_PATH

        if path != SEARCH_PATH:
            return super().answer(method, path, query)
        now = datetime.now(UTC)
        since = int(query["since_id"]) if query.get("since_id", "").isdigit() else None
        chosen = self.selected(query.get("query", ""))
        visible = [
            p
            for p in self.posts
            if p.created_at <= now and (since is None or int(p.id[2:]) > since) and p.id in chosen
        ]
        offset = int(query.get("next_token") or 0)
        size = max(10, min(100, int(query.get("max_results") or 10)))
        page = visible[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0].id[2:], page[-1].id[2:]
        if offset + size < len(visible):
            meta["next_token"] = str(offset + size)
        users = {p.author_handle: _user(p) for p in page}
        body = {"data": [_tweet(p) for p in page], "includes": {"users": list(users.values())}}
        if not page:
            body = {"meta": meta}
        else:
            body["meta"] = meta
        headers = {"x-rate-limit-remaining": "449", "x-rate-limit-reset": "{epoch+900}"}
        return Recorded(
            200, {"content-type": "application/json", **headers}, json.dumps(body).encode()
        )

    def selected(self, x_query: str) -> set[str]:
        """Posts an X query returns: judged by the reference evaluator on the query without
        X-only operators; a query it cannot read returns every post (more is never lost)."""
        if x_query not in self._selected:
            from jobalerts.errors import InvalidInput
            from jobalerts.query import document, evaluate, parse

            cleaned = re.sub(r"(?<!\S)-?(is|has):\w+", " ", x_query)
            try:
                parsed = parse(cleaned)
            except InvalidInput:
                self._selected[x_query] = {p.id for p in self.posts}
            else:
                self._selected[x_query] = {
                    p.id
                    for p in self.posts
                    if evaluate(parsed, document(p.text, p.author_handle, p.lang))
                }
        return self._selected[x_query]


def _user_id(handle: str) -> str:
    return str(int.from_bytes(handle.lower().encode()[:7].ljust(7, b"_"), "big"))


def _user(post: Post) -> dict[str, str]:
    return {
        "id": _user_id(post.author_handle),
        "username": post.author_handle,
        "name": post.author_name or post.author_handle,
    }


def _tweet(post: Post) -> dict[str, Any]:
    """The post as X API v2 sends it: escaped text, t.co links with the real one beside."""
    text = post.text
    urls = []
    for number, link in enumerate(post.links):
        short = f"https://t.co/s{post.id[2:][-8:]}{number}"
        text = text.replace(link, short, 1) if link in text else f"{text} {short}"
        urls.append({"url": short, "expanded_url": link, "display_url": link[:30]})
    tweet: dict[str, Any] = {
        "id": post.id[2:],
        "text": html.escape(text, quote=False),
        "author_id": _user_id(post.author_handle),
        "created_at": post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "edit_history_tweet_ids": [post.id[2:]],
        "entities": {
            "hashtags": [{"tag": t} for t in post.hashtags],
            "mentions": [{"username": m} for m in post.mentions],
            "urls": urls,
        },
    }
    if post.lang:
        tweet["lang"] = post.lang
    return tweet


# ---------------------------------------------------------------- the run


@dataclass
class Report:
    faults: Counter[str]
    subscribers: int
    searches: int
    refused_searches: int
    posts: int
    ingested: int
    expected: int
    delivered: int
    lost: int
    duplicated: int
    explained: int
    unexpected: int
    redriven: int
    stream_records_dropped: int
    elapsed: float
    lost_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == self.explained

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        return [
            f"subscribers {self.subscribers}, live searches {self.searches}"
            + (f" ({self.refused_searches} refused by the API)" if self.refused_searches else ""),
            f"dead letters redriven {self.redriven}, stream records dropped"
            f" {self.stream_records_dropped}, {self.elapsed:.0f}s",
            f"faults injected: {sum(v for k, v in self.faults.items() if k != 'ambiguous_send')}"
            f" ({kinds})",
            f"posts ingested: {self.ingested} of {self.posts}",
            f"expected deliveries: {self.expected}",
            f"delivered: {self.delivered}",
            f"lost: {self.lost}",
            f"duplicated: {self.duplicated}",
            f"duplicates explained by an ambiguous send: {self.explained}",
        ]


@dataclass
class _Harness:
    """Plays Lambda's pollers and the schedules against the local service."""

    service: Any
    injector: FaultInjector
    rng: random.Random
    shift: Callable[[float], None]
    redriven: int = 0
    stream_dropped: int = 0
    feedback_seen: int = 0
    stream: Any = None
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str) -> Any:
        """The pollers' own clients, made once: creating a client costs more than a call."""
        if name not in self.clients:
            import boto3

            # Not jobalerts.aws: these play AWS's own pollers, not the service's calls.
            session = boto3.Session(region_name=REGION)
            self.clients[name] = session.client(name)  # type: ignore[call-overload]
        return self.clients[name]

    @property
    def refs(self) -> dict[str, str]:
        refs: dict[str, str] = self.service.stack.refs
        return refs

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        from jobalerts_local.runtime import invoke

        self.injector.arm()
        with self.injector.enabled():
            return invoke(function, event, timeout_seconds=120 if function == "ingest" else 60)

    def invoke_reader(self, logical_id: str, event: dict[str, Any]) -> Any:
        """A function of the stream or of a shard's queue, by its name in the template: with
        several search shards these are the fan-out and each shard's copy of the worker."""
        from jobalerts_local.runtime import invoke

        service = self.service
        self.injector.arm()
        with self.injector.enabled():
            return invoke(
                service.stack.functions[logical_id].code_dir.name,
                event,
                instance=logical_id if service.is_shard_worker(logical_id) else None,
                environment=service.stack.own_environment(logical_id),
            )

    def scheduled(self, function: str) -> Any:
        """The run's result, or None when it failed: the schedule fires again and covers it."""
        from jobalerts_local.runtime import scheduled_event

        with suppress(Exception, SimulatedCrash):
            return self.invoke(function, scheduled_event(function, datetime.now(UTC)))
        return None

    # ------------------------------------------------------------ stream -> match

    def pump_stream(self) -> None:
        from jobalerts_local.runtime import StreamPump

        if self.stream is None:
            self.stream = StreamPump(self.service.stack.attrs[("PostsTable", "StreamArn")])
        records = self.stream.poll()
        # Each function on the stream reads every record with its own retries, as each event
        # source mapping does: the match function (shard 0) and, with more shards, the fan-out.
        for reader, _ in self.service.event_sources("DynamoDB"):
            for start in range(0, len(records), STREAM_BATCH):
                self._stream_batch(reader, records[start : start + STREAM_BATCH], stream_retries())
        for worker, queue in self.service.shard_queues():
            self._drain(queue, partial(self._shard_batch, worker))

    def _stream_batch(self, reader: str, records: list[dict[str, Any]], retries: int) -> int:
        while records:
            try:
                response = self._read_stream(reader, records)
            except (Exception, SimulatedCrash):
                if retries == 0:
                    self.stream_dropped += len(records)
                    return 0
                retries -= 1
                if len(records) > 1:
                    half = len(records) // 2
                    retries = self._stream_batch(reader, records[:half], retries)
                    return self._stream_batch(reader, records[half:], retries)
                continue
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            if not failed:
                return retries
            if retries == 0:
                self.stream_dropped += len(records)
                return 0
            retries -= 1
            first = next(
                i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed
            )
            records = records[first:]
        return retries

    def _read_stream(self, reader: str, records: list[dict[str, Any]]) -> Any:
        if len(records) > 1 and self.injector.draw():
            self.injector.counts["stream_batch_half"] += 1
            self.invoke_reader(reader, {"Records": records[: len(records) // 2]})
            raise SimulatedCrash("stream batch failed half-way")
        return self.invoke_reader(reader, {"Records": records})

    def _shard_batch(self, worker: str, event: dict[str, Any]) -> set[str]:
        """A shard worker's batch: the message ids to leave on its queue."""
        try:
            response = self.invoke_reader(worker, event) or {}
        except (Exception, SimulatedCrash):
            return {r["messageId"] for r in event["Records"]}
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    # ------------------------------------------------------------ queue -> deliver

    def drain_queue(self) -> None:
        self._drain("DeliveryQueue", self._deliver)

    def _drain(self, queue: str, handle: Callable[[dict[str, Any]], set[str]]) -> None:
        """Lambda's poller on one queue: what `handle` reports failed stays for the queue's
        visibility timeout, then comes back (to the dead letters after its receive count)."""
        from jobalerts_local.runtime import sqs_event

        sqs = self.client("sqs")
        url = self.refs[queue]
        arn = self.service.stack.attrs[(queue, "Arn")]
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=SQS_BATCH, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            failed = handle(sqs_event(arn, [dict(m) for m in messages]))
            if self.injector.draw():
                # At-least-once: another poller got the same message before it was deleted.
                self.injector.counts["duplicated_sqs_message"] += 1
                twin = dict(self.rng.choice(messages))
                handle(sqs_event(arn, [twin]))
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, event: dict[str, Any]) -> set[str]:
        every = {r["messageId"] for r in event["Records"]}
        before = len(self.injector.accepted)
        try:
            response = self.invoke("deliver", event) or {}
        except (Exception, SimulatedCrash):
            failed = every
        else:
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        if failed:
            # Sent, then the attempt died before recording it: the service cannot know the
            # message went out (for a text there is no evidence at all), so the retry sends it
            # again. The same window as a timeout after sending: an ambiguous send. Only the
            # sends of the windows that failed: a window sent and recorded in the same
            # invocation stays unambiguous, so a second copy of it would count as unexplained.
            windows = {_window_of(r["body"]) for r in event["Records"] if r["messageId"] in failed}
            for sent in self.injector.accepted[before:]:
                if not sent.ambiguous and _sent_for(sent, windows):
                    sent.ambiguous = True
                    self.injector.counts["ambiguous_send"] += 1
        self.feedback()
        return failed

    @cached_property
    def drained_queues(self) -> list[tuple[str, str]]:
        """(queue, its dead letters) of every queue this harness polls: the deliveries' and,
        with several search shards, each extra shard's."""
        from jobalerts_local.template import load_template

        resources = load_template()["Resources"]
        polled = ["DeliveryQueue"] + [queue for _, queue in self.service.shard_queues()]
        return [
            (q, resources[q]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
            for q in polled
        ]

    def redrive(self) -> int:
        """What an operator does after a dead-letter alarm: move the messages back."""
        sqs = self.client("sqs")
        moved = 0
        for queue, dead_letters in self.drained_queues:
            while messages := sqs.receive_message(
                QueueUrl=self.refs[dead_letters], MaxNumberOfMessages=10
            ).get("Messages", []):
                for message in messages:
                    sqs.send_message(QueueUrl=self.refs[queue], MessageBody=message["Body"])
                    sqs.delete_message(
                        QueueUrl=self.refs[dead_letters], ReceiptHandle=message["ReceiptHandle"]
                    )
                    moved += 1
        self.redriven += moved
        return moved

    # ------------------------------------------------------------ SES events -> feedback

    def feedback(self) -> None:
        from jobalerts_local.runtime import sns_event

        topic = self.refs["EmailFeedbackTopic"]
        fresh = self.injector.accepted[self.feedback_seen :]
        self.feedback_seen = len(self.injector.accepted)
        for sent in fresh:
            tags = _ses_tags(sent)
            if not tags:
                continue
            message = json.dumps({"eventType": "Send", "mail": {"tags": tags}})
            for _ in range(1 + FEEDBACK_RETRIES):
                try:
                    self.invoke("feedback", sns_event(topic, message))
                    break
                except (Exception, SimulatedCrash):  # noqa: S112 - SNS retries the event
                    continue

    def pending_matches(self) -> int:
        client = self.client("dynamodb")
        total = 0
        for page in client.get_paginator("scan").paginate(
            TableName=self.refs["MatchesTable"], ProjectionExpression="sk"
        ):
            total += sum(1 for item in page["Items"] if item["sk"]["S"].startswith("m#"))
        return total

    def queued(self) -> int:
        sqs = self.client("sqs")
        total = 0
        for name in (name for pair in self.drained_queues for name in pair):
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.refs[name],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            total += sum(int(v) for v in attributes.values())
        return total


def _window_of(body: str) -> tuple[str, str, str]:
    """A delivery request as SES tags name its window: subscriber, channel, epoch seconds."""
    from jobalerts.models import DeliveryRequest

    request = DeliveryRequest.model_validate_json(body)
    epoch = str(int(request.due_at.astimezone(UTC).timestamp()))
    return request.subscriber_id, request.channel.value, epoch


def _sent_for(sent: Accepted, windows: set[tuple[str, str, str]]) -> bool:
    """Whether a send belongs to one of these windows; a text carries no tags, so any failed
    text window claims every text of the invocation."""
    tags = _ses_tags(sent)
    if tags:
        return (tags["subscriber"][0], tags["channel"][0], tags["window"][0]) in windows
    if sent.operation == "Publish":
        return any(channel == "sms" for _, channel, _ in windows)
    return True


def _ses_tags(sent: Accepted) -> dict[str, list[str]]:
    if sent.operation != "SendEmail":
        return {}
    try:
        body = json.loads(sent.body or b"{}")
    except ValueError:
        return {}
    return {str(t["Name"]): [str(t["Value"])] for t in body.get("EmailTags", []) if "Name" in t}


@contextmanager
def _virtual_sleep(shift: Callable[[float], None]) -> Iterator[None]:
    """Backoff sleeps move the simulated clock instead of the run's wall time."""
    from unittest import mock

    from jobalerts.delivery.deliver import DigestDelivery

    defaults = DigestDelivery.__init__.__kwdefaults__ or {}
    with (
        mock.patch.object(time, "sleep", shift),
        mock.patch.dict(defaults, {"sleep": shift}),
    ):
        yield


@contextmanager
def _quiet_logs() -> Iterator[None]:
    import logging

    from jobalerts.observability import logger

    previous = logger.log_level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def simulate(
    subscribers: list[SubscriberSpec],
    posts: list[Post],
    outbox: Path,
    *,
    faults: float = 0.0,
    seed: int = 0,
    shards: int = 1,
) -> Report:
    """The workload through the whole service; `shards` is the template's SearchShards."""
    import time_machine

    from jobalerts_local.service import local_service

    began = time.monotonic()
    rng = random.Random(seed)
    injector = FaultInjector(faults, random.Random(rng.getrandbits(64)))
    first_post = min(p.created_at for p in posts)
    last_post = max(p.created_at for p in posts)
    start = (first_post - timedelta(minutes=30)).astimezone(UTC)
    with ExitStack() as stack:
        # The clock moves only when the harness moves it (schedules, virtual sleeps): with
        # tick=True an invocation's remaining time shrank with the machine's load, so a busy box
        # timed functions out and lost work that a quiet one delivered, and a seed did not
        # repeat a run.
        traveller = stack.enter_context(time_machine.travel(start, tick=False))

        def shift(seconds: float) -> None:
            traveller.shift(timedelta(seconds=max(0.0, float(seconds))))

        stack.enter_context(installed(injector))
        # One stamp at a time (on a worker thread all the same): parallel stamps would draw
        # faults in the threads' order, and a seed would no longer repeat a run.
        stack.enter_context(mock.patch.object(matches_store, "STAMP_CONCURRENCY", 1))
        stack.enter_context(cheap_transactions())
        stack.enter_context(cheap_queries())
        service = stack.enter_context(
            local_service(
                SIM_BASE_URL,
                replay=WorkloadReplay(posts),
                parameters={
                    "EnabledSources": "x",
                    "SearchShards": str(shards),
                    **_crowd_limits(len(subscribers)),
                },
            )
        )
        # After local_service: the environment it sets decides how Powertools starts up.
        stack.enter_context(_quiet_logs())
        # Powertools prints its metric documents once 100 pile up, even with metrics disabled.
        stack.enter_context(redirect_stdout(open(os.devnull, "w")))  # noqa: SIM115
        stack.enter_context(_virtual_sleep(shift))
        taken, refused = _subscribe(service, subscribers)
        emails_before, texts_before = _sent_counts()
        harness = _Harness(service, injector, rng, shift)
        harness.feedback_seen = len(injector.accepted)
        _run_clock(harness, traveller, last_post)
        emails, texts, deliveries = _collect(emails_before, texts_before, posts, injector)
        ingested = _count_posts(service.stack.refs["PostsTable"])
    return _report(
        taken,
        posts,
        refused,
        injector,
        harness,
        outbox,
        emails,
        texts,
        deliveries,
        ingested,
        time.monotonic() - began,
    )


@cache
def stream_retries() -> int:
    """How often Lambda retries a failing batch of new posts, from template.yaml."""
    from jobalerts_local.template import load_template

    match = load_template()["Resources"]["MatchFunction"]["Properties"]
    retries = int(match["Events"]["NewPosts"]["Properties"]["MaximumRetryAttempts"])
    return UNBOUNDED_RETRIES if retries < 0 else retries


def _crowd_limits(people: int) -> dict[str, str]:
    """Sign-up limits that let the whole workload in: it is that many people signing up in the
    same simulated minute from one address and one block of numbers, which the abuse limits
    rightly refuse after ten (their own tests cover them). Per destination stays as deployed."""
    room = str(max(1000, 4 * people))
    return {
        "SignupLimitPerClient": room,
        "SignupLimitPerNumberRange": room,
        "SignupLimitOverall": room,
        "SmsSignupLimitOverall": room,
    }


def _run_clock(harness: _Harness, traveller: Any, last_post: datetime) -> None:
    from jobalerts_local.service import LocalService

    service: LocalService = harness.service
    periods = {s.function: s.every for s in service.schedules()}
    ingest_every = periods.get("ingest", timedelta(minutes=5))
    digest_every = periods.get("digest", timedelta(minutes=5))
    # After the last post nothing new arrives: hourly ticks. A window then goes out up to an
    # hour late, which changes nothing this run counts, and moto on a busy machine does ~100
    # calls a second: every digest run queries each due-index shard.
    quiet_step = max(digest_every, QUIET_STEP)
    next_ingest = next_digest = datetime.now(UTC)
    caught_up = False

    def tick() -> None:
        nonlocal next_ingest, next_digest, caught_up
        now = datetime.now(UTC)
        # Ingest keeps firing after the last post until one run finds nothing left to read:
        # runs that failed leave their posts to the next one.
        if now >= next_ingest and not caught_up:
            summary = harness.scheduled("ingest")
            next_ingest = now + ingest_every
            sources = (summary or {}).get("sources", {}).values()
            caught_up = (
                now > last_post
                and summary is not None
                and summary.get("fetched") == 0
                and not any("error" in s or "stopped" in s for s in sources)
            )
        harness.pump_stream()
        if now >= next_digest:
            harness.scheduled("digest")
            next_digest = now + digest_every
        harness.drain_queue()

    # While posts arrive the clock steps by the shorter schedule, so a digest run every minute
    # is seen as on AWS (an instant match waits at most that minute, not a whole ingest period).
    step = min(ingest_every, digest_every)
    while datetime.now(UTC) <= last_post + 2 * ingest_every:
        tick()
        traveller.shift(step)
    sweep_until = last_post + SWEEP_AFTER_LAST_POST
    # Ingest keeps its own schedule until it has caught up: deployed, it runs every 5 minutes
    # whatever the backlog, and hourly ticks made a run that fell behind (crashes at a high
    # fault rate) take days to catch up, so late matches fell into the next week's digests.
    while not caught_up and datetime.now(UTC) <= sweep_until:
        tick()
        traveller.shift(ingest_every)
    while datetime.now(UTC) <= sweep_until:
        tick()
        traveller.shift(quiet_step)
    for _ in range(EXTRA_DAYS):
        if harness.redrive() == 0 and harness.queued() == 0 and harness.pending_matches() == 0:
            break
        day_end = datetime.now(UTC) + timedelta(days=1)
        while datetime.now(UTC) <= day_end:
            tick()
            traveller.shift(quiet_step)


def _sent_counts() -> tuple[int, int]:
    from jobalerts_local.outbox import sent_emails, sent_sms

    return len(sent_emails()), len(sent_sms())


def _subscribe(service: Any, people: list[SubscriberSpec]) -> tuple[list[SubscriberSpec], int]:
    """Subscribe, confirm through the link that arrives, add the other searches; no faults.

    Returns the subscribers as the service took them (only the searches it accepted) and how
    many searches it refused.
    """
    from jobalerts_local.demo import confirm_from_outbox

    taken: list[SubscriberSpec] = []
    refused = 0
    for person in people:
        first, *others = person.searches
        emails_before, texts_before = _sent_counts()
        body: dict[str, Any] = {
            "timezone": person.timezone,
            "query": first.query,
            "channel": first.channel,
            "frequency": first.frequency,
        }
        body.update({k: v for k, v in (("email", person.email), ("phone", person.phone)) if v})
        response = service.api("POST", "/subscriptions", body=body)
        token = None
        if response["statusCode"] < 400:
            token = _confirm_all(service, emails_before, texts_before)
        if token is None:
            refused += len(person.searches)
            continue
        kept = [first]
        manage = {"authorization": f"Bearer {token}"}
        # A search on a channel not yet confirmed sends that channel its own confirmation.
        emails_before, texts_before = _sent_counts()
        for search in others:
            added = service.api(
                "POST",
                "/api/searches",
                body={
                    "query": search.query,
                    "channel": search.channel,
                    "frequency": search.frequency,
                },
                headers=manage,
            )
            if added["statusCode"] >= 400:
                refused += 1
            else:
                kept.append(search)
        confirm_from_outbox(service, emails_before, texts_before)
        taken.append(
            SubscriberSpec(person.line, person.email, person.phone, person.timezone, tuple(kept))
        )
    return taken, refused


def _confirm_all(service: Any, emails_before: int, texts_before: int) -> str | None:
    """Follow confirmation links until no new one arrives, as a person with both an address and
    a number would: confirming the first channel is what sends the second its own link, and a
    search on that channel is refused until it is confirmed. Returns the first manage token."""
    from jobalerts_local.demo import confirm_from_outbox

    token = None
    mark = (emails_before, texts_before)
    while (now := _sent_counts()) != mark:
        got = confirm_from_outbox(service, *mark)
        token = token or got
        mark = now
    return token


@dataclass
class _Delivered:
    counts: Counter[tuple[str, str, str]]
    """(recipient, channel, post id) -> times."""
    ambiguous: Counter[tuple[str, str, str]]
    """The part of those counts that came from a send that timed out after it took effect."""


def _collect(
    emails_before: int, texts_before: int, posts: list[Post], injector: FaultInjector
) -> tuple[list[Any], list[Any], _Delivered]:
    from jobalerts import tokens
    from jobalerts.store.archive import DigestArchive
    from jobalerts.store.tables import open_table
    from jobalerts_local.outbox import sent_emails, sent_sms
    from jobalerts_local.settings import get_settings

    settings = get_settings()
    signer = tokens.load_signer(settings.signing_secret_name)
    archive = DigestArchive(open_table(settings.state_table))
    emails = [e for e in sent_emails()[emails_before:] if e.message["X-Entity-Ref-ID"]]
    texts = [t for t in sent_sms()[texts_before:] if "/d/" in t.text]
    counts: Counter[tuple[str, str, str]] = Counter()
    ambiguous: Counter[tuple[str, str, str]] = Counter()
    urls: dict[str, str] = {}
    pages: dict[str, list[str]] = {}

    def posts_of(digest_id: str, page: Callable[[], str]) -> list[str]:
        if digest_id not in pages:
            pages[digest_id] = sorted(
                {urls[u] for u in map(html.unescape, _HREF.findall(page())) if u in urls}
            )
        return pages[digest_id]

    ambiguous_ids = {a.message for a in injector.accepted if a.ambiguous}

    def was_ambiguous(sent: Any) -> bool:
        return str(sent.message_id) in ambiguous_ids

    urls.update({p.url: p.id for p in posts})
    for sent in emails:
        key_channel = "email"
        digest_id = str(sent.message["X-Entity-Ref-ID"])
        page = partial(email_digest_page, sent, archive, signer)
        for post_id in posts_of(digest_id, page):
            counts[(sent.to, key_channel, post_id)] += 1
            if was_ambiguous(sent):
                ambiguous[(sent.to, key_channel, post_id)] += 1
    for text in texts:
        code = text.text.split("/d/", 1)[1].split()[0]
        digest_id = signer.verify_short(code, tokens.DIGEST)
        for post_id in posts_of(digest_id, partial(_short_link_page, archive, digest_id)):
            counts[(text.phone, "sms", post_id)] += 1
            if was_ambiguous(text):
                ambiguous[(text.phone, "sms", post_id)] += 1
    # Ambiguity is per message: a duplicated message found twice counts once as ambiguous.
    return emails, texts, _Delivered(counts, ambiguous)


def email_digest_page(sent: Any, archive: Any, signer: Any) -> str:
    """The archived page an email digest links to ("view it in your browser"), found as its
    recipient would find it: the link's signed token names the subscriber and the digest (only
    a text's digest has a pointer for a short link)."""
    from jobalerts import tokens

    for link in sent.links():
        parts = urlsplit(link)
        if not parts.path.startswith("/digests/"):
            continue
        token = parse_qs(parts.query).get("t", [""])[0]
        subscriber_id, _, digest_id = signer.verify(token, tokens.DIGEST).partition("|")
        return str(archive.get(subscriber_id, digest_id) or "")
    return ""


def _short_link_page(archive: Any, digest_id: str) -> str:
    return str(archive.get_by_id(digest_id) or "")


def _count_posts(table: str) -> int:
    import boto3

    client = boto3.Session(region_name=REGION).client("dynamodb")
    total = 0
    for page in client.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="post_id, kind"
    ):
        total += sum(1 for item in page["Items"] if item.get("kind", {}).get("S") == "post")
    return total


def _report(
    subscribers: list[SubscriberSpec],
    posts: list[Post],
    refused: int,
    injector: FaultInjector,
    harness: _Harness,
    outbox: Path,
    emails: list[Any],
    texts: list[Any],
    delivered: _Delivered,
    ingested: int,
    elapsed: float,
) -> Report:
    from jobalerts_local.outbox import write_outbox

    ref = reference(subscribers, posts)
    by_recipient = {(p.recipient(c), c): p.line for p in subscribers for c in CHANNELS}
    got: Counter[tuple[int, str, str]] = Counter()
    got_ambiguous: Counter[tuple[int, str, str]] = Counter()
    for (recipient, channel, post_id), times in delivered.counts.items():
        line = by_recipient.get((recipient, channel))
        if line is None or post_id not in ref.group_of:
            continue
        key = (line, channel, ref.group_of[post_id])
        got[key] += times
        got_ambiguous[key] += delivered.ambiguous[(recipient, channel, post_id)]
    lost_keys = [
        key
        for key in sorted(ref.expected)
        if not got[key] and not (key[1] == "sms" and got[(key[0], "email", key[2])])
    ]
    duplicated = sum(max(0, n - 1) for n in got.values())
    unexplained = sum(max(0, n - got_ambiguous[k] - 1) for k, n in got.items())
    rolled = {(line, "email", job) for line, channel, job in ref.expected if channel == "sms"}
    unexpected = sum(1 for k in got if k not in ref.expected and k not in rolled)
    write_outbox(outbox, emails, texts)
    with (outbox / "deliveries.jsonl").open("w") as out:
        for (recipient, channel, post_id), times in sorted(delivered.counts.items()):
            out.write(
                json.dumps(
                    {"recipient": recipient, "channel": channel, "post_id": post_id, "count": times}
                )
                + "\n"
            )
    return Report(
        faults=Counter(injector.counts),
        subscribers=len(subscribers),
        searches=sum(len(p.searches) for p in subscribers),
        refused_searches=refused,
        posts=len(posts),
        ingested=ingested,
        expected=len(ref.expected),
        delivered=sum(1 for n in got.values() if n),
        lost=len(lost_keys),
        duplicated=duplicated,
        explained=duplicated - unexplained,
        unexpected=unexpected,
        redriven=harness.redriven,
        stream_records_dropped=harness.stream_dropped,
        elapsed=elapsed,
        lost_samples=[f"line {k[0]} {k[1]} {k[2]}" for k in lost_keys[:5]],
    )
