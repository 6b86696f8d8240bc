"""Retrying: one backoff rule and one list of AWS throttling error codes for every caller.

A throttled call is retried by whoever made it (a source fetch, a digest send, a queue send, a
DynamoDB batch), each with its own budget of attempts and time; what they share is how long to
wait and what counts as "throttled".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from botocore.exceptions import ClientError

# Every service spells it differently: DynamoDB (ProvisionedThroughputExceeded, RequestLimit
# Exceeded, and TransactionConflict, a lost race that clears on retry), SNS ("Throttled" on the
# wire), SESv2 (TooManyRequests; LimitExceeded is the sending-rate or daily quota), SQS.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "Throttled",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestThrottled",
        "AWS.SimpleQueueService.RequestThrottled",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_throttling(error: ClientError) -> bool:
    """The service asked us to slow down: worth retrying after a pause."""
    return error_code(error) in THROTTLING_CODES


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped: retries from many callers spread out
    instead of arriving together, and no single wait outgrows `cap_seconds`."""

    attempts: int = 5
    base_seconds: float = 0.25
    cap_seconds: float = 4.0

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number `attempt` (0 = the first retry)."""
        return min(self.cap_seconds, self.base_seconds * 2**attempt)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        return (rng or random).uniform(0, self.ceiling(attempt))
