"""The few domain errors that AWS error codes and bad input are translated into."""

from __future__ import annotations


class JobAlertsError(Exception):
    """Base for every error the service raises on purpose."""


class NotFound(JobAlertsError):
    pass


class Unavailable(JobAlertsError):
    """Infrastructure we depend on is missing or failing (a table that does not exist yet, an
    outage). Never "not found": the caller raises, so Lambda retries and nothing is discarded."""


class AlreadyExists(JobAlertsError):
    pass


class Conflict(JobAlertsError):
    """A conditional write lost a race or found the item in an unexpected state."""


class Throttled(JobAlertsError):
    """AWS asked us to slow down; the caller should retry later."""


class InvalidInput(JobAlertsError):
    """Input the user can fix; the message is safe to show them."""


class RateLimited(JobAlertsError):
    """Too many requests from this client, to this destination, or overall."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests")
        self.retry_after = retry_after


class InvalidToken(JobAlertsError):
    pass


class ConfigurationError(JobAlertsError):
    """A missing credential or setting: a one-line error for an operator."""
