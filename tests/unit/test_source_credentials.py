"""The sources secret as a warm ingest instance holds it (jobalerts.ingest.SourceCredentials):
read once an hour, and again at once after a source's API refused it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from jobalerts.errors import ConfigurationError
from jobalerts.ingest import CREDENTIALS_MAX_AGE, SourceCredentials

HOUR = CREDENTIALS_MAX_AGE.total_seconds()


class Secret:
    """A stand-in for Secrets Manager: the current value, and every read (True = forced)."""

    def __init__(self) -> None:
        self.token = "first"
        self.reads: list[bool] = []
        self.failing = False

    def __call__(self, fresh: bool) -> Mapping[str, Any]:
        self.reads.append(fresh)
        if self.failing:
            raise ConfigurationError("source credentials secret could not be read")
        return {"x_bearer_token": self.token}


class Clock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secret() -> Secret:
    return Secret()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def credentials(secret: Secret, clock: Clock) -> SourceCredentials:
    return SourceCredentials(secret, clock=clock)


def test_a_second_get_within_the_hour_does_not_read(
    credentials: SourceCredentials, secret: Secret, clock: Clock
) -> None:
    # Given a run that read the secret
    assert credentials.get()["x_bearer_token"] == "first"
    # When the next runs come five minutes apart, up to just under the hour
    for _ in range(11):
        clock.now += 5 * 60
        credentials.get()
    clock.now += 5 * 60 - 1
    # Then none of them reads it again
    assert credentials.get()["x_bearer_token"] == "first"
    assert secret.reads == [False]


def test_after_an_hour_it_reads_again_and_sees_a_rotated_token(
    credentials: SourceCredentials, secret: Secret, clock: Clock
) -> None:
    # Given credentials read an hour ago, and the token rotated since
    credentials.get()
    secret.token = "rotated"
    clock.now += HOUR
    # When a run needs them
    value = credentials.get()
    # Then the secret is read again (Powertools' short cache has long expired: not forced)
    assert value["x_bearer_token"] == "rotated"
    assert secret.reads == [False, False]


def test_after_refused_it_reads_again_at_once_bypassing_every_cache(
    credentials: SourceCredentials, secret: Secret, clock: Clock
) -> None:
    # Given credentials read a minute ago, whose token X has just refused
    credentials.get()
    secret.token = "rotated"
    clock.now += 60
    credentials.refused()
    # When the next run needs them
    value = credentials.get()
    # Then the secret is read again, forced past Powertools' cache
    assert value["x_bearer_token"] == "rotated"
    assert secret.reads == [False, True]
    # And the value read is kept for the hour again
    clock.now += 5 * 60
    credentials.get()
    assert secret.reads == [False, True]


def test_a_failed_read_is_not_kept_and_the_next_run_tries_again(
    credentials: SourceCredentials, secret: Secret, clock: Clock
) -> None:
    # Given Secrets Manager failing on the first read
    secret.failing = True
    with pytest.raises(ConfigurationError):
        credentials.get()
    # When it answers again by the next run
    secret.failing = False
    clock.now += 5 * 60
    # Then that run reads it
    assert credentials.get()["x_bearer_token"] == "first"
    assert secret.reads == [False, False]


def test_a_clock_set_back_does_not_keep_the_value_forever(
    credentials: SourceCredentials, secret: Secret, clock: Clock
) -> None:
    # Given credentials read, then the wall clock stepped back a day
    credentials.get()
    clock.now -= 24 * HOUR
    # When a run needs them
    credentials.get()
    # Then they are read again rather than trusted for a day and an hour
    assert secret.reads == [False, False]
