"""The one way sources call HTTP APIs: bounded retries, 429 as an exception, JSON checked."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from jobalerts.observability import logger
from jobalerts.retry import Backoff
from jobalerts.sources.base import BadResponse, RateLimited, SourceError, Unavailable

Sleep = Callable[[float], None]

MAX_BACKOFF_SECONDS = 8.0
# Header names the three APIs use for "when the window resets" (X, Mastodon, Bluesky).
_RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")


class HttpStatusError(SourceError):
    """A 4xx other than 429: retrying will not help (bad token, bad query)."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"http {status} from {url}")
        self.status = status


def reset_at(headers: Mapping[str, str], now: datetime | None = None) -> datetime | None:
    """When a 429 window ends: epoch seconds, ISO-8601, or Retry-After seconds."""
    now = now or datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _RESET_HEADERS:
        value = lowered.get(name, "").strip()
        if not value:
            continue
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after.isdigit():
        return now + timedelta(seconds=int(retry_after))
    return None


def fetch(
    client: httpx.Client,
    method: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    json_body: Any = None,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> httpx.Response:
    """Send one request and return a 2xx response, whatever its body.

    5xx and timeouts are retried `retries` times, then Unavailable; a 429 is raised at once as
    RateLimited (the reset is minutes away, far longer than a run should wait); other 4xx are
    HttpStatusError.
    """
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    # A struggling API sees spread-out retries; the cap keeps a run short.
    waits = Backoff(attempts=retries + 1, base_seconds=backoff, cap_seconds=MAX_BACKOFF_SECONDS)
    last: str = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(waits.delay(attempt - 1))
        try:
            response = client.request(
                method, url, params=clean, headers=dict(headers or {}), json=json_body
            )
        except httpx.TransportError as exc:
            last = type(exc).__name__
            logger.warning("source request failed", url=url, error=last, attempt=attempt)
            continue
        if response.status_code == 429:
            raise RateLimited(reset_at(response.headers))
        if response.status_code >= 500:
            last = f"http {response.status_code}"
            logger.warning("source server error", url=url, status=response.status_code)
            continue
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, url)
        return response
    raise Unavailable(f"{url}: {last} after {retries + 1} attempts")


def send(
    client: httpx.Client,
    method: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    json_body: Any = None,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> tuple[dict[str, Any], httpx.Headers]:
    """`fetch`, then the body as a JSON object (BadResponse otherwise) and the headers."""
    response = fetch(
        client,
        method,
        url,
        params,
        headers,
        json_body=json_body,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
    )
    return _json_object(response, url), response.headers


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    json_body: Any = None,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    data, _ = send(
        client,
        method,
        url,
        params,
        headers,
        json_body=json_body,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
    )
    return data


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    retries: int = 3,
    backoff: float = 0.5,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    return request_json(
        client, "GET", url, params, headers, retries=retries, backoff=backoff, sleep=sleep
    )


def json_body(response: httpx.Response, url: str) -> Any:
    """The parsed body, or BadResponse (logged) for truncated or garbage JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("source sent bad json", url=url, size=len(response.content))
        raise BadResponse(f"{url}: not JSON") from exc


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    data = json_body(response, url)
    if not isinstance(data, dict):
        logger.warning("source sent unexpected json", url=url, kind=type(data).__name__)
        raise BadResponse(f"{url}: expected a JSON object")
    return data
