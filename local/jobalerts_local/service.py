"""The whole service on one machine: moto in-process, resources from template.yaml, real handlers.

Lambda's pollers are played by small pumps: the posts table's stream is read into the match
function, the delivery queue is drained into the deliver function, and the schedules declared
in template.yaml fire the scheduled functions. One lock serializes invocations, as moto's
in-process backends are not meant for concurrent writers.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from jobalerts_local.replay import ReplayServer
from jobalerts_local.runtime import (
    StreamPump,
    apply_environment,
    cold_start_all,
    drain_queue,
    http_event,
    invoke,
    scheduled_event,
    stream_batches,
)
from jobalerts_local.template import REGION, LocalStack, provision, repo_root

DEMO_RECORDINGS = repo_root() / "events" / "sources" / "demo"
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class Schedule:
    function: str
    every: timedelta
    next_at: float = 0.0


@dataclass
class LocalService:
    stack: LocalStack
    lock: threading.RLock = field(default_factory=threading.RLock)
    stream: StreamPump | None = None

    @property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=REGION)

    # ------------------------------------------------------------ the functions

    def api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        text = body if isinstance(body, str) or body is None else json.dumps(body)
        all_headers = dict(headers or {})
        if body is not None and not isinstance(body, str):
            all_headers.setdefault("content-type", "application/json")
        return self.handle_http(
            http_event(method, path, query=query, body=text, headers=all_headers)
        )

    def handle_http(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            response: dict[str, Any] = invoke("subscriptions", event)
            return response

    def ingest(self, now: datetime | None = None) -> Any:
        with self.lock:
            return invoke("ingest", scheduled_event("ingest", now), timeout_seconds=120)

    def match(self) -> int:
        """Feed everything new on the posts stream to the functions that read it (the match
        function, and with several search shards the fan-out), then drain each extra shard's
        queue into its match worker; returns the stream records fed."""
        with self.lock:
            if self.stream is None:
                self.stream = StreamPump(self.stack.attrs[("PostsTable", "StreamArn")])
            records = self.stream.poll()
            readers = self.event_sources("DynamoDB")
            for batch in stream_batches(records, 100):
                for logical_id, _ in readers:
                    self._invoke(logical_id, batch)
            for logical_id, queue in self.shard_queues():
                drain_queue(
                    self.stack.refs[queue],
                    self.stack.attrs[(queue, "Arn")],
                    partial(self._invoke, logical_id),
                    batch_size=events_batch_size(self.stack, logical_id),
                )
            return len(records)

    def event_sources(self, kind: str) -> list[tuple[str, str]]:
        """(function, source resource) for every event of this kind the stack declares, in
        template order: what Lambda's event source mappings would poll."""
        found = []
        for logical_id, spec in self.stack.functions.items():
            for event in spec.events.values():
                if event.get("Type") != kind:
                    continue
                source = event["Properties"]["Stream" if kind == "DynamoDB" else "Queue"]
                found.append((logical_id, str(source["Fn::GetAtt"][0])))
        return found

    def is_shard_worker(self, logical_id: str) -> bool:
        """One of the extra shards' match workers (each a copy of the same code)."""
        return self.stack.functions[logical_id].code_dir.name == "match_shard"

    def shard_queues(self) -> list[tuple[str, str]]:
        """(worker, its queue) of each extra search shard; none with one shard."""
        return [(f, q) for f, q in self.event_sources("SQS") if self.is_shard_worker(f)]

    def _invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return invoke(
            self.stack.functions[logical_id].code_dir.name,
            event,
            instance=logical_id if self.is_shard_worker(logical_id) else None,
            environment=self.stack.own_environment(logical_id),
        )

    def digest(self, now: datetime | None = None) -> Any:
        with self.lock:
            return invoke("digest", scheduled_event("digest", now))

    def deliver(self) -> int:
        with self.lock:
            return drain_queue(
                self.stack.refs["DeliveryQueue"],
                self.stack.attrs[("DeliveryQueue", "Arn")],
                lambda event: invoke("deliver", event),
            )

    def run_pipeline(self, digest_at: datetime | None = None) -> None:
        self.ingest()
        self.match()
        self.digest(digest_at)
        self.deliver()

    # ------------------------------------------------------------ schedules

    def schedules(self) -> list[Schedule]:
        """Every Schedule/ScheduleV2 event declared in template.yaml, by function folder."""
        found = []
        for spec in self.stack.functions.values():
            for event in spec.events.values():
                if event.get("Type") not in {"Schedule", "ScheduleV2"}:
                    continue
                expression = event["Properties"]["ScheduleExpression"]
                match = _RATE.fullmatch(expression)
                if match is None:
                    raise ValueError(f"local runs support rate() schedules only: {expression}")
                seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
                found.append(Schedule(spec.code_dir.name, timedelta(seconds=seconds)))
        return found

    def tick(self, schedules: list[Schedule], clock: float) -> list[str]:
        """Fire what is due, then let the pollers catch up; returns the functions fired."""
        fired = []
        for schedule in schedules:
            if clock >= schedule.next_at:
                schedule.next_at = clock + schedule.every.total_seconds()
                {"ingest": self.ingest, "digest": self.digest}[schedule.function]()
                fired.append(schedule.function)
        self.match()
        self.deliver()
        return fired

    def run_schedules(self, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        schedules = self.schedules()
        while not stop.is_set():
            self.tick(schedules, time.time())
            stop.wait(poll_seconds)


@contextmanager
def local_service(
    public_base_url: str,
    recordings: Path = DEMO_RECORDINGS,
    parameters: dict[str, str] | None = None,
    log_level: str = "WARNING",
    replay: ReplayServer | None = None,
) -> Iterator[LocalService]:
    """moto, the replay server for the sources, and every resource of template.yaml.

    `replay` serves the sources instead of the recordings (`jobalerts simulate` answers from a
    workload)."""
    from moto import mock_aws

    with ExitStack() as stack:
        stack.callback(_restore_environment, dict(os.environ))
        stack.enter_context(mock_aws())
        replay = stack.enter_context(replay or ReplayServer(recordings))
        created = provision(
            parameters={
                "PublicBaseUrl": public_base_url,
                "XBaseUrl": replay.base_url,
                **(parameters or {}),
            }
        )
        apply_environment(
            created,
            overrides={
                # Metrics would print CloudWatch EMF documents to the console; logs stay.
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": log_level,
                "MASTODON_BASE_URL": replay.base_url,
                "BLUESKY_BASE_URL": replay.base_url,
            },
        )
        boto3.Session(region_name=REGION).client("secretsmanager").put_secret_value(
            SecretId=created.refs["SourceCredentialsSecret"],
            SecretString=json.dumps(
                {
                    "x_bearer_token": "local-replay-token",
                    "bluesky_handle": "demo.bsky.social",
                    "bluesky_app_password": "local-replay-password",
                }
            ),
        )
        cold_start_all()
        yield LocalService(created)


def events_batch_size(stack: LocalStack, logical_id: str) -> int:
    """The BatchSize of a function's queue event in template.yaml (Lambda's default is 10)."""
    for event in stack.functions[logical_id].events.values():
        if event.get("Type") == "SQS":
            return int(event["Properties"].get("BatchSize", 10))
    return 10


def utcnow() -> datetime:
    return datetime.now(UTC)


def _restore_environment(snapshot: dict[str, str]) -> None:
    from jobalerts_local.settings import get_settings

    os.environ.clear()
    os.environ.update(snapshot)
    get_settings.cache_clear()
