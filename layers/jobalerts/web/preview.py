"""Search previews: `POST /api/preview` (JSON), `POST /preview` (the landing page's Preview
button) and `POST /manage/preview?t=` (the manage page's, in the subscriber's timezone).

Nothing is written but the rate counters; the forms answer with the same page, the form kept
as typed and the preview below it, so it all works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobalerts import tokens
from jobalerts.errors import ConfigurationError
from jobalerts.preview import SearchPreviews
from jobalerts.requests import FieldError, PreviewRequest, parse
from jobalerts.schedule import zone_of
from jobalerts.web import pages
from jobalerts.web.common import Incoming, error_view, json_response, service
from jobalerts.web.site import manage_page_for

router = APIGatewayHttpRouter()
_installed: list[SearchPreviews] = []


def install(service: SearchPreviews) -> None:
    """Called through `web.app.install` with what `jobalerts.wiring` built; kept for the
    worker's life, since the window it holds in memory is the point of keeping it."""
    _installed[:] = [service]


def previews() -> SearchPreviews:
    if not _installed:
        raise ConfigurationError("web.preview.install() was not called: see jobalerts.wiring")
    return _installed[0]


def _in() -> Incoming:
    return Incoming(router.current_event)


@router.post("/api/preview")
def api_preview() -> Any:
    incoming = _in()
    request = incoming.json_as(PreviewRequest)
    result = previews().preview(request.query, client=incoming.client)
    return json_response(200, result.as_json())


@router.post("/preview")
def preview_form() -> Any:
    incoming = _in()
    incoming.same_origin()
    form = incoming.form()
    try:
        request = parse(PreviewRequest, form)
    except FieldError as exc:
        # The Preview button belongs to the sign-up form: its error shows there.
        error = error_view(exc, form, "subscribe")
        return pages.page("index.html", 400, form=form, error=error)
    result = previews().preview(request.query, client=incoming.client)
    return pages.page("index.html", form=form, error=None, preview=result.view())


@router.post("/manage/preview")
def manage_preview() -> Any:
    incoming = _in()
    incoming.same_origin()
    token = incoming.token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in incoming.form().items() if k in {"query", "channel", "frequency"}}
    try:
        request = parse(PreviewRequest, form)
    except FieldError as exc:
        return manage_page_for(
            subscriber, token, status=400, error=exc, form_name="search", form=form
        )
    result = previews().preview(request.query, client=incoming.client, zone=zone_of(subscriber))
    return manage_page_for(subscriber, token, form=form, preview=result.view())
