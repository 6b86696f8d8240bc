"""The pages: the landing page and its sign-up form, and the pages behind emailed links
(confirm, manage, pause, mute, unsubscribe, the digest web view).

Forms post back here; a refused form is shown again with its error next to the field (the
`FieldError` of `requests.parse`); other errors become pages in `web.app`.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote, urlencode

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobalerts import tokens
from jobalerts.errors import NotFound
from jobalerts.feeds import has_feeds
from jobalerts.models import Subscriber, author_key
from jobalerts.requests import (
    ChannelRequest,
    FieldError,
    PauseRequest,
    SearchChanges,
    SearchRequest,
    SettingsChanges,
    SubscribeRequest,
    UnmuteRequest,
    parse,
)
from jobalerts.store.signups import Signup
from jobalerts.web import pages
from jobalerts.web.common import Incoming, countries, error_view, service

router = APIGatewayHttpRouter()


def _in() -> Incoming:
    return Incoming(router.current_event)


# ---------------------------------------------------------------- landing page and sign-up form


@router.get("/")
def landing_page() -> Any:
    return pages.page("index.html", form={}, error=None)


@router.get("/static/timezone.js")
def timezone_script() -> Any:
    return pages.static_script()


@router.post("/subscribe")
def subscribe_form() -> Any:
    _in().same_origin()
    form = _in().form()
    try:
        service().subscribe(
            parse(SubscribeRequest, form, countries=countries()), client=_in().client
        )
    except FieldError as exc:
        error = error_view(exc, form, "subscribe")
        return pages.page("index.html", 400, form=form, error=error)
    # The same page whether the address is new, pending or already subscribed.
    return pages.notice(
        200,
        "Check your inbox or phone",
        "We sent a confirmation link. Nothing is sent until you confirm it; "
        "if nothing arrives within a few minutes, check the address and try again.",
    )


# ---------------------------------------------------------------- confirm (pages)


def _confirm_page(signup: Signup, action: str) -> Any:
    # Says what is being confirmed: the link may come from a request someone else made.
    return pages.page("confirm.html", action=action, signup=signup)


def _after_confirm(subscriber: Subscriber) -> Any:
    manage = service().manage_token(subscriber.subscriber_id)
    return pages.redirect(f"/manage?{urlencode({'t': manage, 'confirmed': '1'})}")


@router.get("/confirm")
def confirm_page() -> Any:
    token = _in().token()
    # Only check the link here: mail scanners prefetch GETs, so confirming waits for the POST.
    signup = service().pending_signup(token)
    return _confirm_page(signup, f"/confirm?{urlencode({'t': token})}")


@router.post("/confirm")
def confirm() -> Any:
    return _after_confirm(service().confirm(_in().token()))


@router.get("/c/<code>")
def short_confirm_page(code: str) -> Any:
    # The short link texts carry; like /confirm, a GET only shows the button.
    signup = service().pending_signup_code(code)
    return _confirm_page(signup, f"/c/{quote(code, safe='')}")


@router.post("/c/<code>")
def short_confirm(code: str) -> Any:
    return _after_confirm(service().confirm_code(code))


@router.get("/m/<code>")
def short_manage(code: str) -> Any:
    # Texts carry this short form of the manage link; the page itself lives at /manage?t=.
    subscriber = service().subscriber_for_code(code, tokens.MANAGE)
    manage = service().manage_token(subscriber.subscriber_id)
    return pages.redirect(f"/manage?{urlencode({'t': manage})}")


# ---------------------------------------------------------------- manage (pages)


def manage_page_for(
    subscriber: Subscriber,
    token: str,
    *,
    status: int = 200,
    error: FieldError | None = None,
    form_name: str = "",
    form: dict[str, str] | None = None,
    notice: str = "",
    preview: dict[str, Any] | None = None,
) -> Any:
    svc = service()
    form = form or {}
    shown = error_view(error, form, form_name) if error is not None else None
    sid = subscriber.subscriber_id
    searches = svc.list_searches(sid)
    # The link each email digest carries (Links.feed), also for a search no digest has shown
    # yet and for texts, which carry none; none at all while her feeds would answer 404.
    feeds = (
        {s.search_id: svc.links.feed(sid, s.search_id) for s in searches}
        if has_feeds(subscriber)
        else {}
    )
    return pages.page(
        "manage.html",
        status,
        subscriber=subscriber,
        searches=searches,
        feeds=feeds,
        token=token,
        unsubscribe_token=svc.unsubscribe_token(sid),
        error=shown,
        form=form,
        notice=notice,
        preview=preview,
    )


@router.get("/manage")
def manage_page() -> Any:
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    params = router.current_event.query_string_parameters or {}
    notice = "Subscription confirmed: your alerts are on." if params.get("confirmed") else ""
    return manage_page_for(subscriber, token, notice=notice)


@router.post("/manage/searches")
def manage_add_search() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _in().form()
    try:
        service().add_search(subscriber.subscriber_id, parse(SearchRequest, form))
    except FieldError as exc:
        return manage_page_for(
            subscriber, token, status=400, error=exc, form_name="search", form=form
        )
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@router.post("/manage/channels")
def manage_add_channel() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _in().form().items() if k in {"email", "phone"} and v.strip()}
    try:
        request = parse(ChannelRequest, form, countries=countries())
        channel = service().request_channel(subscriber.subscriber_id, request, client=_in().client)
    except FieldError as exc:
        return manage_page_for(
            subscriber, token, status=400, error=exc, form_name="channel", form=form
        )
    where = "inbox" if channel.value == "email" else "phone"
    return manage_page_for(
        subscriber,
        token,
        notice=f"We sent a link to confirm it: check that {where}. Nothing is sent there before.",
    )


@router.post("/manage/searches/<search_id>/delete")
def manage_delete_search(search_id: str) -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    # Deleted already (a double click, a second tab): the page shows the truth either way.
    with contextlib.suppress(NotFound):
        service().delete_search(subscriber.subscriber_id, search_id)
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@router.post("/manage/searches/<search_id>/edit")
def manage_edit_search(search_id: str) -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _in().form().items() if k in {"query", "channel", "frequency"}}
    try:
        service().edit_search(subscriber.subscriber_id, search_id, parse(SearchChanges, form))
    except FieldError as exc:
        return manage_page_for(
            subscriber, token, status=400, error=exc, form_name=f"edit-{search_id}", form=form
        )
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@router.post("/manage/settings")
def manage_settings() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _in().form()
    try:
        service().update_settings(subscriber.subscriber_id, parse(SettingsChanges, form))
    except FieldError as exc:
        return manage_page_for(subscriber, token, status=400, error=exc, form_name="settings")
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


@router.get("/pause")
def pause_page() -> Any:
    # Only shows the choices: mail scanners prefetch GETs, so pausing waits for the POST.
    token = _in().token()
    return _pause_page(token, service().subscriber_for(token, tokens.PAUSE))


@router.post("/pause")
def pause_from_link() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.PAUSE)
    paused = service().pause(subscriber.subscriber_id, parse(PauseRequest, _in().form()))
    return _pause_page(token, paused)


@router.post("/pause/resume")
def resume_from_link() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.PAUSE)
    return _pause_page(token, service().resume(subscriber.subscriber_id))


@router.post("/manage/pause")
def manage_pause() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = _in().form()
    try:
        service().pause(subscriber.subscriber_id, parse(PauseRequest, form))
    except FieldError as exc:
        return manage_page_for(subscriber, token, status=400, error=exc, form_name="pause")
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


@router.post("/manage/resume")
def manage_resume() -> Any:
    _in().same_origin()
    token = _in().token()
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


@router.get("/mute")
def mute_page() -> Any:
    # Only asks: mail scanners prefetch GETs, so muting waits for the POST.
    token = _in().token()
    subscriber, handle = service().muted_account(token)
    return _mute_page(token, handle, subscriber)


@router.post("/mute")
def mute_from_link() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber, handle = service().muted_account(token)
    return _mute_page(token, handle, service().mute(subscriber.subscriber_id, handle), done=True)


@router.post("/mute/undo")
def unmute_from_link() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber, handle = service().muted_account(token)
    updated = service().unmute(subscriber.subscriber_id, parse(UnmuteRequest, {"account": handle}))
    return _mute_page(token, handle, updated, done=True)


@router.post("/manage/mutes/undo")
def manage_unmute() -> Any:
    _in().same_origin()
    token = _in().token()
    subscriber = service().subscriber_for(token, tokens.MANAGE)
    form = {k: v for k, v in _in().form().items() if k == "account"}
    try:
        service().unmute(subscriber.subscriber_id, parse(UnmuteRequest, form))
    except FieldError as exc:
        return manage_page_for(subscriber, token, status=400, error=exc, form_name="mutes")
    return pages.redirect(f"/manage?{urlencode({'t': token})}")


# ---------------------------------------------------------------- unsubscribe


@router.get("/unsubscribe")
def unsubscribe_page() -> Any:
    token = _in().token()
    service().subscriber_for(token, tokens.UNSUBSCRIBE)
    return pages.page("unsubscribe.html", token=token)


@router.post("/unsubscribe")
def unsubscribe() -> Any:
    # RFC 8058 one-click: mailbox providers POST `List-Unsubscribe=One-Click` with no login.
    # Any POST with a valid token unsubscribes, whatever the body; doing it twice is harmless.
    service().unsubscribe(_in().token())
    return pages.notice(
        200, "You are unsubscribed", "You will get no more emails or text messages from us."
    )


# ---------------------------------------------------------------- digest web view


@router.get("/digests/<digest_id>")
def digest_view(digest_id: str) -> Any:
    html = service().digest_html(digest_id, _in().token())
    return pages.html_response(html)


@router.get("/d/<code>")
def short_digest_view(code: str) -> Any:
    # The short link texts carry: the signed code is the whole path, no query string.
    return pages.html_response(service().short_digest_html(code))
