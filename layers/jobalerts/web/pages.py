"""Jinja2 pages (autoescaped) and the headers every response of ours carries."""

from __future__ import annotations

from importlib import resources
from typing import Any
from zoneinfo import available_timezones

from aws_lambda_powertools.event_handler import Response
from jinja2 import Environment, PackageLoader, select_autoescape

# One script of our own (the timezone preselection), no inline script, no images, no frames;
# forms post only back to us. Styles are inline in <style>.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    # Tokens sit in URLs: no other site gets them as a referrer. Not "no-referrer": with it,
    # browsers send `Origin: null` on our own form posts, which the forms must refuse.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages carry signed tokens: never cache them anywhere.
    "Cache-Control": "no-store",
}
HTML = "text/html; charset=utf-8"
JSON = "application/json"

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

_env = Environment(
    loader=PackageLoader("jobalerts", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["weekdays"] = WEEKDAYS
# The zones the timezone field accepts, for its <select>: the same set `valid_timezone` checks.
_env.globals["timezones"] = sorted(available_timezones() | {"UTC"})
TIMEZONE_SCRIPT = (
    resources.files("jobalerts").joinpath("templates/static/timezone.js").read_text("utf-8")
)


def static_script() -> Response[str]:
    """The timezone script: the same for everyone, so it may be cached (pages may not)."""
    return Response(
        status_code=200,
        content_type="text/javascript; charset=utf-8",
        body=TIMEZONE_SCRIPT,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"},
    )


def render(name: str, **context: Any) -> str:
    return _env.get_template(f"web/{name}").render(**context)


def page(name: str, status: int = 200, **context: Any) -> Response[str]:
    return html_response(render(name, **context), status)


def html_response(body: str, status: int = 200) -> Response[str]:
    return Response(
        status_code=status, content_type=HTML, body=body, headers=dict(SECURITY_HEADERS)
    )


def notice(status: int, title: str, message: str) -> Response[str]:
    """A plain page for outcomes and errors: unsubscribed, link expired, not found.

    A refusal's title starts with "Error:" (the base template), the first thing a screen
    reader announces."""
    return page("notice.html", status, title=title, message=message, error=status >= 400)


def redirect(location: str) -> Response[str]:
    """303: after a form POST the browser GETs the next page (no resubmission on reload)."""
    return Response(
        status_code=303,
        content_type=HTML,
        body="",
        headers={**SECURITY_HEADERS, "Location": location},
    )


def query_with_marker(query: str, column: int | None) -> tuple[str, str, str] | None:
    """Split a query around the (1-based) column of an error, for a marked-up echo."""
    if column is None or not query:
        return None
    index = max(0, min(column - 1, len(query)))
    return query[:index], query[index : index + 1] or " ", query[index + 1 :]
