"""The JSON API: `POST /subscriptions` (no login) and `/api/*` (bearer manage token).

Bodies are read as the models of `jobalerts.requests`; refusals become JSON errors in `web.app`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobalerts.feeds import has_feeds
from jobalerts.models import SavedSearch, Subscriber
from jobalerts.requests import (
    ChannelRequest,
    PauseRequest,
    SearchChanges,
    SearchRequest,
    SettingsChanges,
    SubscribeRequest,
    UnmuteRequest,
    parse,
)
from jobalerts.web.common import Incoming, countries, json_response, service

router = APIGatewayHttpRouter()


def _incoming() -> Incoming:
    return Incoming(router.current_event)


def _search_json(search: SavedSearch, subscriber: Subscriber) -> dict[str, Any]:
    body = search.model_dump(
        mode="json",
        include={"search_id", "query", "channel", "frequency", "created_at"},
    )
    # The same signed link the manage page and the email digests carry, while it answers.
    if has_feeds(subscriber):
        body["feed_url"] = service().links.feed(subscriber.subscriber_id, search.search_id)
    return body


def _subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return subscriber.model_dump(mode="json")


@router.post("/subscriptions")
def subscribe() -> Any:
    incoming = _incoming()
    request = incoming.json_as(SubscribeRequest, countries=countries())
    service().subscribe(request, client=incoming.client)
    # The same answer whether the address is new, pending or already subscribed.
    return json_response(
        202,
        {"status": "pending", "message": "check your inbox or phone for a confirmation link"},
    )


@router.get("/api/searches")
def api_list_searches() -> Any:
    subscriber = _incoming().api_subscriber()
    searches = service().list_searches(subscriber.subscriber_id)
    return json_response(200, {"searches": [_search_json(s, subscriber) for s in searches]})


@router.post("/api/searches")
def api_add_search() -> Any:
    incoming = _incoming()
    subscriber = incoming.api_subscriber()
    search = service().add_search(subscriber.subscriber_id, incoming.json_as(SearchRequest))
    return json_response(201, _search_json(search, subscriber))


@router.patch("/api/searches/<search_id>")
def api_edit_search(search_id: str) -> Any:
    incoming = _incoming()
    subscriber = incoming.api_subscriber()
    changes = incoming.json_as(SearchChanges)
    search = service().edit_search(subscriber.subscriber_id, search_id, changes)
    return json_response(200, _search_json(search, subscriber))


@router.delete("/api/searches/<search_id>")
def api_delete_search(search_id: str) -> Any:
    subscriber = _incoming().api_subscriber()
    service().delete_search(subscriber.subscriber_id, search_id)
    return Response(status_code=204, body="", headers={"Cache-Control": "no-store"})


@router.post("/api/channels")
def api_add_channel() -> Any:
    incoming = _incoming()
    subscriber = incoming.api_subscriber()
    request = incoming.json_as(ChannelRequest, countries=countries())
    service().request_channel(subscriber.subscriber_id, request, client=incoming.client)
    return json_response(
        202, {"status": "pending", "message": "confirm it from the link we sent to it"}
    )


@router.get("/api/subscriber")
def api_get_subscriber() -> Any:
    return json_response(200, _subscriber_json(_incoming().api_subscriber()))


@router.patch("/api/subscriber")
def api_update_subscriber() -> Any:
    incoming = _incoming()
    subscriber = incoming.api_subscriber()
    updated = service().update_settings(subscriber.subscriber_id, incoming.json_as(SettingsChanges))
    return json_response(200, _subscriber_json(updated))


@router.post("/api/pause")
def api_pause() -> Any:
    incoming = _incoming()
    subscriber = incoming.api_subscriber()
    paused = service().pause(subscriber.subscriber_id, incoming.json_as(PauseRequest))
    return json_response(200, _subscriber_json(paused))


@router.delete("/api/mutes/<account>")
def api_unmute(account: str) -> Any:
    subscriber = _incoming().api_subscriber()
    request = parse(UnmuteRequest, {"account": account})
    updated = service().unmute(subscriber.subscriber_id, request)
    return json_response(200, _subscriber_json(updated))


@router.post("/api/resume")
def api_resume() -> Any:
    subscriber = _incoming().api_subscriber()
    return json_response(200, _subscriber_json(service().resume(subscriber.subscriber_id)))
