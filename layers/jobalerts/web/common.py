"""What every router of the subscriptions function shares: reading a request safely, and the
service behind the routes.

Hostile input never costs a 500: bodies are bounded in size and nesting, must be UTF-8 and real
text (no lone surrogates), and are turned into the pydantic models of `jobalerts.requests`
(through `requests.parse`, the one place a `ValidationError` becomes a `FieldError`) before
anything is written or sent.

CSRF: no cookies are used at all. Every state-changing request is a POST (or an API verb) that
carries a signed token another site cannot know; forms refuse a foreign or `null` `Origin`, and
JSON routes accept only `application/json` (a cross-site form cannot send it).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from jobalerts import tokens
from jobalerts.errors import ConfigurationError, InvalidToken, JobAlertsError
from jobalerts.models import Subscriber
from jobalerts.requests import FieldError, is_encodable, parse
from jobalerts.subscriptions import SubscriptionService
from jobalerts.web import pages

# Nobody sends a sign-up or a search in more than this; anything bigger is refused unread.
MAX_BODY_BYTES = 16_384
# Every JSON body we accept is a flat object; the decoder recurses once per level.
MAX_JSON_DEPTH = 8

Model = TypeVar("Model", bound=BaseModel)


class UnsupportedMediaType(JobAlertsError):
    """A JSON route was sent something else (a cross-site form can only send text/plain)."""


_installed: list[SubscriptionService] = []


def install(subscriptions: SubscriptionService) -> None:
    """Called through `web.app.install` with what `jobalerts.wiring` built."""
    _installed[:] = [subscriptions]


def service() -> SubscriptionService:
    if not _installed:
        raise ConfigurationError("web.app.install() was not called: see jobalerts.wiring")
    return _installed[0]


def countries() -> frozenset[str]:
    """Validation context of the bodies with a phone number: where texts may go."""
    return service().settings.sms_country_set


def json_response(status: int, data: Any = None, headers: dict[str, str] | None = None) -> Any:
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


def is_api(path: str) -> bool:
    return path == "/subscriptions" or path.startswith("/api/")


class Incoming:
    """One request as the routes read it."""

    def __init__(self, event: APIGatewayProxyEventV2) -> None:
        self.event = event

    def header(self, name: str) -> str | None:
        for key, value in (self.event.headers or {}).items():
            if key.lower() == name:
                return str(value)
        return None

    @property
    def client(self) -> str:
        """The caller's address as API Gateway saw it (never from a header a client can set)."""
        http = (self.event.raw_event.get("requestContext") or {}).get("http") or {}
        return str(http.get("sourceIp") or "unknown")

    def param(self, name: str) -> str:
        params = self.event.query_string_parameters or {}
        return str(params.get(name) or "")

    def token(self) -> str:
        """The signed token of a link (`?t=`)."""
        token = self.param("t")
        if not token:
            raise InvalidToken("this link is incomplete")
        return token

    def bearer(self) -> str:
        scheme, _, token = (self.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("send Authorization: Bearer <manage token>")
        return token.strip()

    def api_subscriber(self) -> Subscriber:
        return service().subscriber_for(self.bearer(), tokens.MANAGE)

    def text(self) -> str:
        raw = self.event.get("body") or ""
        if len(raw) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise FieldError(f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
        try:
            text = self.event.decoded_body or ""
        except (UnicodeDecodeError, ValueError):
            raise FieldError("the body is not UTF-8 text", "body") from None
        if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            raise FieldError(f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
        return text

    def json(self) -> Any:
        media_type = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType("send Content-Type: application/json")
        text = self.text()
        if _nesting(text) > MAX_JSON_DEPTH:
            raise FieldError("the body is nested too deeply", "body")
        try:
            data = json.loads(text or "null")
        except ValueError:
            raise FieldError("the body is not valid JSON", "body") from None
        _reject_unencodable(data)
        return data

    def json_as(self, model: type[Model], **context: Any) -> Model:
        return parse(model, self.json(), **context)

    def form(self) -> dict[str, str]:
        try:
            form = dict(parse_qsl(self.text(), keep_blank_values=True, max_num_fields=50))
        except ValueError:
            raise FieldError("the form has too many fields", "body") from None
        _reject_unencodable(form)
        return form

    def same_origin(self) -> None:
        """Browsers send Origin on cross-site POSTs; a foreign one never reaches a form action."""
        origin = self.header("origin")
        if origin is None:
            # Not a browser (curl, a script): there is no cross-site request to defend against.
            return
        if origin == "null":
            # An opaque origin: a sandboxed frame, a data: URL, a file. Never one of our pages,
            # which send their real origin (Referrer-Policy: same-origin).
            raise InvalidToken("this form was not sent from our site")
        allowed = {_origin_of(service().settings.public_base_url)}
        host = self.header("host")
        if host:
            allowed |= {f"https://{host}", f"http://{host}"}
        if origin.rstrip("/") not in allowed:
            raise InvalidToken("this form was sent from another site")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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


def error_view(error: FieldError, form: dict[str, str], form_name: str) -> dict[str, Any]:
    """A refused form, for the page that shows it again: the field, and the query marked."""
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
