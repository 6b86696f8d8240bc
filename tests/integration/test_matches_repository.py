"""The pending-matches table's own promises, on moto: the due markers' shards, the sent log read
in batches of a hundred keys, a sent log carried to another channel with its expiry, and a
deferred digest's markers moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from jobalerts.models import Channel
from jobalerts.store.matches import MatchesRepository, due_shard
from jobalerts_local.template import LocalStack
from tests.support import stores
from tests.support.digests import make_post

DUE = datetime(2027, 6, 1, 12, tzinfo=UTC)


def recorded(repository: MatchesRepository, operation: str) -> list[dict[str, Any]]:
    """The body of every `operation` call the repository's client sends, as sent."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(json.loads(params["body"]))

    repository.table.meta.client.meta.events.register(f"before-call.dynamodb.{operation}", record)
    return sent


def test_a_subscribers_due_shard_is_stable_and_a_run_queries_each_of_the_eight_once(
    stack: LocalStack,
) -> None:
    # Given the shard each subscriber's markers carry: stored in the table, so a change of the
    # hash or of the count is a migration, never a refactor (known values, one per shard seen)
    shards = {"eli": "0", "kim": "1", "ana": "3", "dee": "4", "fay": "6", "gus": "7"}
    assert {sid: due_shard(sid) for sid in shards} == shards
    # And a due marker for each of them
    matches = stores.matches()
    for sid in shards:
        matches.mark_due(sid, Channel.EMAIL, DUE)
    queries = recorded(matches, "Query")
    # When the due markers are listed
    found = list(matches.due(DUE))
    # Then the due-index was queried once for each of the eight shards, in order
    shard_asked = [
        value["S"]
        for q in queries
        for value in q["ExpressionAttributeValues"].values()
        if value["S"].isdigit()  # the others are the due and requeue times
    ]
    assert shard_asked == [str(n) for n in range(8)]
    assert {q["IndexName"] for q in queries} == {"due-index"}
    # And every marker was found, each in its own shard
    assert sorted(sid for sid, _, _ in found) == sorted(shards)
    assert [sid for sid, _, _ in found] == sorted(shards, key=lambda sid: shards[sid])


def test_the_sent_log_is_read_in_batches_of_a_hundred_keys_and_none_is_skipped(
    stack: LocalStack,
) -> None:
    # Given 150 fingerprints logged as sent on email, and 2 posts logged by id (the old entries)
    matches = stores.matches()
    prints = [f"fp{n:03}" for n in range(150)]
    matches.complete("ana", Channel.EMAIL, [], None, now=DUE, fingerprints=prints)
    for post_id in ("x#1", "x#2"):
        matches.table.put_item(Item={"subscriber_id": "ana", "sk": f"s#email#{post_id}"})
    batches = recorded(matches, "BatchGetItem")
    # When the deliver function asks about all of them (every key a sent one: the keys' order
    # follows set iteration, so any key skipped, first, hundred-and-first or other, is missed)
    posts, sent = matches.already_sent("ana", Channel.EMAIL, ["x#1", "x#2"], prints)
    # Then 152 keys were asked for in two batches: a hundred, then the other 52
    assert [len(b["RequestItems"][matches.table.name]["Keys"]) for b in batches] == [100, 52]
    # And every one was found, under its own id or fingerprint
    assert posts == {"x#1", "x#2"}
    assert sent == set(prints)
    # And what was never sent is not reported as sent
    assert matches.already_sent("ana", Channel.EMAIL, ["x#3"], ["fp-new"]) == (set(), set())


def test_the_sent_log_carried_to_another_channel_keeps_each_entrys_key_and_expiry(
    stack: LocalStack,
) -> None:
    # Given a sent log on email: a fingerprint and an old by-id entry, each with its expiry, and
    # one entry without an expiry; and a text already logged on sms and a pending email post
    matches = stores.matches()
    table = matches.table
    email_log = [
        {"subscriber_id": "ana", "sk": "f#email#fp1", "expires_at": 1_900_000_000},
        {"subscriber_id": "ana", "sk": "s#email#x#1", "expires_at": 1_900_000_100},
        {"subscriber_id": "ana", "sk": "f#email#fp2"},
    ]
    for item in [
        *email_log,
        {"subscriber_id": "ana", "sk": "f#sms#fp9", "expires_at": 1_900_000_200},
        {"subscriber_id": "ana", "sk": "m#email#x#7", "channel": "email"},
    ]:
        table.put_item(Item=item)
    # When the search moves to text messages and the email log is carried over
    carried = matches.carry_sent_log("ana", Channel.EMAIL, Channel.SMS)
    # Then each email entry has its twin on sms, same key after the channel, same expiry
    assert carried == 3
    sms = table.query(
        KeyConditionExpression="subscriber_id = :s AND begins_with(sk, :p)",
        ExpressionAttributeValues={":s": "ana", ":p": "f#sms#"},
    )["Items"]
    sms += table.query(
        KeyConditionExpression="subscriber_id = :s AND begins_with(sk, :p)",
        ExpressionAttributeValues={":s": "ana", ":p": "s#sms#"},
    )["Items"]
    assert sorted(sms, key=lambda i: str(i["sk"])) == [
        {"subscriber_id": "ana", "sk": "f#sms#fp1", "expires_at": 1_900_000_000},
        {"subscriber_id": "ana", "sk": "f#sms#fp2"},
        {"subscriber_id": "ana", "sk": "f#sms#fp9", "expires_at": 1_900_000_200},
        {"subscriber_id": "ana", "sk": "s#sms#x#1", "expires_at": 1_900_000_100},
    ]
    # And the email log and the pending post are where they were
    assert matches.already_sent("ana", Channel.EMAIL, ["x#1"], ["fp1", "fp2"]) == (
        {"x#1"},
        {"fp1", "fp2"},
    )


def test_a_deferred_digest_moves_its_markers_to_the_new_time_and_leaves_later_ones(
    stack: LocalStack,
) -> None:
    # Given text markers for the window being sent and one before it, a later window's marker,
    # and a post pending for the window
    matches = stores.matches()
    window = DUE
    for due in (window - timedelta(hours=1), window, window + timedelta(days=1)):
        matches.mark_due("ana", Channel.SMS, due)
    matches.add(
        "ana",
        Channel.SMS,
        make_post("1", "Python developer, remote", at=DUE),
        "s1",
        window,
        window,
        mark=False,
    )
    # When the window's digest is deferred past the quiet hours, to 8 hours on
    resume = window + timedelta(hours=8)
    matches.defer("ana", Channel.SMS, window, resume)
    # Then the markers up to the window are gone, the new one is there, the later one stays
    later = window + timedelta(days=2)
    assert list(matches.due(later)) == [
        ("ana", Channel.SMS, resume),
        ("ana", Channel.SMS, window + timedelta(days=1)),
    ]
    # And the post still waits, due with the window it was matched for
    assert [m.post.id for m in matches.pending("ana", Channel.SMS, window)] == ["x#1"]


def test_the_sent_log_is_kept_ttl_days_from_the_delivery_not_from_the_wall_clock(
    stack: LocalStack,
) -> None:
    # Given a delivery made at a known moment (a retried or simulated one, not the wall clock)
    matches = stores.matches()
    # When it logs what it sent
    matches.complete("ana", Channel.EMAIL, [], None, now=DUE, fingerprints=["fp1"])
    # Then the entry expires exactly ttl_days after that moment
    item = matches.table.get_item(Key={"subscriber_id": "ana", "sk": "f#email#fp1"})["Item"]
    assert int(item["expires_at"]) == int((DUE + timedelta(days=matches.ttl_days)).timestamp())
