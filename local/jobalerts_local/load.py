"""`jobalerts load`: a day of traffic through the real handlers, metered, and what it costs.

The run is `jobalerts simulate`'s (the same harness, pumps, schedules and simulated clock, see
`jobalerts_local.simulate`) on a generated workload of `FULL_SUBSCRIBERS` subscribers with
`FULL_SEARCHES` live searches and `FULL_POSTS` posts over a day, every count times `--scale`.
What is new here is the metering:

- every AWS request, by service and operation, attributed to the function being invoked (a
  botocore `before-call`/`after-call` hook on every client, and an invocation observer in
  `jobalerts_local.runtime`); requests made outside an invocation are Lambda's own pollers
  (SQS receive/delete, the stream reads) or the harness's checks (not billed);
- DynamoDB read and write units computed from item sizes as DynamoDB bills them (writes 1 WRU a
  KB of the larger of the old and new item, plus each GSI the item is in; reads 1 RRU per 4 KB,
  half for eventually consistent reads; transactions twice);
- the CPU each function spends outside its AWS calls (`time.thread_time`: moto answers in the
  same thread and the replay server in another, neither of which is the function's own work);
- the bytes of log lines and EMF metric documents the handlers print, and which custom metrics;
- stream records, SQS messages, SES emails, SNS texts, X requests and posts read;
- the items and bytes left in each table at the end;
- for `instant` email searches, the simulated time from a post's `created_at` to SES accepting
  the digest that carried it.

Subscribers are seeded straight through the repositories (`SubscriberAddresses.create`,
`SearchesRepository.put`): signing 10,000 people up through the API is not a day of traffic. A
day's sign-ups (`SIGNUPS_PER_DAY` of the base) do go through the API, as the subscriptions stage.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobalerts.models import Post
from jobalerts_local import prices
from jobalerts_local.simulate import SubscriberSpec, WorkloadReplay
from jobalerts_local.workload import Vocabulary

FULL_SUBSCRIBERS = 10_000
FULL_SEARCHES = 100_000
FULL_POSTS = 50_000
SIGNUPS_PER_DAY = 0.01
BROAD_SHARE = 0.03
SMS_SHARE = 0.3
# Time a Lambda waits on each AWS call, added to its own CPU for billed duration: the local run
# cannot measure the network. Typical in-region figures; X is measured by X, not here.
CALL_MS = {"dynamodb": 6.0, "sqs": 12.0, "sesv2": 60.0, "sns": 60.0, "secretsmanager": 25.0}
DEFAULT_CALL_MS = 10.0
X_REQUEST_MS = 400.0
FUNCTIONS = ("subscriptions", "ingest", "match", "digest", "deliver", "feedback")
POLLERS = "pollers"
HARNESS = "harness"
SEED = "seed"
_POLLER_CALLS = {
    ("sqs", "ReceiveMessage"),
    ("sqs", "DeleteMessage"),
    ("dynamodbstreams", "DescribeStream"),
    ("dynamodbstreams", "GetShardIterator"),
    ("dynamodbstreams", "GetRecords"),
}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
PROGRESS_EVERY = timedelta(hours=6)
REFERENCE_PAIRS = 5_000_000
_HREF = re.compile(r"""href=["']([^"']+)["']""")


# ---------------------------------------------------------------- the workload


def _query(rng: random.Random, broad: bool, words: Vocabulary) -> str:
    from jobalerts_local.workload import LEVELS

    # People search for what is common: the market's own weights pick their words.
    role, tag = words.role(rng)
    place = words.place(rng)
    company = words.company(rng)
    if broad:
        # A role anywhere, or a skill in a city.
        return rng.choice([f'"{role}" {place}', f"#{tag} {place}", f"{tag} {place}"])
    level, other = rng.choice(LEVELS), words.place(rng)
    return rng.choice(
        [
            f"{tag} {place} {company}",  # skills
            f"{level} {role} {place}",  # titles
            f"{role} ({place} OR {other}) {company}",  # places
            f"#{tag} #hiring {company} {place}",  # hashtags
            f'"{level} {role}" {place}',  # phrases
            f"from:{company}_jobs {tag} {place}",  # from:
            f"{role} {place} -junior",
        ]
    )


def workload(
    scale: float, seed: int = 13, hours: float = 24.0, broad_share: float = BROAD_SHARE
) -> tuple[list[SubscriberSpec], list[Post]]:
    """`FULL_*` times `scale` subscribers, searches and posts (at least one each); the posts
    spread over `hours`."""
    from jobalerts_local.workload import TIMEZONES, _posts, market

    words = market()

    rng = random.Random(seed)
    people = max(1, round(FULL_SUBSCRIBERS * scale))
    searches = max(people, round(FULL_SEARCHES * scale))
    # Every subscriber gets at least one search; the rest land at random (mean 10 each).
    counts = [1] * people
    for _ in range(searches - people):
        counts[rng.randrange(people)] += 1
    subscribers = []
    for n, count in enumerate(counts):
        has_phone = rng.random() < SMS_SHARE
        email = f"load{n}@example.com" if not has_phone or rng.random() < 0.7 else None
        phone = f"+1415{5_000_000 + n:07d}" if has_phone else None
        specs = []
        for _ in range(min(count, 25)):
            channel = "sms" if phone and (not email or rng.random() < 0.2) else "email"
            frequency = rng.choices(("instant", "hourly", "daily", "weekly"), (3, 2, 4, 1))[0]
            from jobalerts_local.simulate import SearchSpec

            specs.append(
                SearchSpec(_query(rng, rng.random() < broad_share, words), channel, frequency)
            )
        subscribers.append(SubscriberSpec(n + 1, email, phone, rng.choice(TIMEZONES), tuple(specs)))
    count = max(1, round(FULL_POSTS * scale))
    posts = [Post.model_validate(p) for p in _posts(rng, count, hours, words)]
    return subscribers, posts


def seed_subscribers(people: list[SubscriberSpec], now: datetime) -> None:
    """Confirmed subscribers and live searches, written as the subscriptions service would."""
    from jobalerts import wiring
    from jobalerts.matcher import shard_for
    from jobalerts.models import Channel, Frequency, SavedSearch, Subscriber, SubscriberStatus
    from jobalerts.store.subscribers import SubscriberAddresses
    from jobalerts_local.settings import get_settings

    settings = get_settings()
    shards = settings.search_shards
    subscribers = wiring.subscribers(settings)
    addresses = SubscriberAddresses(subscribers)
    searches = wiring.searches(settings)
    for person in people:
        subscriber = Subscriber(
            subscriber_id=uuid.uuid4().hex,
            email=person.email,
            phone=person.phone,
            email_confirmed=bool(person.email),
            phone_confirmed=bool(person.phone),
            timezone=person.timezone,
            status=SubscriberStatus.ACTIVE,
            created_at=now,
            confirmed_at=now,
        )
        first = ("email", person.email) if person.email else ("sms", person.phone or "")
        addresses.create(subscriber, *first)
        if person.email and person.phone:
            addresses.claim(subscriber.subscriber_id, "sms", person.phone)
        for spec in person.searches:
            search_id = uuid.uuid4().hex
            searches.put(
                SavedSearch(
                    subscriber_id=subscriber.subscriber_id,
                    search_id=search_id,
                    query=spec.query,
                    channel=Channel(spec.channel),
                    frequency=Frequency(spec.frequency),
                    shard=shard_for(search_id, shards),
                    updated_at=now.isoformat(timespec="microseconds"),
                    created_at=now,
                )
            )


# ---------------------------------------------------------------- DynamoDB item sizes and units

_TYPES = {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"}


def value_size(value: Any) -> int:
    """Bytes of one attribute value as DynamoDB sizes it (wire format or plain Python)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPES:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(str(inner).encode())
        if kind == "N":
            return _number_size(str(inner))
        if kind == "B":
            return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner))
        if kind in ("BOOL", "NULL"):
            return 1
        if kind in ("SS", "BS"):
            return sum(len(str(v).encode()) for v in inner)
        if kind == "NS":
            return sum(_number_size(str(v)) for v in inner)
        if kind == "L":
            return 3 + sum(1 + value_size(v) for v in inner)
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in inner.items())
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        return _number_size(str(value))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, set | frozenset):
        return sum(value_size(v) for v in value)
    if isinstance(value, list | tuple):
        return 3 + sum(1 + value_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + 1 + value_size(v) for k, v in value.items())
    return len(str(value).encode())


def _number_size(text: str) -> int:
    digits = sum(1 for c in text if c.isdigit())
    return 1 + (digits + 1) // 2


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


# ---------------------------------------------------------------- the meter


@dataclass
class Stage:
    invocations: int = 0
    cpu_seconds: float = 0.0
    """Thread CPU inside the handler, less the time inside AWS calls."""
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    wru_by_kind: Counter[str] = field(default_factory=Counter)
    """Write units by table and kind of item (`item_kind`): what dominates, and where."""
    log_lines: int = 0
    log_bytes: int = 0
    emf_bytes: int = 0


# Counting from several threads at once (a function's parallel stamps); module-level, so a
# kept (pickled) meter carries no lock.
_COUNTING = threading.Lock()


@dataclass
class Meter:
    stages: dict[str, Stage] = field(default_factory=lambda: defaultdict(Stage))
    current: str | None = None
    off: bool = False
    stream_records: int = 0
    sqs_messages: int = 0
    texts: int = 0
    x_requests: int = 0
    x_posts: int = 0
    metrics: set[tuple[str, str, str]] = field(default_factory=set)
    metric_values: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    ses_accepted: list[tuple[datetime, str]] = field(default_factory=list)
    progress: Callable[[str], None] | None = None
    _last_said: datetime | None = None
    _in_call: float = 0.0
    _thread: int | None = None
    """The thread the current invocation runs on: its CPU time is the one measured."""
    _pending: str = ""

    def stage_name(self, service: str, operation: str) -> str:
        if self.current is not None:
            return self.current
        return POLLERS if (service, operation) in _POLLER_CALLS else HARNESS

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        previous, self.current = self.current, function
        stage = self.stages[function]
        now = datetime.now(UTC)
        if self.progress and (self._last_said is None or now - self._last_said > PROGRESS_EVERY):
            self._last_said = now
            calls = sum(sum(s.requests.values()) for s in self.stages.values())
            self.progress(f"  simulated {now:%Y-%m-%d %H:%M}, {calls:,} AWS requests so far")
        stage.invocations += 1
        started, in_call = time.thread_time(), self._in_call
        caller, self._thread = self._thread, threading.get_ident()
        try:
            yield
        finally:
            spent = time.thread_time() - started - (self._in_call - in_call)
            stage.cpu_seconds += max(0.0, spent)
            self.current, self._thread = previous, caller

    # ------------------------------------------------------------ botocore hooks

    def before_call(self, event_name: str, params: Any = None, **kwargs: Any) -> None:
        if self.off:
            return
        service, operation = _service_and_operation(event_name)
        context = kwargs.get("context")
        if isinstance(context, dict):
            # Per call, not per meter: a function's worker threads (parallel stamps) make calls
            # at the same time, and only its own thread's are taken out of its CPU time.
            context["load_started"] = (threading.get_ident(), time.thread_time())
        if isinstance(context, dict) and service == "dynamodb":
            # before-call sees the request as it will be sent: DynamoDB's is a JSON body.
            sent = _json_body(params)
            context["load_before"] = _sizes_before(operation, sent)
            context["load_params"] = sent

    def after_call(self, event_name: str, parsed: Any = None, **kwargs: Any) -> None:
        if self.off:
            return
        context = kwargs.get("context")
        started = context.get("load_started") if isinstance(context, dict) else None
        if started is not None and started[0] == threading.get_ident() == self._thread:
            self._in_call += time.thread_time() - started[1]
        with _COUNTING:
            self._count(event_name, parsed, context)

    def _count(self, event_name: str, parsed: Any, context: Any) -> None:
        service, operation = _service_and_operation(event_name)
        stage = self.stages[self.stage_name(service, operation)]
        stage.requests[(service, operation)] += 1
        parsed = parsed if isinstance(parsed, dict) else {}
        params: dict[str, Any] = {}
        if isinstance(context, dict):
            params = context.get("load_params") or {}
        if service == "dynamodb":
            before = context.get("load_before", {}) if isinstance(context, dict) else {}
            wru, rru = _units(operation, params, parsed, before, stage.wru_by_kind)
            stage.wru += wru
            stage.rru += rru
        elif service == "dynamodbstreams" and operation == "GetRecords":
            self.stream_records += len(parsed.get("Records", []))
        elif service == "sqs" and operation == "SendMessage" and "MessageId" in parsed:
            self.sqs_messages += 1
        elif service == "sqs" and operation == "SendMessageBatch":
            self.sqs_messages += len(parsed.get("Successful", []))
        elif service == "sesv2" and operation == "SendEmail" and parsed.get("MessageId"):
            self.ses_accepted.append((datetime.now(UTC), str(parsed["MessageId"])))
        elif service == "sns" and operation == "Publish" and parsed.get("MessageId"):
            self.texts += 1

    # ------------------------------------------------------------ what the handlers print

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._line(line)
        return len(text)

    def flush(self) -> None:
        return None

    def _line(self, line: str) -> None:
        if not line.strip() or self.off:
            return
        stage = self.stages[self.current or HARNESS]
        size = len(line.encode()) + 1
        try:
            document = json.loads(line)
        except ValueError:
            document = None
        emf = isinstance(document, dict) and "_aws" in document
        if emf:
            stage.emf_bytes += size
            assert isinstance(document, dict)
            for directive in document["_aws"].get("CloudWatchMetrics", []):
                dimensions = ",".join(sorted(n for d in directive.get("Dimensions", []) for n in d))
                for metric in directive.get("Metrics", []):
                    self.metrics.add((directive.get("Namespace", ""), dimensions, metric["Name"]))
                    values = document.get(metric["Name"], 0)
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, int | float):
                            self.metric_values[metric["Name"]] += value
        else:
            stage.log_lines += 1
            stage.log_bytes += size


def _service_and_operation(event_name: str) -> tuple[str, str]:
    """("dynamodbstreams", "GetRecords") from "after-call.dynamodb-streams.GetRecords": event
    names carry the hyphenated service id, the rest of this module the endpoint's name."""
    parts = event_name.split(".")
    service = parts[1].replace("-", "") if len(parts) > 1 else ""
    return service, parts[2] if len(parts) > 2 else ""


def _json_body(request: Any) -> dict[str, Any]:
    body = request.get("body") if isinstance(request, dict) else None
    if isinstance(body, bytes | bytearray):
        body = body.decode()
    try:
        found = json.loads(body) if body else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def normalized(meter: Meter) -> Meter:
    """A meter pickled before service ids were unhyphenated, read as a current one would be."""
    harness = meter.stages.get(HARNESS)
    for stage in list(meter.stages.values()):
        for (service, operation), n in list(stage.requests.items()):
            clean = service.replace("-", "")
            if clean != service:
                del stage.requests[(service, operation)]
                stage.requests[(clean, operation)] += n
    if harness is not None:
        for key in [k for k in harness.requests if k in _POLLER_CALLS]:
            meter.stages[POLLERS].requests[key] += harness.requests.pop(key)
    return meter


def _stored(table: str, key: dict[str, Any]) -> tuple[int, int]:
    """(size of the item moto holds under `key`, how many GSIs it is in); (0, 0) if none."""
    from moto.dynamodb.models import dynamodb_backends

    from jobalerts_local.template import ACCOUNT_ID, REGION

    try:
        backend = dynamodb_backends[ACCOUNT_ID][REGION]
        item = backend.get_item(table, key)
        if item is None:
            return 0, 0
        indexes = backend.get_table(table).global_indexes
        inside = sum(
            1 for index in indexes if all(k["AttributeName"] in item.attrs for k in index.schema)
        )
        return int(item.size()), inside
    except Exception:
        return 0, 0


def _write_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """(table, key, multiplier) of each item a write touches."""
    if operation in _WRITES:
        key = params.get("Key") or _key_of(params.get("TableName", ""), params.get("Item", {}))
        return [(params.get("TableName", ""), key, 1)]
    found = []
    if operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    found.append((table, _key_of(table, request["PutRequest"]["Item"]), 1))
                elif "DeleteRequest" in request:
                    found.append((table, request["DeleteRequest"]["Key"], 1))
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            ((kind, body),) = entry.items()
            table = body.get("TableName", "")
            key = body.get("Key") or _key_of(table, body.get("Item", {}))
            if kind != "ConditionCheck":
                found.append((table, key, 2))
    return found


_TABLES = ("Subscribers", "Searches", "Posts", "Matches", "State")


def item_kind(table: str, key: dict[str, Any]) -> str:
    """`Matches m#`, `State delivery window, lock, sms counter`, `Posts`: the table (by the
    logical name its physical name holds) and the kind of item: in the State table the shape
    that owns its partition key (`store.keys`), in the matches table its sort key's prefix."""
    from jobalerts.store import keys

    name = next((t for t in _TABLES if f"{t}Table" in table or t.lower() in table), table)
    values = {k: v.get("S", "") if isinstance(v, dict) else str(v) for k, v in key.items()}
    if name == "State":
        try:
            return f"State {keys.shape_of(values.get(keys.PARTITION, '')).name}"
        except ValueError:
            return "State (no owner)"
    if name == "Matches" and "#" in values.get("sk", ""):
        return f"Matches {values['sk'].split('#', 1)[0]}#"
    return name


def _key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    from jobalerts_local.template import ACCOUNT_ID, REGION

    try:
        schema = dynamodb_backends[ACCOUNT_ID][REGION].get_table(table).schema
    except Exception:
        return {}
    return {
        k["AttributeName"]: item[k["AttributeName"]] for k in schema if k["AttributeName"] in item
    }


def _sizes_before(operation: str, params: dict[str, Any]) -> dict[int, tuple[int, int]]:
    return {
        n: _stored(table, key) for n, (table, key, _) in enumerate(_write_keys(operation, params))
    }


def _units(
    operation: str,
    params: dict[str, Any],
    parsed: dict[str, Any],
    before: dict[int, tuple[int, int]],
    by_kind: Counter[str] | None = None,
) -> tuple[float, float]:
    """(WRU, RRU) one DynamoDB call consumed, from the sizes of the items it touched; with
    `by_kind`, the write units are added there too, by `item_kind`."""
    consistent = bool(params.get("ConsistentRead"))
    if operation in _WRITES or operation in ("BatchWriteItem", "TransactWriteItems"):
        wru = 0.0
        for n, (table, key, times) in enumerate(_write_keys(operation, params)):
            old_size, old_gsis = before.get(n, (0, 0))
            new_size, new_gsis = _stored(table, key)
            size = max(old_size, new_size)
            units = times * write_units(size) * (1 + max(old_gsis, new_gsis))
            wru += units
            if by_kind is not None:
                by_kind[item_kind(table, key)] += units
        return wru, 0.0
    if operation == "GetItem":
        return 0.0, read_units(item_size(parsed.get("Item") or {}), consistent)
    if operation == "BatchGetItem":
        rru = 0.0
        for items in parsed.get("Responses", {}).values():
            rru += sum(read_units(item_size(i), consistent) for i in items)
        return 0.0, rru
    if operation == "TransactGetItems":
        return 0.0, sum(
            2 * read_units(item_size(r.get("Item") or {}), True)
            for r in parsed.get("Responses", [])
        )
    if operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        size = sum(item_size(i) for i in items)
        scanned, count = parsed.get("ScannedCount", 0), parsed.get("Count", 0)
        if count and scanned > count:
            # A filter drops items after they were read and billed.
            size = int(size * scanned / count)
        return 0.0, read_units(size, consistent and "IndexName" not in params)
    return 0.0, 0.0


@contextmanager
def metered(meter: Meter) -> Iterator[None]:
    """The hooks on every client made from now on, and the observer on every invocation."""
    import boto3
    from botocore.handlers import BUILTIN_HANDLERS

    from jobalerts_local import runtime

    entries = [("before-call", meter.before_call), ("after-call", meter.after_call)]
    # First: boto3's resource layer turns wire values into Python ones on after-call too.
    for entry in reversed(entries):
        BUILTIN_HANDLERS.insert(0, entry)
    runtime.invocation_observers.append(meter.invocation)
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        for entry in entries:
            BUILTIN_HANDLERS.remove(entry)
        runtime.invocation_observers.remove(meter.invocation)
        boto3.DEFAULT_SESSION = None


class MeteredReplay(WorkloadReplay):
    """The workload's X, counting requests and the posts each answer carries."""

    def __init__(self, posts: list[Post], meter: Meter) -> None:
        super().__init__(posts)
        self.meter = meter
        self._count_lock = threading.Lock()

    def answer(self, method: str, path: str, query: dict[str, str]) -> Any:
        recorded = super().answer(method, path, query)
        try:
            data = json.loads(recorded.body).get("data", [])
        except (ValueError, AttributeError):
            data = []
        with self._count_lock:
            self.meter.x_requests += 1
            self.meter.x_posts += len(data)
        return recorded


# ---------------------------------------------------------------- the run


@dataclass
class TableUse:
    items: int
    bytes: int
    steady_bytes: float
    """What a table holds once every day's items live out their TTL: kept items, plus each
    expiring item times the days it lives."""


@dataclass
class LoadResult:
    scale: float
    subscribers: int
    searches: int
    posts: int
    signups: int
    matches: int
    meter: Meter
    tables: dict[str, TableUse]
    memory_mb: dict[str, int]
    latencies: list[float]
    """Seconds from post to SES, one per (instant email subscriber, post) delivered."""
    instant_pairs_expected: int
    emails: int
    elapsed: float


def memory_sizes() -> dict[str, int]:
    """Each function's MemorySize in template.yaml (Globals when unset), by its code folder."""
    from jobalerts_local.template import load_template

    template = load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    sizes = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        code = str(properties.get("CodeUri", "")).rstrip("/").split("/")[-1]
        sizes[code] = int(properties.get("MemorySize", default))
    return sizes


@contextmanager
def _captured_logs(meter: Meter) -> Iterator[None]:
    """The handlers' log lines and EMF documents go to the meter (at the template's level)."""
    import logging
    import os

    from jobalerts.observability import logger

    handler = logger.registered_handler
    previous_stream, previous_level = getattr(handler, "stream", None), logger.log_level
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(meter)
    logger.setLevel(logging.INFO)
    # local_service turns metrics off so nothing prints; here they are what is measured.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    try:
        with redirect_stdout(meter):
            yield
    finally:
        if isinstance(handler, logging.StreamHandler) and previous_stream is not None:
            handler.setStream(previous_stream)
        logger.setLevel(previous_level)


def run_load(
    scale: float,
    seed: int = 13,
    log: Callable[[str], None] | None = None,
    *,
    hours: float = 24.0,
    sweep: timedelta | None = None,
    broad_share: float = BROAD_SHARE,
) -> LoadResult:
    """The run. `hours` and `sweep` (how long the clock runs on after the last post, a week and
    a day by default so every weekly digest falls due) shorten it for tests."""
    from unittest import mock

    import time_machine

    from jobalerts_local import simulate
    from jobalerts_local.service import local_service
    from jobalerts_local.simulate import (
        SIM_BASE_URL,
        _Harness,
        _run_clock,
        _subscribe,
        _virtual_sleep,
    )

    say = log or (lambda _: None)
    began = time.monotonic()
    people, posts = workload(scale, seed, hours, broad_share)
    signups = max(1, round(len(people) * SIGNUPS_PER_DAY))
    rng = random.Random(seed)
    newcomers = _newcomers(rng, signups, len(people))
    meter = Meter(progress=say)
    first_post = min(p.created_at for p in posts)
    last_post = max(p.created_at for p in posts)
    start = (first_post - timedelta(minutes=30)).astimezone(UTC)
    from jobalerts_local.faults import FaultInjector, installed

    injector = FaultInjector(0.0, random.Random(seed))
    with ExitStack() as stack:
        traveller = stack.enter_context(time_machine.travel(start, tick=True))

        def shift(seconds: float) -> None:
            traveller.shift(timedelta(seconds=max(0.0, float(seconds))))

        stack.enter_context(installed(injector))
        stack.enter_context(metered(meter))
        if sweep is not None:
            stack.enter_context(mock.patch.object(simulate, "SWEEP_AFTER_LAST_POST", sweep))
        service = stack.enter_context(
            local_service(
                SIM_BASE_URL,
                replay=MeteredReplay(posts, meter),
                parameters={"EnabledSources": "x"},
                log_level="INFO",
            )
        )
        stack.enter_context(_captured_logs(meter))
        stack.enter_context(_virtual_sleep(shift))
        say(f"seeding {len(people)} subscribers, {sum(len(p.searches) for p in people)} searches")
        meter.current = SEED
        seed_subscribers(people, datetime.now(UTC))
        meter.current = None
        say(f"signing {len(newcomers)} up through the API")
        _subscribe(service, newcomers)
        harness = _Harness(service, injector, rng, shift)
        harness.feedback_seen = len(injector.accepted)
        say(f"playing {len(posts)} posts over a day, then the week after")
        _run_clock(harness, traveller, last_post)
        meter.off = True
        tables = _tables(service.stack.refs, (first_post + (last_post - first_post) / 2))
        try:
            latencies, expected = _latencies(people + newcomers, posts, meter)
        except Exception as exc:  # a long run's other figures still count
            if log is None:
                raise
            say(f"latency not measured: {exc!r}")
            latencies, expected = [], 0
        emails = len(meter.ses_accepted)
    matches = _matches_queued(meter)
    meter.progress = None  # the run's console: a result is kept (pickled) without it
    return LoadResult(
        scale=scale,
        subscribers=len(people) + len(newcomers),
        searches=sum(len(p.searches) for p in people + newcomers),
        posts=len(posts),
        signups=len(newcomers),
        matches=matches,
        meter=meter,
        tables=tables,
        memory_mb=memory_sizes(),
        latencies=latencies,
        instant_pairs_expected=expected,
        emails=emails,
        elapsed=time.monotonic() - began,
    )


def _matches_queued(meter: Meter) -> int:
    return int(meter.metric_values["MatchesQueued"])


def _newcomers(rng: random.Random, count: int, base: int) -> list[SubscriberSpec]:
    from jobalerts_local.simulate import SearchSpec
    from jobalerts_local.workload import market

    words = market()
    found = []
    for n in range(count):
        queries = [SearchSpec(_query(rng, False, words), "email", "daily") for _ in range(3)]
        found.append(
            SubscriberSpec(base + n + 1, f"new{n}@example.com", None, "UTC", tuple(queries))
        )
    return found


def _tables(refs: dict[str, str], written_around: datetime) -> dict[str, TableUse]:
    import boto3

    from jobalerts_local.template import REGION

    client = boto3.Session(region_name=REGION).client("dynamodb")
    found = {}
    for logical in (
        "SubscribersTable",
        "SearchesTable",
        "PostsTable",
        "MatchesTable",
        "StateTable",
    ):
        items = size = 0
        steady = 0.0
        for page in client.get_paginator("scan").paginate(TableName=refs[logical]):
            for item in page["Items"]:
                items += 1
                bytes_ = item_size(item)
                size += bytes_
                expires = item.get("expires_at", item.get("ttl", {})).get("N")
                if expires:
                    lived = float(expires) - written_around.timestamp()
                    steady += bytes_ * max(0.0, lived) / 86400
                else:
                    steady += bytes_
        found[logical.removesuffix("Table")] = TableUse(items, size, steady)
    return found


def _latencies(
    people: list[SubscriberSpec], posts: list[Post], meter: Meter
) -> tuple[list[float], int]:
    """Post to SES for every (instant email search's subscriber, matching post) delivered."""
    from jobalerts import tokens
    from jobalerts.query import document, evaluate, parse
    from jobalerts.store.archive import DigestArchive
    from jobalerts.store.tables import open_table
    from jobalerts_local.outbox import sent_emails
    from jobalerts_local.settings import get_settings
    from jobalerts_local.simulate import email_digest_page

    accepted = {mid: at for at, mid in meter.ses_accepted}
    by_url = {p.url: p for p in posts}
    instant: dict[str, list[Any]] = defaultdict(list)
    for person in people:
        for search in person.searches:
            if search.frequency == "instant" and search.channel == "email" and person.email:
                instant[person.email].append(parse(search.query))
    documents = {p.id: document(p.text, p.author_handle, p.lang) for p in posts}
    settings = get_settings()
    archive = DigestArchive(open_table(settings.state_table))
    signer = tokens.load_signer(settings.signing_secret_name)
    first: dict[tuple[str, str], float] = {}
    for sent in sent_emails():
        digest_id = sent.message["X-Entity-Ref-ID"]
        at = accepted.get(sent.message_id)
        queries = instant.get(sent.to, [])
        if not digest_id or at is None or not queries:
            continue
        page = email_digest_page(sent, archive, signer)
        for url in {html.unescape(u) for u in _HREF.findall(page)}:
            post = by_url.get(url)
            if post is None or not any(evaluate(q, documents[post.id]) for q in queries):
                continue
            delay = (at - post.created_at).total_seconds()
            key = (sent.to, post.id)
            first[key] = min(first.get(key, delay), delay)
    # The reference walks every (subscriber, post) pair: past a few million it is skipped (-1).
    expected = -1
    if len(instant) * len(posts) <= REFERENCE_PAIRS:
        expected = sum(
            1
            for queries in instant.values()
            for post in posts
            if any(evaluate(q, documents[post.id]) for q in queries)
        )
    return sorted(first.values()), expected


# ---------------------------------------------------------------- figures


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of them at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Cost:
    lines: dict[str, float]
    """Service-added cost per 1,000 subscribers a month, by line."""
    passthrough: dict[str, float]
    fixed: dict[str, float]
    """Per deployment a month, whatever the subscriber count."""
    by_stage: dict[str, float] = field(default_factory=dict)
    """The service-added requests' share of `lines` by stage (storage apart)."""

    @property
    def service_total(self) -> float:
        return sum(self.lines.values())


BILLED_STAGES = (*FUNCTIONS, POLLERS)


def cost_model(
    stages: dict[str, Stage],
    *,
    subscribers: int,
    memory_mb: dict[str, int],
    stored_bytes: float,
    stream_records: int,
    emails: int,
    texts: int,
    x_posts: int,
    metrics: int,
    secrets: int,
    alarms: int = 0,
) -> Cost:
    """Per 1,000 subscribers a month from one day's counts (see `jobalerts_local.prices`)."""
    per = prices.DAYS_PER_MONTH * 1000 / subscribers
    lam = ddb = sqs = api = sm = logs = 0.0
    by_stage: dict[str, float] = {}
    for name in BILLED_STAGES:
        stage = stages.get(name)
        if stage is None:
            continue
        before = lam + ddb + sqs + api + sm + logs
        if name in FUNCTIONS and stage.invocations:
            wait_ms = sum(
                n * CALL_MS.get(service, DEFAULT_CALL_MS)
                for (service, _), n in stage.requests.items()
            )
            seconds = stage.cpu_seconds + wait_ms / 1000
            gb = memory_mb.get(name, 128) / 1024
            lam += seconds * gb * prices.LAMBDA_ARM_PER_GB_SECOND
            lam += stage.invocations * prices.LAMBDA_PER_MILLION_REQUESTS / 1e6
        ddb += stage.wru * prices.DYNAMODB_PER_MILLION_WRU / 1e6
        ddb += stage.rru * prices.DYNAMODB_PER_MILLION_RRU / 1e6
        sqs += (
            sum(n for (service, _), n in stage.requests.items() if service == "sqs")
            * prices.SQS_STANDARD_PER_MILLION_REQUESTS
            / 1e6
        )
        sm += (
            sum(n for (service, _), n in stage.requests.items() if service == "secretsmanager")
            * prices.SECRETS_PER_10K_API_CALLS
            / 1e4
        )
        logs += (stage.log_bytes + stage.emf_bytes) / 1e9 * prices.LOGS_INGESTION_PER_GB
        if name == "subscriptions":
            api += stage.invocations * prices.HTTP_API_PER_MILLION_REQUESTS / 1e6
        by_stage[name] = (lam + ddb + sqs + api + sm + logs - before) * per
    if not prices.DYNAMODB_STREAM_READS_BY_LAMBDA_FREE:
        reads = (
            stages[POLLERS].requests[("dynamodbstreams", "GetRecords")] if POLLERS in stages else 0
        )
        ddb += reads * prices.DYNAMODB_STREAM_PER_100K_READS / 1e5
    del stream_records
    monthly_storage = stored_bytes / 1e9 * prices.DYNAMODB_STORAGE_PER_GB_MONTH
    lines = {
        "Lambda": lam * per,
        "DynamoDB requests": ddb * per,
        # Storage is already a monthly figure: scale it per 1,000 subscribers only.
        "DynamoDB storage": monthly_storage * 1000 / subscribers,
        "SQS": sqs * per,
        "API Gateway": api * per,
        "Secrets Manager calls": sm * per,
        "CloudWatch logs": logs * per,
    }
    passthrough = {
        "SES": emails * prices.SES_PER_1000_EMAILS / 1000 * per,
        "SNS SMS (US)": texts * prices.SMS_US_PER_MESSAGE * per,
        "X reads": x_posts * prices.X_PER_POST_READ * per,
    }
    fixed = {
        "Secrets Manager secrets": secrets * prices.SECRET_PER_MONTH,
        "CloudWatch custom metrics": metrics * prices.CUSTOM_METRIC_PER_MONTH,
        "CloudWatch alarms": alarms * prices.CLOUDWATCH_ALARM_PER_MONTH,
    }
    return Cost(lines, passthrough, fixed, by_stage)


# How a stage's cost per 1,000 subscribers moves from scale s to the full day: "1" when it
# grows with posts or subscribers (both scale with s, so the figure holds), "s" when it is
# fixed by the schedules (a digest run queries every due shard whoever is due), "1/s" when it
# grows with matches, i.e. with searches times posts (an upper bound for digests and texts,
# which windows and daily caps bundle).
FULL_SCALE_GROWTH = {
    "subscriptions": "1",
    "ingest": "1",
    "match": "1/s",
    "digest": "s",
    "deliver": "1/s",
    "feedback": "1/s",
    POLLERS: "1",
}


def growth(rule: str, scale: float) -> float:
    return {"1": 1.0, "s": scale, "1/s": 1 / scale}[rule]


def full_scale_estimate(cost: Cost, scale: float, matches_storage: float) -> dict[str, float]:
    """Service-added cost per 1,000 subscribers a month at the full day, by FULL_SCALE_GROWTH;
    `matches_storage` is the part of storage in the matches table (grows like matches)."""
    growths = {name: growth(rule, scale) for name, rule in FULL_SCALE_GROWTH.items()}
    return volume_estimate(cost, growths, matches_storage)


def digests_sent(meter: Meter) -> int:
    """Digests the run's deliver function sent (its own metrics), emails and texts."""
    return int(meter.metric_values["EmailDigestsSent"] + meter.metric_values["SmsDigestsSent"])


def volume_growth(
    scale: float,
    run: tuple[float, float],
    full_day: tuple[float, float],
) -> dict[str, float]:
    """How each stage's cost per 1,000 subscribers moves from the run to the full day, from
    counts rather than from the scale alone: a stage driven by matches grows by the full day's
    matches per subscriber over the run's, deliver and feedback by its digests per subscriber
    (instant matches of one ingest run share a digest, so digests grow far less than matches).
    `run` and `full_day`: (matches, digests) per subscriber a day."""
    matches = full_day[0] / run[0] if run[0] else 1 / scale
    digests = full_day[1] / run[1] if run[1] else 1 / scale
    found = {name: growth(rule, scale) for name, rule in FULL_SCALE_GROWTH.items()}
    found.update(match=matches, deliver=digests, feedback=digests)
    return found


def volume_estimate(
    cost: Cost, growths: dict[str, float], matches_storage: float
) -> dict[str, float]:
    """Service-added cost per 1,000 subscribers a month at the full day, each stage grown by
    `growths` (`volume_growth`); the matches table's storage grows like matches."""
    found = {name: value * growths[name] for name, value in cost.by_stage.items()}
    other_storage = cost.lines["DynamoDB storage"] - matches_storage
    found["storage"] = other_storage + matches_storage * growths["match"]
    return found


def result_cost(result: LoadResult) -> Cost:
    meter = result.meter
    return cost_model(
        meter.stages,
        subscribers=result.subscribers,
        memory_mb=result.memory_mb,
        stored_bytes=sum(t.steady_bytes for t in result.tables.values()),
        stream_records=meter.stream_records,
        emails=result.emails,
        texts=meter.texts,
        x_posts=meter.x_posts,
        metrics=len(meter.metrics),
        secrets=2,
        alarms=deployed_alarms(),
    )


def deployed_alarms() -> int:
    """The alarms a default deployment has (those of shards 1-3 exist only with them)."""
    from jobalerts_local.template import load_template

    return sum(
        1
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and "Condition" not in resource
    )


def table(result: LoadResult) -> str:
    """The one table: per stage, requests by service and operation, units, CPU, log bytes."""
    meter = result.meter
    rows = [
        "| stage | invocations | CPU s | AWS requests (service.operation count) | WRU | RRU | log lines / bytes | EMF bytes |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name in (*FUNCTIONS, POLLERS):
        stage = meter.stages.get(name) or Stage()
        calls = ", ".join(
            f"{s}.{o} {n:,}" for (s, o), n in sorted(stage.requests.items(), key=lambda kv: -kv[1])
        )
        rows.append(
            f"| {name} | {stage.invocations:,} | {stage.cpu_seconds:.1f} | {calls or '-'} |"
            f" {stage.wru:,.0f} | {stage.rru:,.0f} | {stage.log_lines:,} / {stage.log_bytes:,} |"
            f" {stage.emf_bytes:,} |"
        )
    rows.append("")
    rows.append("| table | items at end | bytes at end | steady-state bytes (TTL lifetimes) |")
    rows.append("| --- | ---: | ---: | ---: |")
    for name, use in result.tables.items():
        rows.append(f"| {name} | {use.items:,} | {use.bytes:,} | {use.steady_bytes:,.0f} |")
    rows.append("")
    rows.append(
        f"stream records {meter.stream_records:,}; SQS messages {meter.sqs_messages:,};"
        f" SES emails {result.emails:,}; SNS texts {meter.texts:,};"
        f" X requests {meter.x_requests:,}, posts read {meter.x_posts:,};"
        f" pending matches queued {result.matches:,}; custom metrics {len(meter.metrics)}"
    )
    return "\n".join(rows)


def summary(result: LoadResult) -> str:
    normalized(result.meter)
    cost = result_cost(result)
    lines = [
        f"jobalerts load: scale {result.scale} - {result.subscribers:,} subscribers"
        f" ({result.signups} signed up through the API), {result.searches:,} searches,"
        f" {result.posts:,} posts over a day; {result.elapsed:.0f}s",
        "",
        table(result),
        "",
        f"cost per 1,000 subscribers a month (prices {prices.AS_OF}):",
    ]
    lines += [f"  {name:<24} ${value:8.4f}" for name, value in cost.lines.items()]
    lines.append(f"  {'service total':<24} ${cost.service_total:8.4f}")
    lines.append("  pass-through:")
    lines += [f"  {name:<24} ${value:8.4f}" for name, value in cost.passthrough.items()]
    lines.append("  fixed per deployment a month:")
    lines += [f"  {name:<24} ${value:8.2f}" for name, value in cost.fixed.items()]
    matches_storage = (
        cost.lines["DynamoDB storage"]
        * result.tables["Matches"].steady_bytes
        / max(1.0, sum(t.steady_bytes for t in result.tables.values()))
    )
    estimate = full_scale_estimate(cost, result.scale, matches_storage)
    lines.append(
        "  service-added at the full day (10,000 subscribers, 50,000 posts), estimated by stage:"
    )
    lines += [
        f"  {name:<24} ${value:8.4f}  (grows {FULL_SCALE_GROWTH.get(name, '1/s')})"
        for name, value in estimate.items()
    ]
    lines.append(f"  {'estimate total':<24} ${sum(estimate.values()):8.4f}")
    kinds: Counter[str] = Counter()
    for name in BILLED_STAGES:
        kinds.update(getattr(result.meter.stages.get(name), "wru_by_kind", Counter()))
    if kinds:
        total = sum(kinds.values())
        lines.append("DynamoDB write units by table and kind of item (the service's stages):")
        lines += [
            f"  {kind:<24} {units:10,.0f}  {units / total:6.1%}"
            for kind, units in kinds.most_common(12)
        ]
    if result.latencies:
        p50 = percentile(result.latencies, 0.5) / 60
        p95 = percentile(result.latencies, 0.95) / 60
        lines.append(
            f"post to inbox (instant email): p50 {p50:.1f} min, p95 {p95:.1f} min over"
            f" {len(result.latencies):,} deliveries ({result.instant_pairs_expected:,} pairs"
            " matched by the reference, near-duplicates included)"
        )
    return "\n".join(lines)


# Kinds of item (`item_kind`) written once per match, and once per digest; every other kind is
# written per post or per run and holds its cost per 1,000 subscribers at the full day.
PER_MATCH_KINDS = frozenset({"Matches m#", "Matches f#", "Matches s#"})
PER_DIGEST_KINDS = frozenset(
    {
        "Matches d#",
        "State delivery window, lock, sms counter",
        "State archived digest",
        "State short digest link",
    }
)


@dataclass(frozen=True)
class FullDay:
    """Service-added cost per 1,000 subscribers a month at the full day, from a run and counts."""

    writes: dict[str, float]
    """DynamoDB writes by kind of item, each grown by what drives it."""
    other_low: float
    other_high: float
    """Everything else (Lambda, reads, SQS, logs...): the match stage's part held (per
    invocation: the index refresh, the batch) or grown with matches (per hit), which bound it."""

    @property
    def low(self) -> float:
        return sum(self.writes.values()) + self.other_low

    @property
    def high(self) -> float:
        return sum(self.writes.values()) + self.other_high


def costed_full_day(
    stages: dict[str, Stage], subscribers: int, cost: Cost, growths: dict[str, float]
) -> FullDay:
    """A run's `stages` and `cost` (of `subscribers`) at the full day, by `volume_growth`."""
    per = prices.DAYS_PER_MONTH * 1000 / subscribers
    unit = prices.DYNAMODB_PER_MILLION_WRU / 1e6 * per
    writes: Counter[str] = Counter()
    other_low = other_high = cost.lines["DynamoDB storage"]
    for name in BILLED_STAGES:
        stage = stages.get(name)
        if stage is None:
            continue
        for kind, units in getattr(stage, "wru_by_kind", Counter()).items():
            grows = (
                growths["match"]
                if kind in PER_MATCH_KINDS
                else growths["deliver"]
                if kind in PER_DIGEST_KINDS
                else 1.0
            )
            writes[kind] += units * unit * grows
        rest = cost.by_stage.get(name, 0.0) - stage.wru * unit
        held = 1.0 if name == "match" else growths[name]
        other_low += rest * held
        other_high += rest * growths[name]
    return FullDay(dict(writes), other_low, other_high)


def with_volume(result: LoadResult, seed: int) -> str:
    """The run's stages costed at the full day's counts (`jobalerts volume`, seconds to minutes
    of CPU), by stage and per match and digest."""
    from jobalerts_local.volume import count_day

    normalized(result.meter)
    cost = result_cost(result)
    volume = count_day(1.0, seed)
    people = result.subscribers
    run = (result.matches / people, digests_sent(result.meter) / people)
    full_day = volume.per_subscriber_day
    growths = volume_growth(result.scale, run, full_day)
    matches_storage = (
        cost.lines["DynamoDB storage"]
        * result.tables["Matches"].steady_bytes
        / max(1.0, sum(t.steady_bytes for t in result.tables.values()))
    )
    estimate = volume_estimate(cost, growths, matches_storage)
    day = costed_full_day(result.meter.stages, result.subscribers, cost, growths)
    lines = [
        f"the full day (`jobalerts volume`): {full_day[0]:.1f} matches and {full_day[1]:.1f}"
        f" digests per subscriber a day; this run: {run[0]:.2f} and {run[1]:.2f}",
        "  service-added per 1,000 subscribers a month at the full day, each stage grown by"
        " its driver's count:",
    ]
    lines += [
        f"  {name:<24} ${value:8.4f}  (x {growths.get(name, 1.0):,.3g})"
        for name, value in estimate.items()
    ]
    lines.append(f"  {'estimate total':<24} ${sum(estimate.values()):8.4f}")
    lines.append(
        "  by what drives each cost instead (DynamoDB writes by kind of item: per match, per"
        " digest, else per post or run):"
    )
    lines += [
        f"  {kind:<44} ${value:8.4f}"
        for kind, value in sorted(day.writes.items(), key=lambda kv: -kv[1])
        if value >= 0.005
    ]
    lines.append(
        f"  {'everything else':<44} ${day.other_low:8.4f} to ${day.other_high:.4f}"
        " (the match stage's Lambda, reads and logs per invocation, or per match)"
    )
    lines.append(f"  {'total':<44} ${day.low:8.4f} to ${day.high:.4f}")
    return "\n".join(lines)


def main_text(scale: float, seed: int, keep: Path | None = None, *, volume: bool = False) -> str:
    """The summary; with `keep`, the result is pickled there too (to re-read a long run); with
    `volume`, also costed at the full day's counts (`with_volume`)."""
    import pickle
    import sys

    result = run_load(scale, seed, log=lambda line: print(line, file=sys.stderr))
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_bytes(pickle.dumps(result))
    text = summary(result)
    return f"{text}\n{with_volume(result, seed)}" if volume else text


def reread(kept: Path | list[Path], seed: int, *, volume: bool = False) -> str:
    """The summary of a result kept with `--keep` (our own file: pickle is trusted here); given
    several, the first one's, then post to inbox pooled over all of them."""
    import pickle

    paths = kept if isinstance(kept, list) else [kept]
    results: list[LoadResult] = [
        pickle.loads(path.read_bytes())  # noqa: S301 - our own file
        for path in paths
    ]
    text = summary(results[0])
    if volume:
        text = f"{text}\n{with_volume(results[0], seed)}"
    if len(results) > 1:
        text = f"{text}\n{pooled_latency([r.latencies for r in results])}"
    return text


def pooled_latency(runs: list[list[float]]) -> str:
    """Post to inbox over several runs' instant deliveries: one slice has few of them, and the
    95th percentile of a handful is little more than its largest."""
    pooled = [seconds for run in runs for seconds in run]
    if not pooled:
        return f"post to inbox pooled over {len(runs)} runs: no instant delivery"
    p50 = percentile(pooled, 0.5) / 60
    p95 = percentile(pooled, 0.95) / 60
    counts = " + ".join(str(len(run)) for run in runs)
    return (
        f"post to inbox (instant email) pooled over {len(runs)} runs: p50 {p50:.1f} min,"
        f" p95 {p95:.1f} min, max {max(pooled) / 60:.1f} min over {len(pooled)} deliveries"
        f" ({counts})"
    )
