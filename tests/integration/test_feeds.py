"""The Atom feed of a saved search: computed from the window of recent posts the match function
appends to, read by a real feed parser.

Every handler reads the wall clock here (the match function's arrival time, the feed's window),
so the module runs on the `clock` fixture: pinned at FIXED_NOW and ticking. Posts are dated a
minute before it, so the feed's window, relative to the request, holds them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import feedparser
import pytest

from jobalerts import tokens, wiring
from jobalerts.links import FEED_TTL, MANAGE_TTL, Links, compact_id
from jobalerts.models import Channel, Frequency, Post, SubscriberStatus
from jobalerts.settings import SubscriptionsSettings
from jobalerts.store._dynamo import now_iso, to_item
from jobalerts.web import feeds as web_feeds
from jobalerts_local.http import ApiServer
from jobalerts_local.runtime import StreamPump, http_event, invoke, stream_batches
from jobalerts_local.settings import get_settings
from jobalerts_local.template import LocalStack
from tests.conftest import FIXED_NOW
from tests.support import stores
from tests.support.digests import (
    Outbox,
    make_search,
    make_subscriber,
    run_deliver,
    run_digest,
    seed,
)

T = FIXED_NOW - timedelta(minutes=1)
# Past every arrival of a test (the pinned clock ticks from FIXED_NOW) and past the window's
# 30 s between looks for new posts.
LATER = FIXED_NOW + timedelta(minutes=5)
# Before `stack`, so its resources are made at the pinned time too.
pytestmark = pytest.mark.usefixtures("clock")


def post(pid: str, text: str, *, author: str = "acme", at: datetime = T, **fields: Any) -> Post:
    return Post(
        id=f"x#{pid}",
        source="x",
        author_handle=author,
        author_name=author.title(),
        text=text,
        url=f"https://x.com/{author}/status/{pid}",
        created_at=at,
        **fields,
    )


def publish(stack: LocalStack, *posts: Post) -> None:
    """Into the posts table; the stream feeds the real match handler, as Lambda would."""
    pump = StreamPump(stack.attrs[("PostsTable", "StreamArn")])
    for item in posts:
        stores.posts().put_new(item)
    for batch in stream_batches(pump.poll(), 100):
        invoke("match", batch)


def subscribe_ana(*queries: str) -> None:
    searches = [
        make_search("ana", f"s{i}", q, frequency=Frequency.WEEKLY, order=i)
        for i, q in enumerate(queries, start=1)
    ]
    for search in searches:
        search.updated_at = now_iso()
    seed(make_subscriber("ana"), *searches)


def links() -> Links:
    settings = get_settings()
    return Links(settings.public_base_url, tokens.load_signer(settings.signing_secret_name))


def get(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    path = url.split("jobalerts.test", 1)[1]
    response: dict[str, Any] = invoke("subscriptions", http_event("GET", path, headers=headers))
    return response


def test_a_search_has_a_well_formed_atom_feed_of_its_matches_newest_first(
    stack: LocalStack,
) -> None:
    # Given two saved searches and posts the match function matched over three days
    subscribe_ana("python remote", "golang")
    publish(
        stack,
        post("1", "Python developer, fully remote", at=T - timedelta(days=2)),
        post(
            "2",
            "Remote Python backend role <b>now</b> & more: https://shop.example/jobs/42",
            author="shopco",
            at=T,
            links=["https://shop.example/jobs/42"],
        ),
        post("3", "Python remote data role", author="datalab", at=T - timedelta(days=1)),
        post("4", "Golang platform engineer", at=T),
    )

    # When a feed reader fetches the first search's feed
    response = get(links().feed("ana", "s1"))

    # Then it is well-formed Atom 1.0 with the search's three posts, newest first
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response["body"])
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "jobalerts: python remote"
    assert [e.link for e in feed.entries] == [
        "https://x.com/shopco/status/2",
        "https://x.com/datalab/status/3",
        "https://x.com/acme/status/1",
    ]
    # And each entry has its author, time and text, and the job ad as a related link
    first = feed.entries[0]
    assert first.author == "@shopco (Shopco)"
    assert first.updated == T.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first.content[0].value.startswith("Remote Python backend role <b>now</b> & more")
    assert {(link.rel, link.href) for link in first.links} == {
        ("alternate", "https://x.com/shopco/status/2"),
        ("related", "https://shop.example/jobs/42"),
    }
    assert first.id == "tag:jobalerts.test,2026:post/x%232"
    # And the feed says where it lives and when it last changed
    assert feed.feed.updated_parsed is not None
    assert any(link.rel == "self" for link in feed.feed.links)


def test_the_feed_answers_conditional_requests_with_304(stack: LocalStack) -> None:
    # Given a feed a reader has fetched once
    subscribe_ana("python")
    publish(stack, post("1", "Python developer, remote"))
    url = links().feed("ana", "s1")
    first = get(url)
    etag, modified = first["headers"]["ETag"], first["headers"]["Last-Modified"]

    # When it asks again with what it got, by ETag or by date
    by_etag = get(url, {"If-None-Match": etag})
    by_date = get(url, {"If-Modified-Since": modified})
    stale_etag = get(url, {"If-None-Match": '"other"', "If-Modified-Since": modified})

    # Then nothing is resent; a stale ETag wins over a matching date (RFC 9110)
    assert (by_etag["statusCode"], by_etag["body"]) == (304, "")
    assert by_etag["headers"]["ETag"] == etag
    assert by_date["statusCode"] == 304
    assert stale_etag["statusCode"] == 200

    # And a new match, once the window has been looked at again (at most 30 s later), changes
    # both
    publish(stack, post("2", "Python data engineer", at=T + timedelta(seconds=30)))
    web_feeds.feeds().clock = lambda: LATER
    again = get(url, {"If-None-Match": etag})
    assert again["statusCode"] == 200
    assert again["headers"]["ETag"] != etag
    assert len(feedparser.parse(again["body"]).entries) == 2


def counted_post_reads(stack: LocalStack) -> list[int]:
    """How many posts each BatchGetItem on the posts table asks for (the feed's reads)."""
    asked: list[int] = []
    table = stack.physical("PostsTable")

    def count(params: dict[str, Any], **_: Any) -> None:
        keys = json.loads(params["body"])["RequestItems"].get(table, {}).get("Keys", [])
        asked.append(len(keys))

    web_feeds.feeds().window.posts.table.meta.client.meta.events.register(
        "before-call.dynamodb.BatchGetItem", count
    )
    return asked


def test_a_304_reads_no_post_and_a_warm_worker_reads_each_post_once(stack: LocalStack) -> None:
    # Given a feed a reader has fetched once
    subscribe_ana("python")
    publish(stack, post("1", "Python developer, remote"), post("2", "Python data role"))
    url = links().feed("ana", "s1")
    etag = get(url)["headers"]["ETag"]
    reads = counted_post_reads(stack)
    # When it polls again with nothing new
    assert get(url, {"If-None-Match": etag})["statusCode"] == 304
    # Then no post was read: the ETag is known before the posts are
    assert reads == []
    # And when a new post arrives, the next 200 reads only that one
    publish(stack, post("3", "Python platform role", at=T + timedelta(seconds=30)))
    web_feeds.feeds().clock = lambda: LATER
    again = get(url, {"If-None-Match": etag})
    assert again["statusCode"] == 200
    assert len(feedparser.parse(again["body"]).entries) == 3
    assert reads == [1]


def test_the_feed_follows_the_search_as_it_reads_now(stack: LocalStack) -> None:
    # Given a search for python and posts for python and for golang
    subscribe_ana("python")
    publish(stack, post("1", "Python developer"), post("2", "Golang developer"))
    url = links().feed("ana", "s1")
    before = get(url)
    # When its subscriber changes it to golang
    edited = stores.searches().get("ana", "s1")
    edited.query, edited.updated_at = "golang", now_iso()
    stores.searches().put(edited)
    after = get(url, {"If-None-Match": before["headers"]["ETag"]})
    # Then the feed lists the golang post, under the new name
    assert after["statusCode"] == 200
    feed = feedparser.parse(after["body"])
    assert feed.feed.title == "jobalerts: golang"
    assert [e.link for e in feed.entries] == ["https://x.com/acme/status/2"]


def test_an_account_the_subscriber_muted_is_left_out_of_her_feeds(stack: LocalStack) -> None:
    # Given a feed with posts by two accounts
    subscribe_ana("python")
    publish(
        stack,
        post("1", "Python developer", author="spammy"),
        post("2", "Python engineer", author="acme"),
    )
    url = links().feed("ana", "s1")
    before = get(url)
    # When she mutes one of them (from a digest's link)
    stores.subscribers().update("ana", muted=["spammy"])
    after = get(url, {"If-None-Match": before["headers"]["ETag"]})
    # Then the feed changes and lists the other account's post only, as her digests do
    assert after["statusCode"] == 200
    assert [e.link for e in feedparser.parse(after["body"]).entries] == [
        "https://x.com/acme/status/2"
    ]


def test_a_stored_search_the_language_no_longer_parses_has_an_empty_feed(
    stack: LocalStack,
) -> None:
    # Given a search stored before a change to the query language made it invalid
    subscribe_ana("python")
    publish(stack, post("1", "Python developer"))
    broken = stores.searches().get("ana", "s1")
    broken.query = 'python "unclosed'
    stores.searches().table.put_item(Item=to_item(broken.model_dump(mode="json")))
    # When its feed is fetched
    response = get(links().feed("ana", "s1"))
    # Then it is a valid, empty feed, not an error
    assert response["statusCode"] == 200
    feed = feedparser.parse(response["body"])
    assert (feed.bozo, feed.entries) == (0, [])


def test_feedparser_fetches_over_http_and_gets_304_on_its_second_poll(stack: LocalStack) -> None:
    # Given the subscriptions function behind a real HTTP server on localhost
    subscribe_ana("python")
    publish(stack, post("1", "Python developer, remote"))
    path = links().feed("ana", "s1").split("jobalerts.test", 1)[1]
    with ApiServer(lambda event: invoke("subscriptions", event)) as server:
        # When feedparser polls the feed twice, as a feed reader does
        first = feedparser.parse(server.base_url + path)
        second = feedparser.parse(server.base_url + path, etag=first.etag, modified=first.modified)

    # Then the first poll reads one entry and the second is a 304 with none
    assert (first.status, first.bozo, len(first.entries)) == (200, 0, 1)
    assert (second.status, len(second.entries)) == (304, 0)


def test_hostile_text_stays_text_and_the_feed_stays_well_formed(stack: LocalStack) -> None:
    subscribe_ana("python")
    hostile = 'Python <script>alert(1)</script> "]]> \x00\x07\ufffe &amp; \u202eexe.pdf'
    publish(stack, post("1", hostile, author='"><svg onload=x>'))
    response = get(links().feed("ana", "s1"))
    feed = feedparser.parse(response["body"])
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert "<script>" not in response["body"]
    assert (
        feed.entries[0].content[0].value == 'Python <script>alert(1)</script> "]]>  &amp; exe.pdf'
    )


def test_forged_codes_and_other_links_do_not_open_a_feed(stack: LocalStack) -> None:
    subscribe_ana("python")
    code = links().feed("ana", "s1").rsplit("/", 1)[1]
    forged = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    digest_code = links().short_digest("ana~s1").rsplit("/", 1)[1]
    for bad in (forged, digest_code, "nothing"):
        assert get(f"http://jobalerts.test/feeds/{bad}")["statusCode"] == 403


def test_the_feed_ends_with_its_search_or_its_subscriber(stack: LocalStack) -> None:
    subscribe_ana("python", "golang")
    url_one, url_two = links().feed("ana", "s1"), links().feed("ana", "s2")
    stores.searches().delete("ana", "s1", now=T)
    assert get(url_one)["statusCode"] == 404
    assert get(url_two)["statusCode"] == 200
    stores.subscribers().set_status("ana", SubscriberStatus.UNSUBSCRIBED)
    assert get(url_two)["statusCode"] == 404


def test_a_feed_link_for_uuid_ids_opens_in_its_compact_form_and_in_the_hex_form_sent_before(
    stack: LocalStack,
) -> None:
    # Given a subscriber and a search with real (uuid hex) ids; the search id starts with 3 and
    # holds no 0, the word that scored a digest a point as a Bitcoin address
    subscriber_id, search_id = "9071b59828f04af8b7bdf93d930b38f8", "3" + "a" * 31
    search = make_search(subscriber_id, search_id, "python", frequency=Frequency.WEEKLY)
    search.updated_at = now_iso()
    seed(make_subscriber(subscriber_id), search)
    # When the feed link is built
    url = links().feed(subscriber_id, search_id)
    # Then neither id is in it as hex, and it opens that search's feed
    assert subscriber_id not in url
    assert search_id not in url
    response = get(url)
    assert response["statusCode"] == 200
    assert feedparser.parse(response["body"]).feed.title == "jobalerts: python"
    # And a link sent before the search id was compacted (hex after the '~') opens it too
    signer = links().signer
    old = signer.sign_short(tokens.FEED, f"{compact_id(subscriber_id)}~{search_id}", FEED_TTL)
    assert get(f"http://jobalerts.test/feeds/{old}")["statusCode"] == 200


def test_only_the_last_seven_days_are_in_the_feed(stack: LocalStack) -> None:
    # Given matches from nine, five and zero days before T (the exact edge of the window, a
    # UTC day, is pinned in tests/unit/test_preview_window.py)
    subscribe_ana("python")
    publish(
        stack,
        post("1", "Python one", at=T - timedelta(days=9)),
        post("2", "Python two", at=T - timedelta(days=5)),
        post("3", "Python three", at=T),
    )

    # When the feed is built after they arrived
    feeds = wiring.build_subscriptions(SubscriptionsSettings.load()).feeds
    feeds.clock = lambda: LATER
    answer = feeds.respond(links().feed("ana", "s1").rsplit("/", 1)[1])

    # Then the nine-day-old post is gone
    links_in_feed = [e.link for e in feedparser.parse(answer.body).entries]
    assert links_in_feed == ["https://x.com/acme/status/3", "https://x.com/acme/status/2"]


def test_every_email_digest_links_the_feed_of_each_search_in_it(stack: LocalStack) -> None:
    # Given a weekly digest with posts for two searches
    subscribe_ana("python", "golang")
    publish(stack, post("1", "Python developer"), post("2", "Golang developer"))
    outbox = Outbox()

    # When it is sent
    run_digest(T + timedelta(days=8))
    run_deliver(stack)

    # Then its text part links each search's feed, and the links work
    [sent] = outbox.emails
    text = sent.part("plain")
    feeds = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith("Feed of ")]
    assert len(feeds) == 2
    assert 'Feed of "python" (Atom): ' in text
    assert "Follow in a feed reader (Atom)" in sent.part("html")
    for url in feeds:
        assert feedparser.parse(get(url)["body"]).entries


class FeedLinks(HTMLParser):
    """The manage page's feed links: (href, the text a screen reader reads), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("class") == "feed-link":
            self.found.append((values.get("href") or "", ""))
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        self._open = self._open and tag != "a"

    def handle_data(self, data: str) -> None:
        if self._open:
            href, text = self.found[-1]
            self.found[-1] = (href, text + data)


def manage_page(subscriber_id: str) -> str:
    token = tokens.load_signer(get_settings().signing_secret_name).sign(
        tokens.MANAGE, subscriber_id, MANAGE_TTL
    )
    response = invoke("subscriptions", http_event("GET", "/manage", query={"t": token}))
    assert response["statusCode"] == 200
    body: str = response["body"]
    return body


def feed_links_on(page: str) -> list[tuple[str, str]]:
    parser = FeedLinks()
    parser.feed(page)
    return parser.found


HOSTILE_QUERY = 'golang "<script>alert(1)</script>"'


def test_the_manage_page_links_the_feed_of_every_saved_search(stack: LocalStack) -> None:
    # Given a subscriber who gets only texts (no email digest carries her feed links), with two
    # saved searches, one of them with markup in its query, and posts for each; no digest yet
    seed(
        make_subscriber("ana", email=None, phone="+14155550142"),
        make_search("ana", "s1", "python remote", channel=Channel.SMS, order=1),
        make_search("ana", "s2", HOSTILE_QUERY, channel=Channel.SMS, order=2),
    )
    publish(
        stack,
        post("1", "Python developer, fully remote"),
        post("2", "Golang engineer <script>alert(1)</script>", author="shopco"),
    )

    # When she opens her manage page
    page = manage_page("ana")

    # Then each search's row links its feed, named for screen readers after its search
    found = feed_links_on(page)
    assert [text for _, text in found] == [
        "Atom feed for “python remote”",
        f"Atom feed for “{HOSTILE_QUERY}”",
    ]
    # And the markup in the query is text on the page, never a tag
    assert "<script>" not in page
    assert 'Atom feed<span class="visually-hidden"> for “golang &#34;&lt;script&gt;' in page
    # And a line under the table says what the links are and that they are private
    assert 'id="feeds-note"' in page
    assert "whoever has it can read the feed" in page

    # And each link is the signed one an email digest would carry for that search
    for (href, _), search_id in zip(found, ["s1", "s2"], strict=True):
        expected = links().feed("ana", search_id)
        # (its expiry is read off the ticking clock, so the second may differ)
        assert href.rsplit(".", 2)[0] == expected.rsplit(".", 2)[0]
        assert href.startswith(f"{get_settings().public_base_url.rstrip('/')}/feeds/")

    # When a feed reader follows each link through the same app
    feeds = [get(href) for href, _ in found]

    # Then each is a well-formed Atom feed of its own search, with that search's post
    for response, (search_id, query, link) in zip(
        feeds,
        [
            ("s1", "python remote", "https://x.com/acme/status/1"),
            ("s2", HOSTILE_QUERY, "https://x.com/shopco/status/2"),
        ],
        strict=True,
    ):
        assert response["statusCode"] == 200
        feed = feedparser.parse(response["body"])
        assert feed.bozo == 0, feed.get("bozo_exception")
        assert feed.feed.id == f"tag:jobalerts.test,2026:feed/{search_id}"
        assert feed.feed.title == f"jobalerts: {query}"
        assert [e.link for e in feed.entries] == [link]


def test_the_manage_page_lists_no_feed_link_once_the_feeds_are_gone(stack: LocalStack) -> None:
    # Given a subscriber with a saved search whose feed link her manage page shows
    subscribe_ana("python")
    [(href, _)] = feed_links_on(manage_page("ana"))
    assert get(href)["statusCode"] == 200

    # When she unsubscribes (her feeds answer 404 from then on)
    stores.subscribers().set_status("ana", SubscriberStatus.UNSUBSCRIBED)

    # Then her manage page still lists the search, but no feed link, column or note
    assert get(href)["statusCode"] == 404
    page = manage_page("ana")
    assert 'data-search-id="s1"' in page
    assert feed_links_on(page) == []
    assert "/feeds/" not in page
    assert "<th>Feed</th>" not in page
    assert 'id="feeds-note"' not in page
