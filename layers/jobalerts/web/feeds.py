"""`GET /feeds/<code>`: the Atom feed of one saved search (jobalerts.feeds does the work).

A router of its own, included by `web.app`, whose exception handlers turn a bad code into 403
and a deleted search or departed subscriber into 404.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobalerts.feeds import FeedService
from jobalerts.settings import get_settings

router = APIGatewayHttpRouter()
_built: list[FeedService] = []


def feeds() -> FeedService:
    """One per warm worker, rebuilt when the settings are reloaded (local runs, tests)."""
    settings = get_settings()
    if not _built or _built[0].settings is not settings:
        _built[:] = [FeedService(settings=settings)]
    return _built[0]


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
