"""`jobalerts load`'s arithmetic: DynamoDB units from item sizes, percentiles, the cost model."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from jobalerts_local import prices
from jobalerts_local.load import (
    CALL_MS,
    POLLERS,
    Cost,
    Stage,
    cost_model,
    costed_full_day,
    full_scale_estimate,
    item_kind,
    item_size,
    memory_sizes,
    percentile,
    pooled_latency,
    read_units,
    value_size,
    volume_estimate,
    volume_growth,
    workload,
    write_units,
)


def test_item_size_counts_names_and_values_in_wire_and_plain_form() -> None:
    # Given the same item as DynamoDB's wire format and as Python values
    wire = {
        "pk": {"S": "abc"},
        "n": {"N": "12345"},
        "ok": {"BOOL": True},
        "l": {"L": [{"S": "xy"}]},
    }
    plain = {"pk": "abc", "n": 12345, "ok": True, "l": ["xy"]}

    # Then both size alike: names + "abc" 3 + number (5 digits -> 1 + 3) 4 + bool 1 + list 3+1+2
    assert item_size(wire) == item_size(plain) == (2 + 3) + (1 + 4) + (2 + 1) + (1 + 6)
    assert value_size({"SS": ["a", "bc"]}) == 3


@pytest.mark.parametrize(
    ("size", "wru"), [(0, 1), (1, 1), (1024, 1), (1025, 2), (4096, 4), (4097, 5)]
)
def test_writes_cost_one_unit_per_started_kilobyte(size: int, wru: int) -> None:
    assert write_units(size) == wru


def test_reads_cost_one_unit_per_4kb_and_half_when_eventually_consistent() -> None:
    assert read_units(100, consistent=True) == 1
    assert read_units(100, consistent=False) == 0.5
    assert read_units(4097, consistent=True) == 2
    assert read_units(8192, consistent=False) == 1


def test_percentile_is_nearest_rank_on_a_fixed_sample() -> None:
    # Given twenty delays of 1..20 minutes, in no order
    sample = [
        float(m * 60)
        for m in (7, 3, 20, 1, 15, 9, 12, 2, 18, 5, 4, 6, 8, 10, 11, 13, 14, 16, 17, 19)
    ]

    # Then p50 is the 10th smallest and p95 the 19th, not an average of neighbours
    assert percentile(sample, 0.5) == 10 * 60
    assert percentile(sample, 0.95) == 19 * 60
    assert percentile(sample, 1.0) == 20 * 60
    assert percentile([42.0], 0.95) == 42.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_post_to_inbox_pools_the_deliveries_of_several_runs() -> None:
    # Given two runs' instant deliveries, 1..10 and 11..20 minutes
    runs = [[m * 60.0 for m in range(1, 11)], [m * 60.0 for m in range(11, 21)]]
    # Then the percentiles are those of the twenty together, not of either run
    assert pooled_latency(runs) == (
        "post to inbox (instant email) pooled over 2 runs: p50 10.0 min, p95 19.0 min,"
        " max 20.0 min over 20 deliveries (10 + 10)"
    )
    assert pooled_latency([[], []]) == "post to inbox pooled over 2 runs: no instant delivery"


def test_cost_model_known_answer() -> None:
    # Given one day of 2,000 subscribers: 1,000 match invocations of 10 s CPU and 3,000 DynamoDB
    # calls at 512 MB, 2M WRU and 4M RRU; pollers' 10,000 SQS requests; 100 API requests
    stages = {
        "match": Stage(
            invocations=1000,
            cpu_seconds=10.0,
            requests=Counter({("dynamodb", "UpdateItem"): 3000}),
            wru=2_000_000,
            rru=4_000_000,
            log_bytes=500_000_000,
            emf_bytes=500_000_000,
        ),
        "subscriptions": Stage(
            invocations=100, requests=Counter({("secretsmanager", "GetSecretValue"): 20_000})
        ),
        POLLERS: Stage(requests=Counter({("sqs", "ReceiveMessage"): 10_000})),
    }

    cost = cost_model(
        stages,
        subscribers=2000,
        memory_mb={"match": 512, "subscriptions": 1024},
        stored_bytes=4e9,
        stream_records=0,
        emails=2000,
        texts=10,
        x_posts=1000,
        metrics=10,
        secrets=2,
    )

    # Then each line is the day's usage times 30 days, halved for 2,000 subscribers
    per = 30 / 2
    seconds = 10.0 + 3000 * CALL_MS["dynamodb"] / 1000
    assert seconds == 28.0
    match_lambda = seconds * 0.5 * prices.LAMBDA_ARM_PER_GB_SECOND + 1000 * 0.2 / 1e6
    subs_lambda = (20_000 * 25 / 1000) * 1.0 * prices.LAMBDA_ARM_PER_GB_SECOND + 100 * 0.2 / 1e6
    assert cost.lines["Lambda"] == pytest.approx((match_lambda + subs_lambda) * per)
    assert cost.lines["DynamoDB requests"] == pytest.approx((2 * 0.625 + 4 * 0.125) * per)
    assert cost.lines["DynamoDB storage"] == pytest.approx(4 * 0.25 / 2)
    assert cost.lines["SQS"] == pytest.approx(0.01 * 0.40 * per)
    assert cost.lines["API Gateway"] == pytest.approx(100 * 1.00 / 1e6 * per)
    assert cost.lines["Secrets Manager calls"] == pytest.approx(2 * 0.05 * per)
    assert cost.lines["CloudWatch logs"] == pytest.approx(1.0 * 0.50 * per)
    assert cost.service_total == pytest.approx(sum(cost.lines.values()))
    assert cost.passthrough["SES"] == pytest.approx(2 * 0.10 * per)
    assert cost.passthrough["SNS SMS (US)"] == pytest.approx(10 * prices.SMS_US_PER_MESSAGE * per)
    assert cost.passthrough["X reads"] == pytest.approx(1000 * prices.X_PER_POST_READ * per)
    assert sum(cost.by_stage.values()) == pytest.approx(
        cost.service_total - cost.lines["DynamoDB storage"]
    )
    assert cost.fixed == {
        "Secrets Manager secrets": pytest.approx(0.80),
        "CloudWatch custom metrics": pytest.approx(3.00),
        "CloudWatch alarms": 0.0,
    }


def test_memory_sizes_come_from_the_template() -> None:
    sizes = memory_sizes()
    assert set(sizes) >= {"ingest", "match", "digest", "deliver", "feedback", "subscriptions"}
    assert all(size >= 128 for size in sizes.values())


def test_workload_scales_every_count_and_mixes_what_it_asks_for() -> None:
    # Given the workload at 1/500 of a full day
    people, posts = workload(0.002, seed=3)

    # Then 20 subscribers, 200 searches, 100 posts, within 25 searches each
    assert len(people) == 20
    assert sum(len(p.searches) for p in people) == 200
    assert len(posts) == 100
    assert all(1 <= len(p.searches) <= 25 for p in people)
    frequencies = {s.frequency for p in people for s in p.searches}
    assert frequencies == {"instant", "hourly", "daily", "weekly"}
    assert any(s.channel == "sms" for p in people for s in p.searches)
    assert any(s.query.startswith("from:") for p in people for s in p.searches)
    span = max(p.created_at for p in posts) - min(p.created_at for p in posts)
    assert span.total_seconds() > 20 * 3600


def test_full_scale_estimate_grows_each_stage_by_its_driver() -> None:
    # Given a run at 1% whose stages cost $1 each per 1,000 subscribers, and $0.30 of storage,
    # $0.10 of it in the matches table
    by_stage = {"ingest": 1.0, "match": 1.0, "digest": 1.0, "deliver": 1.0}
    cost = Cost({"DynamoDB storage": 0.30}, {}, {}, by_stage)

    estimate = full_scale_estimate(cost, 0.01, matches_storage=0.10)

    # Then posts-driven ingest holds, match-driven stages grow 100x, the schedule-driven digest
    # is shared 100x wider, and only the matches' storage grows
    assert estimate == {
        "ingest": pytest.approx(1.0),
        "match": pytest.approx(100.0),
        "digest": pytest.approx(0.01),
        "deliver": pytest.approx(100.0),
        "storage": pytest.approx(0.20 + 10.0),
    }


def test_the_day_of_posts_comes_from_a_market_not_a_handful_of_words() -> None:
    # Given the posts and searches of a small day
    from jobalerts_local.workload import COMPANIES, market

    people, posts = workload(0.01, seed=3)
    words = market()
    # Then the posts name employers from thousands, not the simulator's sixteen
    employers = {p.author_handle.removesuffix("_jobs") for p in posts}
    assert len(employers - set(COMPANIES)) > 100
    assert (len(words.companies), len(words.places), len(words.roles)) == (4096, 106, 60)
    # and the most common employer is drawn far more often than a rare one (Zipf)
    rng = random.Random(1)
    drawn = Counter(words.company(rng) for _ in range(20_000))
    assert drawn[words.companies[0]] > 50 * max(1, drawn[words.companies[-1]])
    # and searches draw from the same market
    queried = " ".join(s.query for p in people for s in p.searches)
    assert any(c in queried for c in words.companies[100:])


def test_a_default_deployment_pays_for_its_alarms() -> None:
    # Given the template's alarms, those of the optional shards apart
    from jobalerts_local.load import deployed_alarms

    # Then five alarms are billed at a default deployment (SearchShards 1)
    assert deployed_alarms() == 5
    cost = cost_model(
        {}, subscribers=1000, memory_mb={}, stored_bytes=0, stream_records=0, emails=0,
        texts=0, x_posts=0, metrics=0, secrets=0, alarms=deployed_alarms(),
    )  # fmt: skip
    assert cost.fixed["CloudWatch alarms"] == pytest.approx(0.50)


def test_write_units_are_told_apart_by_table_and_kind_of_item() -> None:
    # Given keys as DynamoDB's wire form carries them, under the local stack's table names
    matches = "jobalerts-local-MatchesTable-1A2B"
    # Then each is named by its table and its kind: the State table's by the shape owning its
    # partition key, the matches table's by its sort key's prefix
    assert item_kind(matches, {"subscriber_id": {"S": "ana"}, "sk": {"S": "m#email#x#1"}}) == (
        "Matches m#"
    )
    assert item_kind("x-StateTable-9", {"pk": {"S": "digest#ana"}, "sk": {"S": "d1"}}) == (
        "State archived digest"
    )
    assert item_kind("x-StateTable-9", {"pk": {"S": "dup"}, "sk": {"S": "l:jobs/1"}}) == (
        "State near-duplicate marker"
    )
    assert item_kind("x-PostsTable-9", {"post_id": {"S": "x#1"}}) == "Posts"


def test_the_full_day_grows_match_stages_by_matches_and_delivery_by_digests() -> None:
    # Given a run at 0.5% with 0.8 matches and 0.5 digests per subscriber, and a full day of
    # 134 matches and 35.6 digests per subscriber
    growths = volume_growth(0.005, run=(0.8, 0.5), full_day=(134.0, 35.6))
    # Then matching grows with matches, delivering and its feedback with digests, ingest holds
    # and the schedule-driven digest run is shared 200x wider
    assert growths["match"] == pytest.approx(167.5)
    assert growths["deliver"] == growths["feedback"] == pytest.approx(71.2)
    assert growths["ingest"] == 1.0
    assert growths["digest"] == pytest.approx(0.005)
    # And each stage's cost, and the matches' storage, grows by its own figure
    cost = Cost({"DynamoDB storage": 0.30}, {}, {}, {"match": 1.0, "deliver": 2.0})
    assert volume_estimate(cost, growths, matches_storage=0.10) == {
        "match": pytest.approx(167.5),
        "deliver": pytest.approx(142.4),
        "storage": pytest.approx(0.20 + 16.75),
    }


def test_the_full_day_grows_each_kind_of_write_by_what_drives_it() -> None:
    # Given a run of 1,000 subscribers: per-match, per-digest and per-run writes of a million
    # units each, and $1 of everything else in the match stage and $2 in deliver
    unit = prices.DYNAMODB_PER_MILLION_WRU * 30  # a million units a day, per 1,000 a month
    stages = {
        "match": Stage(wru=2e6, wru_by_kind=Counter({"Matches m#": 1e6, "State plan": 1e6})),
        "deliver": Stage(wru=1e6, wru_by_kind=Counter({"Matches d#": 1e6})),
    }
    cost = Cost({"DynamoDB storage": 0.0}, {}, {}, {"match": 1.0 + 2 * unit, "deliver": 2.0 + unit})
    growths = {"match": 100.0, "deliver": 10.0}
    # When it is costed at the full day
    day = costed_full_day(stages, 1000, cost, growths)
    # Then matches' writes grow 100x, digests' 10x and the rest holds
    assert day.writes == {
        "Matches m#": pytest.approx(100 * unit),
        "State plan": pytest.approx(unit),
        "Matches d#": pytest.approx(10 * unit),
    }
    # And the rest of the match stage is held (per invocation) or grown (per match) at the
    # bounds, the rest of deliver grown with digests
    assert day.other_low == pytest.approx(1.0 + 20.0)
    assert day.other_high == pytest.approx(100.0 + 20.0)
    assert day.low == pytest.approx(111 * unit + 21.0)
