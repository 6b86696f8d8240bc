"""`jobalerts load` at a tiny scale: the table has every stage, and its counts hang together."""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from jobalerts_local.load import (
    FUNCTIONS,
    POLLERS,
    LoadResult,
    reread,
    result_cost,
    run_load,
    summary,
)

# A whole (short) day on moto: minutes on a loaded machine, most of it in the module fixture.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def result() -> LoadResult:
    # Given 1/1,000 of the day (10 subscribers, 100 searches, 50 posts) over one hour, every
    # search broad so that so few posts still match, and a day after the last post for the
    # digests to fall due
    return run_load(0.001, seed=5, hours=1.0, sweep=timedelta(days=1), broad_share=1.0)


def test_every_stage_that_ran_made_the_aws_requests_it_must(result: LoadResult) -> None:
    stages = result.meter.stages
    # Then each function was invoked and metered
    for name in ("subscriptions", "ingest", "match", "digest"):
        assert stages[name].invocations > 0, name
        assert sum(stages[name].requests.values()) > 0, name
    # ingest writes posts; match reads the searches index and the stream's posts arrive
    assert (
        stages["ingest"].requests[("dynamodb", "PutItem")]
        + stages["ingest"].requests[("dynamodb", "BatchWriteItem")]
        > 0
        or stages["ingest"].requests[("dynamodb", "TransactWriteItems")] > 0
    )
    assert stages["ingest"].wru > 0
    # (only the posts some planned X query selects are read, each with its near-duplicate keys)
    assert result.meter.stream_records > 0
    assert stages[POLLERS].requests[("dynamodbstreams", "GetRecords")] > 0
    assert stages[POLLERS].requests[("sqs", "ReceiveMessage")] > 0
    # the API's sign-up sent a confirmation through SES
    assert stages["subscriptions"].requests[("sesv2", "SendEmail")] >= 1
    # X was read, by request and by post
    assert result.meter.x_requests > 0
    assert result.meter.x_posts > 0


def test_deliveries_are_counted_where_they_happen(result: LoadResult) -> None:
    stages = result.meter.stages
    assert result.matches > 0
    assert stages["deliver"].invocations > 0
    sends = (
        stages["deliver"].requests[("sesv2", "SendEmail")]
        + stages["deliver"].requests[("sns", "Publish")]
    )
    assert sends > 0
    # Every SES acceptance the meter saw is one the service made (confirmations or digests)
    assert result.emails == sum(s.requests[("sesv2", "SendEmail")] for s in stages.values())
    assert result.meter.sqs_messages >= stages["deliver"].invocations
    assert stages["feedback"].invocations > 0


def test_cpu_logs_and_storage_are_measured(result: LoadResult) -> None:
    stages = result.meter.stages
    assert all(stages[name].cpu_seconds > 0 for name in ("ingest", "match", "digest", "deliver"))
    assert sum(stages[name].log_bytes for name in FUNCTIONS) > 0
    assert result.meter.metrics, "EMF custom metrics"
    assert result.tables["Searches"].items >= result.searches
    assert result.tables["Posts"].items >= 1
    assert all(use.bytes >= use.items for use in result.tables.values())


def test_latency_and_cost_come_out_of_the_same_run(result: LoadResult) -> None:
    # Instant email deliveries have a delay from the post, never negative
    assert result.latencies
    assert all(0 <= delay < 24 * 3600 for delay in result.latencies)
    cost = result_cost(result)
    assert set(cost.lines) >= {"Lambda", "DynamoDB requests", "SQS", "CloudWatch logs"}
    assert all(value >= 0 for value in cost.lines.values())
    assert cost.lines["Lambda"] > 0
    assert cost.lines["DynamoDB requests"] > 0
    text = summary(result)
    for name in (*FUNCTIONS, POLLERS):
        assert f"| {name} |" in text
    assert "p95" in text


def test_kept_runs_are_read_back_and_their_latencies_pooled(
    result: LoadResult, tmp_path: Path
) -> None:
    # Given the run kept twice, as two runs would be
    kept = [tmp_path / "a.pkl", tmp_path / "b.pkl"]
    for path in kept:
        path.write_bytes(pickle.dumps(result))
    # When they are read back together
    text = reread(kept, seed=5)
    # Then the first one's table comes back, and post to inbox counts both runs' deliveries
    assert text.startswith(summary(result))
    n = len(result.latencies)
    assert "pooled over 2 runs" in text
    assert f"over {2 * n} deliveries ({n} + {n})" in text
