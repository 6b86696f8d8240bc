"""Sliding-window sign-up limits on the state table (moto), at fixed times."""

from __future__ import annotations

from jobalerts.store.ratelimits import Limit, hashed
from jobalerts_local.template import LocalStack
from tests.support import stores

HOUR = 3600
LIMIT = Limit("test", 3, HOUR)


def window_start(key: str, around: float) -> float:
    """The start of the key's window that contains `around` (windows are offset per key)."""
    offset = int(hashed(key)[:8], 16) % HOUR
    return (around - offset) // HOUR * HOUR + offset


def test_the_limit_holds_within_a_window_and_says_when_to_retry(stack: LocalStack) -> None:
    limits = stores.rate_limits()
    start = window_start("ana", 1_900_000_000)

    # When four uses arrive early in one window
    answers = [limits.take(LIMIT, "ana", start + 10 + n) for n in range(4)]

    # Then three pass and the fourth is told to wait, into the next window
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None
    assert HOUR - 13 < answers[3] <= 2 * HOUR


def test_a_burst_across_the_window_boundary_gets_no_second_allowance(stack: LocalStack) -> None:
    limits = stores.rate_limits()
    start = window_start("ben", 1_900_000_000)

    # Given a full window, used up just before it ends
    for n in range(3):
        assert limits.take(LIMIT, "ben", start + HOUR - 5 + n) is None

    # When the next window starts, the last one still counts almost fully
    assert limits.take(LIMIT, "ben", start + HOUR + 1) is not None

    # And two-thirds of a window later one use is allowed again
    assert limits.take(LIMIT, "ben", start + HOUR + HOUR * 2 // 3 + 5) is None


def test_windows_are_not_aligned_to_the_clock_hour_and_keys_are_hashed(stack: LocalStack) -> None:
    offsets = {int(hashed(key)[:8], 16) % HOUR for key in ["a", "b", "c", "d"]}
    assert len(offsets) > 1
    stores.rate_limits().take(LIMIT, "someone@example.com", 1_900_000_000)
    items = stores.rate_limits().table.scan()["Items"]
    assert "someone@example.com" not in str(items)
