"""Digest throughput for 10k subscribers: rendering and fan-out, each against a naive baseline.

    .venv/bin/python -m bench.digests                    # 10k subscribers
    .venv/bin/python -m bench.digests --subscribers 2000

Render: one email (HTML + text) per subscriber with the process-wide Jinja2 environment, against
creating an Environment per digest (what a handler that builds its templates per call does).
Enqueue: the digest function's fan-out to SQS (SendMessageBatch of 10) against one SendMessage
per subscriber, on in-process moto, plus what stamping the markers costs: the service stamps each
with its own conditional UpdateItem (one write unit a marker), against 100 per transaction (a
hundred times fewer requests, but two write units a marker), and how long 1,000 stamps take in
parallel (the service, STAMP_CONCURRENCY at once) against one after another, at an assumed round
trip (`--round-trip-ms`, 8). moto is far slower than SQS, so the ratio is the figure to read; each
baseline runs on a sample and its rate is scaled. One process, one core.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jobalerts.digests.compose import Digest, compose
from jobalerts.digests.render import DigestLinks, build_environment, environment, render_email
from jobalerts.models import (
    Channel,
    DeliveryRequest,
    PendingMatch,
    Post,
    SavedSearch,
    Subscriber,
)

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
QUERIES = ["python remote", '"data engineer"', "golang OR rust", "#nursing", "devops berlin"]
_CHUNK = 250
# DynamoDB's limit on items in one transaction: the stamping the service no longer does.
_TRANSACTION_ITEMS = 100
WORDS = [
    "hiring",
    "remote",
    "python",
    "senior",
    "data",
    "engineer",
    "berlin",
    "apply",
    "now",
    "team",
    "role",
    "startup",
]


def sample_digest(index: int, rng: random.Random) -> Digest:
    sid = f"sub{index}"
    subscriber = Subscriber(subscriber_id=sid, timezone=rng.choice(ZONES), created_at=NOW)
    searches = [
        SavedSearch(
            subscriber_id=sid,
            search_id=f"s{n}",
            query=query,
            updated_at=NOW.isoformat(),
            created_at=NOW + timedelta(minutes=n),
        )
        for n, query in enumerate(rng.sample(QUERIES, 2))
    ]
    matches = []
    for n in range(rng.randint(3, 12)):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        post = Post(
            id=f"x#{index}-{n}",
            source="x",
            author_handle=f"company{n}",
            text=f"{text} number {index}-{n}",
            url=f"https://x.com/company{n}/status/{index}{n}",
            created_at=NOW - timedelta(minutes=7 * n),
        )
        matches.append(
            PendingMatch(
                subscriber_id=sid,
                channel=Channel.EMAIL,
                post=post,
                search_ids=[rng.choice(searches).search_id],
                due_at=NOW,
                matched_at=post.created_at,
            )
        )
    digest = compose(subscriber, Channel.EMAIL, NOW, matches, searches, max_per_search=5).digest
    assert digest is not None
    return digest


def rate(items: int, seconds: float) -> float:
    return items / seconds if seconds > 0 else float("inf")


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_render(subscribers: int, baseline_sample: int) -> tuple[float, float]:
    rng = random.Random(7)
    digests = [sample_digest(i, rng) for i in range(subscribers)]
    links = DigestLinks(
        view="https://alerts.example/digests/x?t=v",
        manage="https://alerts.example/manage?t=m",
        unsubscribe="https://alerts.example/unsubscribe?t=u",
    )
    env = environment()
    render_email(digests[0], links, env)  # warm: compile once, as a warm Lambda has
    shared = rate(len(digests), timed(lambda: [render_email(d, links, env) for d in digests]))
    sample = digests[:baseline_sample]
    naive = rate(
        len(sample), timed(lambda: [render_email(d, links, build_environment()) for d in sample])
    )
    return shared, naive


def bench_enqueue(subscribers: int, baseline_sample: int) -> tuple[float, float, int, int]:
    """SQS fan-out rate (batched vs one by one) and the requests for stamping the markers.

    moto's TransactWriteItems deep-copies every table to roll back, which makes its cost grow
    with the table; timing the stamps on moto would measure that, not the design. They are
    counted instead: requests are what a run pays in latency, write units what it pays in money.
    """
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[key] = "bench"
    from moto import mock_aws

    from jobalerts import aws
    from jobalerts.digests.enqueue import SQS_BATCH, DeliveryQueue, plan
    from jobalerts_local.runtime import apply_environment
    from jobalerts_local.settings import get_settings
    from jobalerts_local.template import provision

    markers = [(f"sub{i}", Channel.EMAIL, NOW) for i in range(subscribers)]
    requests = [request for request, _ in plan(markers)]
    with mock_aws():
        apply_environment(provision(parameters={"PublicBaseUrl": "http://bench.local"}))
        queue = DeliveryQueue(get_settings().delivery_queue_url, aws.sqs(aws.QUEUE))

        def emptied() -> None:
            # moto's SQS walks every queued message on each send; Lambda keeps the real queue
            # short by consuming it, so the queue is emptied (untimed) every few hundred.
            # (PurgeQueue is limited to once a minute, so each chunk gets a fresh queue.)
            fresh = queue.client.create_queue(QueueName=f"bench-{uuid.uuid4().hex}")
            queue.queue_url = fresh["QueueUrl"]

        def batched(chunk: list[DeliveryRequest]) -> None:
            for start in range(0, len(chunk), SQS_BATCH):
                assert not queue.send_batch(chunk[start : start + SQS_BATCH])

        def one_by_one(chunk: list[DeliveryRequest]) -> None:
            for request in chunk:
                queue.send_one(request)

        def run(
            send: Callable[[list[DeliveryRequest]], None], items: list[DeliveryRequest]
        ) -> float:
            seconds = 0.0
            for start in range(0, len(items), _CHUNK):
                seconds += timed(lambda: send(items[start : start + _CHUNK]))  # noqa: B023
                emptied()
            return rate(len(items), seconds)

        fast = run(batched, requests)
        slow = run(one_by_one, requests[:baseline_sample])
        get_settings.cache_clear()
    return fast, slow, subscribers, -(-subscribers // _TRANSACTION_ITEMS)


def bench_stamps(markers: int, round_trip: float) -> tuple[float, float]:
    """Seconds to stamp `markers` due markers, in parallel (the service) and one after another.

    Every request is answered by a `before-send` hook after an assumed in-region round trip,
    with what DynamoDB answers a successful UpdateItem (`{}`): botocore builds, signs and
    parses each request as usual, but no moto, whose Python would be most of the time here and
    which the GIL runs one request at a time however many threads wait on DynamoDB.
    """
    from unittest import mock

    import boto3
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    from jobalerts.aws import DATA
    from jobalerts.store import matches as matches_store
    from jobalerts.store.matches import MatchesRepository
    from jobalerts_local.faults import CannedBody

    def answered(request: Any, **_: object) -> AWSResponse:
        time.sleep(round_trip)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 200, headers, CannedBody(b"{}"))

    session = boto3.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    table = session.resource(
        "dynamodb", endpoint_url="http://dynamodb.bench.invalid", config=DATA
    ).Table("matches")
    # The stubs type every handler as returning None; a before-send handler's answer is used.
    table.meta.client.meta.events.register("before-send.dynamodb", answered)  # type: ignore[arg-type]
    repository = MatchesRepository(table=table, ttl_days=7)
    due = [(f"sub{i}", Channel.EMAIL, NOW) for i in range(markers)]
    parallel = timed(lambda: repository.mark_enqueued_many(due, NOW))
    with mock.patch.object(matches_store, "STAMP_CONCURRENCY", 1):
        serial = timed(lambda: repository.mark_enqueued_many(due, NOW))
    return parallel, serial


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.digests", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--baseline-sample", type=int, default=500)
    # An assumption, not a measurement: a DynamoDB write seen from Lambda in the same region.
    parser.add_argument("--round-trip-ms", type=float, default=8.0)
    args, _ = parser.parse_known_args(argv)
    n, sample = args.subscribers, min(args.baseline_sample, args.subscribers)

    shared, naive = bench_render(n, sample)
    print(f"render  {n:>6} digests  shared Environment     {shared:>9.0f} digests/s")
    print(f"render  {sample:>6} digests  Environment per digest {naive:>9.0f} digests/s")
    print(f"render  ratio (shared / per-digest)            {shared / naive:>9.1f}x")

    fast, slow, stamps, transactions = bench_enqueue(n, sample)
    print(f"enqueue {n:>6} messages SendMessageBatch (moto) {fast:>9.0f} digests/s")
    print(f"enqueue {sample:>6} messages SendMessage (moto)      {slow:>9.0f} digests/s")
    print(f"enqueue ratio (batched / one by one)           {fast / slow:>9.1f}x")
    # Units of the base table; each marker's GSI copy costs one more either way.
    print(f"stamps  {n:>6} markers  UpdateItem each    {stamps:>7} requests {stamps:>7} units")
    transacted = f"{transactions:>7} requests {2 * n:>7} units"
    print(f"stamps  {n:>6} markers  TransactWriteItems {transacted}")
    print(f"stamps  ratio (units saved)                    {2 * n / stamps:>9.1f}x")

    count, trip = min(n, 1_000), args.round_trip_ms / 1000
    parallel, serial = bench_stamps(count, trip)
    print(
        f"stamps  {count:>6} markers  {args.round_trip_ms:g} ms a request, in parallel {parallel:>6.2f} s"
    )
    print(
        f"stamps  {count:>6} markers  {args.round_trip_ms:g} ms a request, one by one  {serial:>6.2f} s"
    )
    print(f"stamps  ratio (one by one / parallel)          {serial / parallel:>9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
