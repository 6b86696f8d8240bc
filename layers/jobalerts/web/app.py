"""Routes of the subscriptions function: the JSON API and the pages behind emailed links.

Errors are turned into responses in one place (the exception handlers at the bottom): JSON for
`/subscriptions` and `/api/*`, an HTML page for everything else.

CSRF: no cookies are used at all. Every state-changing request is a POST (or an API verb) that
carries a signed token another site cannot know; forms refuse a foreign or `null` `Origin`, and
JSON routes accept only `application/json` (a cross-site form cannot send it).

Hostile input never costs a 500: bodies are bounded in size and nesting, must be UTF-8 and real
text (no lone surrogates), and everything is validated before anything is written or sent.
"""

from __future__ import annotations

import contextlib
import copy
import json
import traceback
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from jobalerts import tokens
from jobalerts.errors import (
    ConfigurationError,
    InvalidInput,
    InvalidToken,
    JobAlertsError,
    NotFound,
    Throttled,
)
from jobalerts.feeds import FeedService
from jobalerts.models import SavedSearch, Subscriber, author_key
from jobalerts.observability import logger
from jobalerts.store.signups import Signup
from jobalerts.subscriptions import FieldError, RateLimited, SubscriptionService, is_encodable
from jobalerts.web import feeds, pages

app = APIGatewayHttpResolver()
app.include_router(feeds.router)

# Nobody sends a sign-up or a search in more than this; anything bigger is refused unread.
MAX_BODY_BYTES = 16_384
# Every JSON body we accept is a flat object; the decoder recurses once per level.
MAX_JSON_DEPTH = 8


class UnsupportedMediaType(JobAlertsError):
    """A JSON route was sent something else (a cross-site form can only send text/plain)."""


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


_installed: list[SubscriptionService] = []


def install(subscriptions: SubscriptionService, feed_service: FeedService) -> None:
    """The handler gives the routes the services `jobalerts.wiring` built, once per cold start."""
    _installed[:] = [subscriptions]
    feeds.install(feed_service)


def service() -> SubscriptionService:
    if not _installed:
        raise ConfigurationError("web.app.install() was not called: see jobalerts.wiring")
    return _installed[0]


# ---------------------------------------------------------------- request helpers


def _json_response(status: int, data: Any = None, headers: dict[str, str] | None = None) -> Any:
    return Response(
        status_code=status,
        content_type=pages.JSON,
        body=json.dumps(data) if data is not None else "",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )


def _is_api(path: str) -> bool:
    return path == "/subscriptions" or path.startswith("/api/")


def _body_text() -> str:
    event = app.current_event
    raw = event.get("body") or ""
    if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise FieldError(f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
    try:
        text = event.decoded_body or ""
    except (UnicodeDecodeError, ValueError):
        raise FieldError("the body is not UTF-8 text", "body") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise FieldError(f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
    return text


def _json_body() -> Any:
    media_type = (_header("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send Content-Type: application/json")
    text = _body_text()
    if _nesting(text) > MAX_JSON_DEPTH:
        raise FieldError("the body is nested too deeply", "body")
    try:
        data = json.loads(text or "null")
    except ValueError:
        raise FieldError("the body is not valid JSON", "body") from None
    _reject_unencodable(data)
    return data


def _nesting(text: str) -> int:
    """How deep brackets nest, outside strings: checked before the recursive decoder runs."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _reject_unencodable(data: Any, field: str = "body") -> None:
    """JSON can spell a lone surrogate (\\ud800); it is no text anyone typed, and it cannot be
    stored or sent, so it is refused here, naming the field, before anything is written."""
    if isinstance(data, str):
        if not is_encodable(data):
            raise FieldError(f"{field} contains characters that are not text", field)
    elif isinstance(data, dict):
        for key, value in data.items():
            name = key if is_encodable(key) and len(key) <= 40 else "body"
            _reject_unencodable(key, name)
            _reject_unencodable(value, name)
    elif isinstance(data, list):
        for value in data:
            _reject_unencodable(value, field)


def _form() -> dict[str, str]:
    try:
        form = dict(parse_qsl(_body_text(), keep_blank_values=True, max_num_fields=50))
    except ValueError:
        raise FieldError("the form has too many fields", "body") from None
    _reject_unencodable(form)
    return form


def _client() -> str:
    """The caller's address as API Gateway saw it (never from a header a client can set)."""
    http = (app.current_event.raw_event.get("requestContext") or {}).get("http") or {}
    return str(http.get("sourceIp") or "unknown")


def _header(name: str) -> str | None:
    for key, value in (app.current_event.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _query_token() -> str:
    params = app.current_event.query_string_parameters or {}
    token = params.get("t") or ""
    if not token:
        raise InvalidToken("this link is incomplete")
    return str(token)


def _bearer() -> str:
    scheme, _, token = (_header("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send Authorization: Bearer <manage token>")
    return token.strip()


def _api_subscriber() -> Subscriber:
    return service().subscriber_for(_bearer(), tokens.MANAGE)


def _same_origin() -> None:
    """Browsers send Origin on cross-site POSTs; a foreign one never reaches a form action."""
    origin = _header("origin")
    if origin is None:
        # Not a browser (curl, a script): there is no cross-site request to defend against.
        return
    if origin == "null":
        # An opaque origin: a sandboxed frame, a data: URL, a file. Never one of our pages,
        # which send their real origin (Referrer-Policy: same-origin).
        raise InvalidToken("this form was not sent from our site")
    allowed = {_origin_of(service().settings.public_base_url)}
    host = _header("host")
    if host:
        allowed |= {f"https://{host}", f"http://{host}"}
    if origin.rstrip("/") not in allowed:
        raise InvalidToken("this form was sent from another site")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _search_json(search: SavedSearch) -> dict[str, Any]:
    return search.model_dump(
        mode="json",
        include={"search_id", "query", "channel", "frequency", "created_at"},
    )


def _subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return subscriber.model_dump(mode="json")


# ---------------------------------------------------------------- landing page and sign-up form


def _error_view(error: FieldError, form: dict[str, str], form_name: str) -> dict[str, Any]:
    marked = None
    if error.field == "query":
        marked = pages.query_with_marker(form.get("query", ""), error.column)
    return {
        "form": form_name,
        "field": error.field,
        "message": error.message,
        "column": error.column,
        "marked": marked,
    }


@app.get("/")
def landing_page() -> Any:
    return pages.page("index.html", form={}, error=None)


@app.get("/static/timezone.js")
def timezone_script() -> Any:
    return pages.static_script()


@app.post("/subscribe")
def subscribe_form() -> Any:
    _same_origin()
    form = _form()
    try:
        service().subscribe(form, client=_client())
    except FieldError as exc:
        error = _error_view(exc, form, "subscribe")
        return pages.page("index.html", 400, form=form, error=error)
    # The same page whether the address is new, pending or already subscribed.
    return pages.notice(
        200,
        "Check your inbox or phone",
        "We sent a confirmation link. Nothing is sent until you confirm it; "
        "if nothing arrives within a few minutes, check the address and try again.",
    )


# ---------------------------------------------------------------- subscribe (JSON)


@app.post("/subscriptions")
def subscribe() -> Any:
    service().subscribe(_json_body(), client=_client())
    # The same answer whether the address is new, pending or already subscribed.
    return _json_response(
        202,
        {"status": "pending", "message": "check your inbox or phone for a confirmation link"},
    )


# ---------------------------------------------------------------- confirm (pages)


def _confirm_page(signup: Signup, action: str) -> Any:
    # Says what is being confirmed: the link may come from a request someone else made.
    return pages.page("confirm.html", action=action, signup=signup)


def _after_confirm(subscriber: Subscriber) -> Any:
    manage = service().manage_token(subscriber.subscriber_id)
    return pages.redirect(f"/manage?{urlencode({'t': manage, 'confirmed': '1'})}")


@app.get("/confirm")
def confirm_page() -> Any:
    token = _query_token()
    # Only check the link here: mail scanners prefetch GETs, so confirming waits for the POST.
    signup = service().pending_signup(token)
    return _confirm_page(signup, f"/confirm?{urlencode({'t': token})}")


@app.post("/confirm")
def confirm() -> Any:
    return _after_confirm(service().confirm(_query_token()))


@app.get("/c/<code>")
def short_confirm_page(code: str) -> Any:
    # The short link texts carry; like /confirm, a GET only shows the button.
    signup = service().pending_signup_code(code)
    return _confirm_page(signup, f"/c/{quote(code, safe='')}")


@app.post("/c/<code>")
def short_confirm(code: str) -> Any:
    return _after_confirm(service().confirm_code(code))


@app.get("/m/<code>")
def short_manage(code: str) -> Any:
    # Texts carry this short form of the manage link; the page itself lives at /manage?t=.
    subscriber = service().subscriber_for_code(code, tokens.MANAGE)
    manage = service().manage_token(subscriber.subscriber_id)
    return pages.redirect(f"/manage?{urlencode({'t': manage})}")


# ---------------------------------------------------------------- manage (pages)


def _manage_page(
    subscriber: Subscriber,
    token: str,
    *,
    status: int = 200,
    error: FieldError | None = None,
    form_name: str = "",
    form: dict[str, str] | None = None,
    notice: str = "",
) -> Any:
    svc = service()
    form = form or {}
    error_view = _error_view(error, form, form_name) if error is not None else None
    return pages.page(
        "manage.html",
        status,
        subscriber=subscriber,
        searches=svc.list_searches(subscriber.subscriber_id),
        token=token,
        unsubscribe_token=svc.unsubscribe_token(subscriber.subscriber_id),
        error=error_view,
        form=form,
        notice=notice,
    )


@app.get("/manage")
def manage_page() -> Any:
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    params = app.current_event.query_string_parameters or {}
    notice = "Subscription confirmed: your alerts are on." if params.get("confirmed") else ""
    return _manage_page(subscriber, token, notice=notice)


@app.post("/manage/searches")
def manage_add_search() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _form()
    try:
        service().add_search(subscriber.subscriber_id, form)
    except FieldError as exc:
        return _manage_page(subscriber, token, status=400, error=exc, form_name="search", form=form)
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@app.post("/manage/channels")
def manage_add_channel() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _form().items() if k in {"email", "phone"} and v.strip()}
    try:
        channel = service().request_channel(subscriber.subscriber_id, form, client=_client())
    except FieldError as exc:
        return _manage_page(
            subscriber, token, status=400, error=exc, form_name="channel", form=form
        )
    where = "inbox" if channel.value == "email" else "phone"
    return _manage_page(
        subscriber,
        token,
        notice=f"We sent a link to confirm it: check that {where}. Nothing is sent there before.",
    )


@app.post("/manage/searches/<search_id>/delete")
def manage_delete_search(search_id: str) -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    # Deleted already (a double click, a second tab): the page shows the truth either way.
    with contextlib.suppress(NotFound):
        service().delete_search(subscriber.subscriber_id, search_id)
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@app.post("/manage/searches/<search_id>/edit")
def manage_edit_search(search_id: str) -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _form().items() if k in {"query", "channel", "frequency"}}
    try:
        service().edit_search(subscriber.subscriber_id, search_id, form)
    except FieldError as exc:
        return _manage_page(
            subscriber, token, status=400, error=exc, form_name=f"edit-{search_id}", form=form
        )
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@app.post("/manage/settings")
def manage_settings() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _form()
    try:
        service().update_settings(subscriber.subscriber_id, form)
    except FieldError as exc:
        return _manage_page(subscriber, token, status=400, error=exc, form_name="settings")
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


# ---------------------------------------------------------------- pause (link in every digest)


def _pause_page(token: str, subscriber: Subscriber, status: int = 200) -> Any:
    query = urlencode({"t": token})
    return pages.page(
        "pause.html",
        status,
        subscriber=subscriber,
        pause_action=f"/pause?{query}",
        resume_action=f"/pause/resume?{query}",
    )


@app.get("/pause")
def pause_page() -> Any:
    # Only shows the choices: mail scanners prefetch GETs, so pausing waits for the POST.
    token = _query_token()
    return _pause_page(token, service().subscriber_for(token, tokens.PAUSE))


@app.post("/pause")
def pause_from_link() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.PAUSE)
    paused = service().pause(subscriber.subscriber_id, _form())
    return _pause_page(token, paused)


@app.post("/pause/resume")
def resume_from_link() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.PAUSE)
    return _pause_page(token, service().resume(subscriber.subscriber_id))


@app.post("/manage/pause")
def manage_pause() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _form()
    try:
        service().pause(subscriber.subscriber_id, form)
    except FieldError as exc:
        return _manage_page(subscriber, token, status=400, error=exc, form_name="pause")
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@app.post("/manage/resume")
def manage_resume() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    service().resume(subscriber.subscriber_id)
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


# ---------------------------------------------------------------- mute (a link on every digest item)


def _mute_page(token: str, handle: str, subscriber: Subscriber, *, done: bool = False) -> Any:
    query = urlencode({"t": token})
    return pages.page(
        "mute.html",
        handle=handle if handle.startswith("@") else f"@{handle}",
        muted=author_key(handle) in subscriber.muted,
        done=done,
        mute_action=f"/mute?{query}",
        undo_action=f"/mute/undo?{query}",
    )


@app.get("/mute")
def mute_page() -> Any:
    # Only asks: mail scanners prefetch GETs, so muting waits for the POST.
    token = _query_token()
    subscriber, handle = service().muted_account(token)
    return _mute_page(token, handle, subscriber)


@app.post("/mute")
def mute_from_link() -> Any:
    _same_origin()
    token = _query_token()
    subscriber, handle = service().muted_account(token)
    return _mute_page(token, handle, service().mute(subscriber.subscriber_id, handle), done=True)


@app.post("/mute/undo")
def unmute_from_link() -> Any:
    _same_origin()
    token = _query_token()
    subscriber, handle = service().muted_account(token)
    updated = service().unmute(subscriber.subscriber_id, {"account": handle})
    return _mute_page(token, handle, updated, done=True)


@app.post("/manage/mutes/undo")
def manage_unmute() -> Any:
    _same_origin()
    token = _query_token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _form().items() if k == "account"}
    try:
        service().unmute(subscriber.subscriber_id, form)
    except FieldError as exc:
        return _manage_page(subscriber, token, status=400, error=exc, form_name="mutes")
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


# ---------------------------------------------------------------- unsubscribe


@app.get("/unsubscribe")
def unsubscribe_page() -> Any:
    token = _query_token()
    service().subscriber_for(token, tokens.UNSUBSCRIBE)
    return pages.page("unsubscribe.html", token=token)


@app.post("/unsubscribe")
def unsubscribe() -> Any:
    # RFC 8058 one-click: mailbox providers POST `List-Unsubscribe=One-Click` with no login.
    # Any POST with a valid token unsubscribes, whatever the body; doing it twice is harmless.
    service().unsubscribe(_query_token())
    return pages.notice(
        200, "You are unsubscribed", "You will get no more emails or text messages from us."
    )


# ---------------------------------------------------------------- digest web view


@app.get("/digests/<digest_id>")
def digest_view(digest_id: str) -> Any:
    html = service().digest_html(digest_id, _query_token())
    return pages.html_response(html)


@app.get("/d/<code>")
def short_digest_view(code: str) -> Any:
    # The short link texts carry: the signed code is the whole path, no query string.
    return pages.html_response(service().short_digest_html(code))


# ---------------------------------------------------------------- JSON API (bearer manage token)


@app.get("/api/searches")
def api_list_searches() -> Any:
    subscriber = _api_subscriber()
    searches = service().list_searches(subscriber.subscriber_id)
    return _json_response(200, {"searches": [_search_json(s) for s in searches]})


@app.post("/api/searches")
def api_add_search() -> Any:
    subscriber = _api_subscriber()
    search = service().add_search(subscriber.subscriber_id, _json_body())
    return _json_response(201, _search_json(search))


@app.patch("/api/searches/<search_id>")
def api_edit_search(search_id: str) -> Any:
    subscriber = _api_subscriber()
    search = service().edit_search(subscriber.subscriber_id, search_id, _json_body())
    return _json_response(200, _search_json(search))


@app.delete("/api/searches/<search_id>")
def api_delete_search(search_id: str) -> Any:
    subscriber = _api_subscriber()
    service().delete_search(subscriber.subscriber_id, search_id)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@app.post("/api/channels")
def api_add_channel() -> Any:
    subscriber = _api_subscriber()
    service().request_channel(subscriber.subscriber_id, _json_body(), client=_client())
    return _json_response(
        202, {"status": "pending", "message": "confirm it from the link we sent to it"}
    )


@app.get("/api/subscriber")
def api_get_subscriber() -> Any:
    return _json_response(200, _subscriber_json(_api_subscriber()))


@app.patch("/api/subscriber")
def api_update_subscriber() -> Any:
    subscriber = _api_subscriber()
    updated = service().update_settings(subscriber.subscriber_id, _json_body())
    return _json_response(200, _subscriber_json(updated))


@app.post("/api/pause")
def api_pause() -> Any:
    subscriber = _api_subscriber()
    return _json_response(
        200, _subscriber_json(service().pause(subscriber.subscriber_id, _json_body()))
    )


@app.delete("/api/mutes/<account>")
def api_unmute(account: str) -> Any:
    subscriber = _api_subscriber()
    updated = service().unmute(subscriber.subscriber_id, {"account": account})
    return _json_response(200, _subscriber_json(updated))


@app.post("/api/resume")
def api_resume() -> Any:
    subscriber = _api_subscriber()
    return _json_response(200, _subscriber_json(service().resume(subscriber.subscriber_id)))


# ---------------------------------------------------------------- errors, in one place


@app.not_found
def not_found(_: Exception) -> Any:
    allowed = _methods_for(app.current_event.path)
    if allowed:
        headers = {"Allow": ", ".join(allowed)}
        if _is_api(app.current_event.path):
            return _json_response(405, {"error": "method not allowed"}, headers=headers)
        response = pages.notice(405, "Not allowed", "This page does not take that kind of request.")
        response.headers.update(headers)
        return response
    if _is_api(app.current_event.path):
        return _json_response(404, {"error": "no such route"})
    return pages.notice(404, "Page not found", "There is nothing at this address.")


@app.exception_handler(FieldError)
def field_error(exc: FieldError) -> Any:
    if _is_api(app.current_event.path):
        return _json_response(400, exc.as_json())
    return pages.notice(400, "That did not work", exc.message)


@app.exception_handler(InvalidToken)
def invalid_token(exc: InvalidToken) -> Any:
    logger.info("refused token", path=_route_name())
    if _is_api(app.current_event.path):
        return _json_response(
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
    if _is_api(app.current_event.path):
        return _json_response(404, {"error": "not found"})
    return pages.notice(404, "Not found", "This page is gone; it may have expired.")


@app.exception_handler(UnsupportedMediaType)
def unsupported_media_type(exc: UnsupportedMediaType) -> Any:
    return _json_response(415, {"error": str(exc), "field": "content-type"})


@app.exception_handler(RateLimited)
def rate_limited(exc: RateLimited) -> Any:
    headers = {"Retry-After": str(exc.retry_after)}
    if _is_api(app.current_event.path):
        return _json_response(
            429, {"error": "too many requests, try again later", "field": "rate"}, headers=headers
        )
    response = pages.notice(429, "Too many requests", "Please try again later.")
    response.headers.update(headers)
    return response


@app.exception_handler(Throttled)
def throttled(_: Throttled) -> Any:
    headers = {"Retry-After": "30"}
    if _is_api(app.current_event.path):
        return _json_response(503, {"error": "busy, try again shortly"}, headers=headers)
    response = pages.notice(503, "Busy", "Please try again in a moment.")
    response.headers.update(headers)
    return response


@app.exception_handler(InvalidInput)
def invalid_input(exc: InvalidInput) -> Any:
    if _is_api(app.current_event.path):
        return _json_response(400, {"error": str(exc)})
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
    if _is_api(app.current_event.path):
        return _json_response(500, {"error": "something went wrong on our side"})
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
