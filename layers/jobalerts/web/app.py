"""The subscriptions function's resolver: the routers it includes, and errors in one place.

Routes live in routers by concern: `web.api` (the JSON API), `web.site` (the landing page, its
forms and the pages behind emailed links), `web.preview` (trying a search before saving it) and
`web.feeds` (Atom feeds). Every error is turned into a response here, by the exception handlers
at the bottom: JSON for `/subscriptions` and `/api/*`, an HTML page for everything else. A
refused body arrives as the `FieldError` that `requests.parse` made of pydantic's
`ValidationError`: `{"error", "field", "column"}` with a 400.
"""

from __future__ import annotations

import copy
import traceback
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from jobalerts.errors import InvalidInput, InvalidToken, NotFound, RateLimited, Throttled
from jobalerts.feeds import FeedService
from jobalerts.observability import logger
from jobalerts.preview import SearchPreviews
from jobalerts.requests import FieldError
from jobalerts.subscriptions import SubscriptionService
from jobalerts.web import api, common, feeds, pages, preview, site
from jobalerts.web.common import UnsupportedMediaType, is_api, json_response

app = APIGatewayHttpResolver()
app.include_router(site.router)
app.include_router(api.router)
app.include_router(preview.router)
app.include_router(feeds.router)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's entry point: HEAD is answered as GET without a body, as HTTP says."""
    http = (event.get("requestContext") or {}).get("http") or {}
    if str(http.get("method", "")).upper() != "HEAD":
        return app.resolve(event, context)
    as_get = copy.deepcopy(event)
    as_get["requestContext"]["http"]["method"] = "GET"
    response = app.resolve(as_get, context)
    response["body"] = ""
    response["isBase64Encoded"] = False
    return response


def install(
    subscriptions: SubscriptionService, feed_service: FeedService, previews: SearchPreviews
) -> None:
    """The handler gives the routers the services `jobalerts.wiring` built, once per cold start."""
    common.install(subscriptions)
    feeds.install(feed_service)
    preview.install(previews)


# ---------------------------------------------------------------- errors, in one place


@app.not_found
def not_found(_: Exception) -> Any:
    allowed = _methods_for(app.current_event.path)
    if allowed:
        headers = {"Allow": ", ".join(allowed)}
        if is_api(app.current_event.path):
            return json_response(405, {"error": "method not allowed"}, headers=headers)
        response = pages.notice(405, "Not allowed", "This page does not take that kind of request.")
        response.headers.update(headers)
        return response
    if is_api(app.current_event.path):
        return json_response(404, {"error": "no such route"})
    return pages.notice(404, "Page not found", "There is nothing at this address.")


@app.exception_handler(FieldError)
def field_error(exc: FieldError) -> Any:
    if is_api(app.current_event.path):
        return json_response(400, exc.as_json())
    return pages.notice(400, "That did not work", exc.message)


@app.exception_handler(InvalidToken)
def invalid_token(exc: InvalidToken) -> Any:
    logger.info("refused token", path=_route_name())
    if is_api(app.current_event.path):
        return json_response(
            401, {"error": str(exc)}, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return pages.notice(
        403,
        "This link does not work",
        f"{str(exc).capitalize()}. Links we send expire; use the newest one, "
        "or subscribe again to get a fresh link.",
    )


@app.exception_handler(NotFound)
def not_found_error(_: NotFound) -> Any:
    if is_api(app.current_event.path):
        return json_response(404, {"error": "not found"})
    return pages.notice(404, "Not found", "This page is gone; it may have expired.")


@app.exception_handler(UnsupportedMediaType)
def unsupported_media_type(exc: UnsupportedMediaType) -> Any:
    return json_response(415, {"error": str(exc), "field": "content-type"})


@app.exception_handler(RateLimited)
def rate_limited(exc: RateLimited) -> Any:
    headers = {"Retry-After": str(exc.retry_after)}
    if is_api(app.current_event.path):
        return json_response(
            429, {"error": "too many requests, try again later", "field": "rate"}, headers=headers
        )
    response = pages.notice(429, "Too many requests", "Please try again later.")
    response.headers.update(headers)
    return response


@app.exception_handler(Throttled)
def throttled(_: Throttled) -> Any:
    headers = {"Retry-After": "30"}
    if is_api(app.current_event.path):
        return json_response(503, {"error": "busy, try again shortly"}, headers=headers)
    response = pages.notice(503, "Busy", "Please try again in a moment.")
    response.headers.update(headers)
    return response


@app.exception_handler(InvalidInput)
def invalid_input(exc: InvalidInput) -> Any:
    if is_api(app.current_event.path):
        return json_response(400, {"error": str(exc)})
    return pages.notice(400, "That did not work", str(exc))


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Any:
    # The message of an AWS error can quote an address: log the type and the frames only.
    logger.error(
        "unhandled error",
        path=_route_name(),
        error=type(exc).__name__,
        frames=traceback.format_tb(exc.__traceback__)[-5:],
    )
    if is_api(app.current_event.path):
        return json_response(500, {"error": "something went wrong on our side"})
    return pages.notice(500, "Something went wrong", "Please try again later.")


def _methods_for(path: str) -> list[str]:
    """Methods some route takes at `path` (for 405 and `Allow`); HEAD wherever GET is."""
    # Powertools keeps its route table private; tests of 405 fail loudly if it moves.
    routes = app._static_routes + app._dynamic_routes
    methods = {route.method for route in routes if route.rule.match(path)}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _route_name() -> str:
    """The path without its variable parts (ids) or query string (tokens)."""
    path = app.current_event.path
    for prefix in (
        "/manage/searches/",
        "/api/searches/",
        "/api/mutes/",
        "/digests/",
        "/d/",
        "/c/",
        "/m/",
        "/feeds/",
    ):
        if path.startswith(prefix):
            return prefix + "*"
    return path
