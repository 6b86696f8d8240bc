"""DeliveryLog against every state a window can be in: the conditions behind exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest

from jobalerts.errors import Conflict, Throttled
from jobalerts.models import Channel, DeliveryRequest
from jobalerts.store import keys
from jobalerts.store.deliveries import (
    COUNTER_DAYS,
    LEASE,
    RECORD_DAYS,
    DeliveryLog,
)
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack, load_template
from tests.support import stores

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WINDOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REQUEST = DeliveryRequest(subscriber_id="ana", channel=Channel.EMAIL, due_at=WINDOW)
OTHER_WINDOW = DeliveryRequest(
    subscriber_id="ana", channel=Channel.EMAIL, due_at=WINDOW + timedelta(hours=1)
)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def claim(
    log: DeliveryLog, attempt: str, now: datetime, request: DeliveryRequest = REQUEST
) -> None:
    log.claim(
        request,
        digest_id="dg",
        attempt_id=attempt,
        post_ids=("x#1", "x#2"),
        fingerprints=("t1",),
        now=now,
    )


def item(key: keys.Key) -> dict[str, object] | None:
    table = boto3.resource("dynamodb").Table(get_settings().state_table)
    found = table.get_item(Key=key).get("Item")
    return dict(found) if found else None


@pytest.fixture
def log(stack: LocalStack) -> DeliveryLog:
    return stores.deliveries()


# ---------------------------------------------------------------- claim


def test_a_claim_on_a_free_window_writes_the_window_and_the_lock_with_exact_times(
    log: DeliveryLog,
) -> None:
    claim(log, "a1", T0)
    window = item(keys.delivery_window("ana", Channel.EMAIL, WINDOW))
    lock = item(keys.delivery_lock("ana", Channel.EMAIL))
    assert window is not None
    assert lock is not None
    assert window["status"] == "sending"
    assert window["attempt_id"] == "a1"
    assert window["digest_id"] == "dg"
    assert window["post_ids"] == ["x#1", "x#2"]
    assert window["fingerprints"] == ["t1"]
    assert window["lease_until"] == epoch(T0) + 120
    assert window["expiration"] == epoch(T0) + 30 * 86_400
    assert window["claimed_at"] == "2026-11-23T10:00:00+00:00"
    assert lock["attempt_id"] == "a1"
    assert lock["window"] == "2026-11-23T09:00:00+00:00"
    assert lock["lease_until"] == epoch(T0) + 120
    assert lock["expiration"] == epoch(T0) + 30 * 86_400
    record = log.get(REQUEST, T0)
    assert record is not None
    assert record.lease_until == T0 + timedelta(seconds=120)
    assert record.live(T0)
    assert record.live(T0 + timedelta(seconds=119))
    assert not record.live(T0 + timedelta(seconds=120))
    assert record.post_ids == ("x#1", "x#2")
    assert record.accepted is False


def test_lease_and_record_lifetimes() -> None:
    assert timedelta(seconds=120) == LEASE
    assert RECORD_DAYS == 30
    assert COUNTER_DAYS == 3


def test_the_lease_outlives_the_deliver_function_and_ends_before_sqs_redelivers() -> None:
    # A lease shorter than the function timeout lets a second attempt send while the first is
    # still alive; longer than the visibility timeout, the retry finds it still held.
    resources = load_template()["Resources"]
    timeout = resources["DeliverFunction"]["Properties"].get(
        "Timeout", load_template()["Globals"]["Function"]["Timeout"]
    )
    visibility = resources["DeliveryQueue"]["Properties"]["VisibilityTimeout"]
    assert timeout < LEASE.total_seconds() < visibility


def test_a_live_claim_cannot_be_taken(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    with pytest.raises(Conflict):
        claim(log, "a2", T0 + LEASE)  # the lease ends after its last second
    assert (log.get(REQUEST, T0) or pytest.fail("no record")).attempt_id == "a1"


def test_a_stale_claim_is_taken_over(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    later = T0 + LEASE + timedelta(seconds=1)
    claim(log, "a2", later)
    record = log.get(REQUEST, later)
    assert record is not None
    assert (record.status, record.attempt_id) == ("sending", "a2")
    assert (item(keys.delivery_lock("ana", Channel.EMAIL)) or {})["attempt_id"] == "a2"


def test_a_stale_claim_that_ses_reported_as_accepted_is_not_taken(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    assert log.record_accepted("ana", Channel.EMAIL, WINDOW)
    with pytest.raises(Conflict):
        claim(log, "a2", T0 + LEASE + timedelta(seconds=1))
    record = log.get(REQUEST, T0)
    assert record is not None
    assert record.accepted


def test_a_sent_window_is_never_claimed_again_even_long_after_its_lease(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    log.mark_sent(REQUEST, attempt_id="a1", provider_message_id="m1", now=T0)
    for later in (T0 + timedelta(seconds=1), T0 + LEASE * 10):
        with pytest.raises(Conflict):
            claim(log, "a2", later)
        # and the attempt that took the lock for it gave the lock back
        assert item(keys.delivery_lock("ana", Channel.EMAIL)) is None
    assert (log.get(REQUEST, T0) or pytest.fail("no record")).status == "sent"


def test_a_claim_takes_the_lock_with_one_plain_write_and_the_window_with_another(
    log: DeliveryLog,
) -> None:
    seen = operations(log)
    claim(log, "a1", T0)
    # Not a transaction: it costs two write units an item
    assert seen == ["PutItem", "UpdateItem"]
    assert (item(keys.delivery_lock("ana", Channel.EMAIL)) or {})["attempt_id"] == "a1"


def test_a_crash_between_the_lock_and_the_window_holds_the_channel_until_the_lease_ends(
    log: DeliveryLog,
) -> None:
    # Given an attempt that took the channel lock and died before it claimed the window
    seen = operations(log)

    class Killed(BaseException):
        """Lambda's timeout or an out-of-memory kill: no handler of the code runs."""

    def die_at_the_window(**_: object) -> None:
        raise Killed

    log.table.meta.client.meta.events.register(
        "before-call.dynamodb.UpdateItem", die_at_the_window, unique_id="die"
    )
    with pytest.raises(Killed):
        claim(log, "a1", T0)
    log.table.meta.client.meta.events.unregister("before-call.dynamodb.UpdateItem", unique_id="die")
    assert seen[:1] == ["PutItem"]
    assert log.get(REQUEST, T0) is None
    # Then another attempt waits while the lease lasts, and takes both once it ran out
    with pytest.raises(Conflict):
        claim(log, "a2", T0 + LEASE)
    claim(log, "a2", T0 + LEASE + timedelta(seconds=1))
    assert (log.get(REQUEST, T0) or pytest.fail("no record")).attempt_id == "a2"


def test_a_live_channel_lock_blocks_another_window(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    with pytest.raises(Conflict):
        claim(log, "b1", T0 + timedelta(seconds=5), OTHER_WINDOW)
    assert log.get(OTHER_WINDOW, T0) is None
    # Once the lock's lease ran out, the other window can go
    claim(log, "b1", T0 + LEASE + timedelta(seconds=1), OTHER_WINDOW)


def test_a_released_lock_frees_the_channel_for_another_window(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    log.mark_sent(REQUEST, attempt_id="a1", provider_message_id=None, now=T0)
    assert item(keys.delivery_lock("ana", Channel.EMAIL)) is None
    claim(log, "b1", T0 + timedelta(seconds=1), OTHER_WINDOW)


def test_record_accepted_needs_an_attempt(log: DeliveryLog) -> None:
    assert log.record_accepted("ana", Channel.EMAIL, WINDOW) is False
    assert item(keys.delivery_window("ana", Channel.EMAIL, WINDOW)) is None


# ---------------------------------------------------------------- release


def test_release_gives_back_the_window_and_the_lock(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    log.release(REQUEST, "a1")
    assert item(keys.delivery_window("ana", Channel.EMAIL, WINDOW)) is None
    assert item(keys.delivery_lock("ana", Channel.EMAIL)) is None
    claim(log, "a2", T0 + timedelta(seconds=1))


def test_a_stale_attempt_cannot_release_a_newer_attempts_claim(log: DeliveryLog) -> None:
    # Given attempt a1 lost its lease and a2 claimed the window
    claim(log, "a1", T0)
    later = T0 + LEASE + timedelta(seconds=1)
    claim(log, "a2", later)
    # When a1 (still running somewhere) releases
    log.release(REQUEST, "a1")
    # Then a2's claim and lock are untouched
    record = log.get(REQUEST, later)
    assert record is not None
    assert (record.status, record.attempt_id) == ("sending", "a2")
    assert (item(keys.delivery_lock("ana", Channel.EMAIL)) or {})["attempt_id"] == "a2"


def test_release_never_deletes_a_sent_window(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    log.mark_sent(REQUEST, attempt_id="a1", provider_message_id="m1", now=T0)
    log.release(REQUEST, "a1")
    record = log.get(REQUEST, T0)
    assert record is not None
    assert record.status == "sent"


# ---------------------------------------------------------------- mark_sent


def test_mark_sent_counts_a_text_once_even_when_retried(stack: LocalStack) -> None:
    log = stores.deliveries()
    text = DeliveryRequest(subscriber_id="ana", channel=Channel.SMS, due_at=WINDOW)
    day = date(2026, 11, 23)
    claim(log, "a1", T0, text)
    log.mark_sent(text, attempt_id="a1", provider_message_id="m", now=T0, sms_day=day)
    log.mark_sent(text, attempt_id="a1", provider_message_id="m", now=T0, sms_day=day)
    assert log.sms_sent_on("ana", day) == 1
    assert log.sms_sent_on("ana", day + timedelta(days=1)) == 0
    counter = item(keys.sms_counter("ana", day))
    assert counter is not None
    assert counter["expiration"] == epoch(T0) + 3 * 86_400
    window = item(keys.delivery_window("ana", Channel.SMS, WINDOW))
    assert window is not None
    assert window["provider_message_id"] == "m"
    assert window["sent_at"] == "2026-11-23T10:00:00+00:00"


def test_a_stale_attempt_cannot_mark_a_newer_claim_sent(log: DeliveryLog) -> None:
    claim(log, "a1", T0)
    later = T0 + LEASE + timedelta(seconds=1)
    claim(log, "a2", later)
    with pytest.raises(Conflict):
        log.mark_sent(REQUEST, attempt_id="a1", provider_message_id="m", now=later)
    assert (log.get(REQUEST, later) or pytest.fail("no record")).status == "sending"
    assert (item(keys.delivery_lock("ana", Channel.EMAIL)) or {})["attempt_id"] == "a2"


# ---------------------------------------------------------------- what each step writes


def operations(log: DeliveryLog) -> list[str]:
    """The DynamoDB operations the log's client makes from now on."""
    seen: list[str] = []
    log.table.meta.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: seen.append(model.name)
    )
    return seen


def test_an_email_is_marked_sent_by_one_plain_write(log: DeliveryLog) -> None:
    # Given a claimed email window
    claim(log, "a1", T0)
    seen = operations(log)
    # When the attempt marks it sent
    log.mark_sent(REQUEST, attempt_id="a1", provider_message_id="m1", now=T0)
    # Then one conditional update did it (a transaction of one item costs twice), and the
    # lock went with it
    assert seen == ["UpdateItem", "DeleteItem"]
    record = log.get(REQUEST, T0)
    assert record is not None
    assert record.status == "sent"
    # And a second mark by another attempt is refused by the condition
    with pytest.raises(Conflict):
        log.mark_sent(REQUEST, attempt_id="a2", provider_message_id="m2", now=T0)


def test_ses_evidence_for_a_window_already_sent_is_read_not_written(log: DeliveryLog) -> None:
    # Given a window whose attempt marked it sent
    claim(log, "a1", T0)
    log.mark_sent(REQUEST, attempt_id="a1", provider_message_id="m1", now=T0)
    seen = operations(log)
    # When SES's Send event for it arrives
    assert log.record_accepted("ana", Channel.EMAIL, WINDOW)
    # Then the record was only read: nothing is left to settle
    assert seen == ["GetItem"]
    assert "accepted" not in (item(keys.delivery_window("ana", Channel.EMAIL, WINDOW)) or {})


def test_ses_evidence_for_a_window_still_sending_is_written(log: DeliveryLog) -> None:
    # Given a window whose attempt crashed before marking it
    claim(log, "a1", T0)
    # When SES's Send event for it arrives
    assert log.record_accepted("ana", Channel.EMAIL, WINDOW)
    # Then the evidence is on the record
    assert (item(keys.delivery_window("ana", Channel.EMAIL, WINDOW)) or {})["accepted"] is True


def test_a_claim_whose_window_write_is_throttled_gives_the_lock_back(log: DeliveryLog) -> None:
    # Given DynamoDB throttling the window's write after the lock was taken
    from botocore.exceptions import ClientError

    def throttle(**_: object) -> None:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
        raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]

    events = log.table.meta.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", throttle, unique_id="throttle")
    # When the claim fails
    with pytest.raises(Throttled):
        claim(log, "a1", T0)
    events.unregister("before-call.dynamodb.UpdateItem", unique_id="throttle")
    # Then the channel is free at once for another attempt
    assert item(keys.delivery_lock("ana", Channel.EMAIL)) is None
    claim(log, "a2", T0 + timedelta(seconds=1))


def test_ses_evidence_for_a_window_released_meanwhile_is_not_recorded(log: DeliveryLog) -> None:
    # Given a window read as sending, then released (its send refused) before the mark lands
    claim(log, "a1", T0)

    def released_meanwhile(**_: object) -> None:
        log.release(REQUEST, "a1")

    events = log.table.meta.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", released_meanwhile, unique_id="release")
    # When SES's Send event for it arrives
    accepted = log.record_accepted("ana", Channel.EMAIL, WINDOW)
    events.unregister("before-call.dynamodb.UpdateItem", unique_id="release")
    # Then no attempt is recorded, and the evidence did not bring the window back
    assert accepted is False
    assert item(keys.delivery_window("ana", Channel.EMAIL, WINDOW)) is None
