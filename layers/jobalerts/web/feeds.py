"""`GET /feeds/<code>`: the Atom feed of one saved search (jobalerts.feeds does the work).

A router of its own, included by `web.app`, whose exception handlers turn a bad code into 403
and a deleted search or departed subscriber into 404.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobalerts.errors import ConfigurationError
from jobalerts.feeds import FeedService

router = APIGatewayHttpRouter()
_installed: list[FeedService] = []


def install(service: FeedService) -> None:
    """Called through `web.app.install` with what `jobalerts.wiring` built."""
    _installed[:] = [service]


def feeds() -> FeedService:
    if not _installed:
        raise ConfigurationError("web.feeds.install() was not called: see jobalerts.wiring")
    return _installed[0]


def _header(name: str) -> str | None:
    for key, value in (router.current_event.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


@router.get("/feeds/<code>")
def feed(code: str) -> Any:
    answer = feeds().respond(
        code,
        if_none_match=_header("if-none-match"),
        if_modified_since=_header("if-modified-since"),
    )
    headers = dict(answer.headers)
    content_type = headers.pop("Content-Type", None)
    return Response(
        status_code=answer.status, content_type=content_type, body=answer.body, headers=headers
    )
