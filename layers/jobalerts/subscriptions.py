"""The subscription use cases: subscribe, confirm, manage saved searches, unsubscribe.

Nothing here knows about HTTP. Bad input raises `FieldError` (safe to show, names the field and,
for queries, the column); bad links raise `InvalidToken`; too many requests raise `RateLimited`;
the web layer maps them to responses. Inputs arrive as the request models of `jobalerts.requests`,
validated at the edge before anything is written or sent, so a refused request leaves no trace.

Subscribing never looks the address up, so a known and an unknown address take the same path
(the same reads, writes and message) and get the same answer. The request is stored as a
pending sign-up (`store.signups`) and a link goes to the address; nothing about any subscriber
changes until that link is used, once:
- an address nobody owns: a new active subscriber with that channel confirmed, and the search.
- an address somebody owns: the owner has just confirmed from their own inbox or phone, so the
  search is added (and an unsubscribed owner opts in again with the request's settings).
Each channel (email, phone) is confirmed by a link sent to that address; adding one from the
manage page or the API sends it its own link. Sign-ups are rate limited per client address, per
destination (sub-addresses folded) and overall; texts go only to mobile numbers in the allowed
countries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from jobalerts import inbound_sms as sms_rules
from jobalerts import pauses, tokens
from jobalerts.delivery.email import OutgoingEmail
from jobalerts.delivery.senders import Senders
from jobalerts.delivery.sms import OptedOut
from jobalerts.errors import InvalidToken, NotFound, RateLimited
from jobalerts.links import (
    CONFIRM_TTL,
    MANAGE_TTL,
    PAUSE_TTL,
    UNSUBSCRIBE_TTL,
    Links,
    expand_id,
)
from jobalerts.matcher import shard_for
from jobalerts.models import (
    MIN_QUIET_HOURS,
    Channel,
    SavedSearch,
    Subscriber,
    SubscriberStatus,
    author_key,
    quiet_hours,
)
from jobalerts.observability import logger, metrics, tracer
from jobalerts.requests import (
    ChannelRequest,
    FieldError,
    PauseRequest,
    SearchChanges,
    SearchRequest,
    SettingsChanges,
    SubscribeRequest,
    UnmuteRequest,
)
from jobalerts.settings import SubscriptionsSettings
from jobalerts.store import SearchesRepository, StateRepository, SubscribersRepository
from jobalerts.store.archive import DigestArchive
from jobalerts.store.matches import MatchesRepository
from jobalerts.store.ratelimits import Limit, RateLimits
from jobalerts.store.searches import change_stamp
from jobalerts.store.signups import Signup, SignupsRepository
from jobalerts.store.subscribers import AddressTaken, SearchSlots, SubscriberAddresses
from jobalerts.store.suppressions import SuppressionList

MAX_SEARCHES = 25
MAX_MUTED = 200
_SEARCH_ID = re.compile(r"[0-9a-f]{32}")


def valid_quiet_hours(start: int, end: int) -> None:
    """The one rule across two fields, checked against what is stored."""
    if quiet_hours(start, end) < MIN_QUIET_HOURS:
        raise FieldError(
            f"quiet hours must last at least {MIN_QUIET_HOURS} hours "
            "(texts never go out around the clock)",
            "sms_quiet_start",
        )


def destination_key(channel: Channel, address: str) -> str:
    """One mailbox, however it is spelled: rate limits count per inbox or phone, not per string.

    Everyone folds `+tag` sub-addresses; Gmail also ignores dots and googlemail.com is gmail.com.
    """
    if channel is Channel.SMS:
        return f"sms|{address}"
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"email|{local}@{domain}"


# ---------------------------------------------------------------- confirmation messages

_email_templates = Environment(
    loader=PackageLoader("jobalerts", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def confirmation_email(to: str, link: str, *, already_active: bool) -> OutgoingEmail:
    context = {"link": link, "already_active": already_active}
    subject = (
        "Your jobalerts subscription" if already_active else "Confirm your jobalerts subscription"
    )
    return OutgoingEmail(
        to=to,
        subject=subject,
        text=_email_templates.get_template("email/confirm.txt").render(context),
        html=_email_templates.get_template("email/confirm.html").render(context),
    )


def confirmation_sms(link: str, *, already_active: bool) -> str:
    if already_active:
        return f"jobalerts: you are already subscribed. Manage your alerts: {link}"
    # The first text repeats the program's terms, as carriers require: two segments, by rule.
    return f"{sms_rules.PROGRAM}: confirm your job alerts: {link}\n{sms_rules.CONSENT}"


def _channel_field(channel: Channel) -> tuple[str, str]:
    """The subscriber attributes of a channel: its address and its confirmed flag."""
    if channel is Channel.EMAIL:
        return "email", "email_confirmed"
    return "phone", "phone_confirmed"


# ---------------------------------------------------------------- the service


@dataclass(frozen=True)
class AccountStores:
    """Every table the subscriptions use case reads or writes."""

    subscribers: SubscribersRepository
    searches: SearchesRepository
    state: StateRepository
    signups: SignupsRepository
    limits: RateLimits
    suppression: SuppressionList
    archive: DigestArchive
    matches: MatchesRepository


class SubscriptionService:
    def __init__(
        self,
        settings: SubscriptionsSettings,
        *,
        stores: AccountStores,
        senders: Senders,
        signer: Callable[[], tokens.Signer],
    ) -> None:
        self.settings = settings
        self.subscribers = stores.subscribers
        self.addresses = SubscriberAddresses(self.subscribers)
        self.slots = SearchSlots(self.subscribers)
        self.searches = stores.searches
        self.state = stores.state
        self.signups = stores.signups
        self.limits = stores.limits
        self.suppression = stores.suppression
        self.archive = stores.archive
        self.matches = stores.matches
        self.email = senders.email
        self.sms = senders.sms
        self._signer = signer

    # The signing key is fetched on first use (the provider caches it): not every request signs.
    @property
    def signer(self) -> tokens.Signer:
        return self._signer()

    @cached_property
    def links(self) -> Links:
        return Links(self.settings.public_base_url, self.signer)

    # ------------------------------------------------------------ tokens

    def subscriber_for(self, token: str, purpose: str) -> Subscriber:
        subscriber_id = self.signer.verify(token, purpose)
        try:
            return self.subscribers.get(subscriber_id)
        except NotFound:
            raise InvalidToken("this link is not valid") from None

    def subscriber_for_code(self, code: str, purpose: str = tokens.MANAGE) -> Subscriber:
        """The subscriber behind a text message's short manage code (`/m/<code>`)."""
        subscriber_id = expand_id(self.signer.verify_short(code, purpose))
        try:
            return self.subscribers.get(subscriber_id)
        except NotFound:
            raise InvalidToken("this link is not valid") from None

    def manage_token(self, subscriber_id: str) -> str:
        return self.signer.sign(tokens.MANAGE, subscriber_id, MANAGE_TTL)

    def unsubscribe_token(self, subscriber_id: str) -> str:
        return self.signer.sign(tokens.UNSUBSCRIBE, subscriber_id, UNSUBSCRIBE_TTL)

    # ------------------------------------------------------------ subscribe

    @tracer.capture_method(capture_response=False)
    def subscribe(
        self, request: SubscribeRequest, now: datetime | None = None, *, client: str = ""
    ) -> None:
        """Validate, rate-limit, store a pending sign-up and send its link: nothing else.

        Raises FieldError (nothing written or sent) or RateLimited (nothing sent).
        """
        moment = now or datetime.now(UTC)
        channel = request.channel
        other = request.other
        signup = Signup(
            signup_id=uuid.uuid4().hex,
            kind="subscribe",
            channel=channel,
            address=request.destination,
            also_channel=other[0] if other else None,
            also_address=other[1] if other else None,
            timezone=request.timezone,
            digest_hour=request.digest_hour,
            digest_weekday=request.digest_weekday,
            query=request.query,
            search_channel=channel,
            frequency=request.frequency,
            created_at=moment.timestamp(),
            expires_at=int(moment.timestamp()) + CONFIRM_TTL,
        )
        self._check_limits(client, channel, request.destination, moment)
        self._send_link(signup)

    @tracer.capture_method(capture_response=False)
    def request_channel(
        self,
        subscriber_id: str,
        request: ChannelRequest,
        now: datetime | None = None,
        *,
        client: str = "",
    ) -> Channel:
        """Add (or change) an email address or phone number: it gets its own link to confirm."""
        channel, address = request.channel, request.address
        moment = now or datetime.now(UTC)
        self._check_limits(client, channel, address, moment)
        self._send_link(self._channel_signup(subscriber_id, channel, address, moment))
        return channel

    def _channel_signup(
        self, subscriber_id: str, channel: Channel, address: str, moment: datetime
    ) -> Signup:
        return Signup(
            signup_id=uuid.uuid4().hex,
            kind="channel",
            channel=channel,
            address=address,
            subscriber_id=subscriber_id,
            created_at=moment.timestamp(),
            expires_at=int(moment.timestamp()) + CONFIRM_TTL,
        )

    def _check_limits(self, client: str, channel: Channel, address: str, moment: datetime) -> None:
        """Per client first, so one noisy client does not use up everyone's allowance."""
        cfg = self.settings
        window = cfg.signup_window_seconds
        checks = [
            (Limit("client", cfg.signup_limit_per_client, window), client or "unknown"),
            (
                Limit("destination", cfg.signup_limit_per_destination, window),
                destination_key(channel, address),
            ),
        ]
        if channel is Channel.SMS:
            checks += [
                # Pumping uses runs of numbers in one range: count per block of 1,000.
                (Limit("number-range", cfg.signup_limit_per_number_range, window), address[:-3]),
                (Limit("sms", cfg.sms_signup_limit_overall, window), "all"),
            ]
        checks.append((Limit("all", cfg.signup_limit_overall, window), "all"))
        for limit, key in checks:
            retry_after = self.limits.take(limit, key, moment.timestamp())
            if retry_after is not None:
                logger.info("sign-up rate limited", bucket=limit.bucket, retry_after=retry_after)
                metrics.add_metric(name="SignupsRateLimited", unit="Count", value=1)
                raise RateLimited(retry_after)

    def _send_link(self, signup: Signup) -> None:
        """Store the sign-up and send its link, unless the address asked for no more mail."""
        if signup.channel is Channel.EMAIL and self.suppression.contains(signup.address):
            logger.info("confirmation not sent: address suppressed")
            return
        self.signups.put(signup)
        use_sms = signup.channel is Channel.SMS
        # A text message carries the short form, so the whole confirmation is one segment.
        link = (
            self.links.short_confirm(signup.signup_id)
            if use_sms
            else self.links.confirm(signup.signup_id)
        )
        if use_sms:
            try:
                self.sms.send(signup.address, confirmation_sms(link, already_active=False))
            except OptedOut:
                logger.info("confirmation not sent: number opted out")
                return
        else:
            self.email.send(confirmation_email(signup.address, link, already_active=False))
        logger.info("confirmation sent", signup_id=signup.signup_id, channel=signup.channel.value)
        metrics.add_metric(name="ConfirmationsSent", unit="Count", value=1)

    # ------------------------------------------------------------ confirm

    def pending_signup(self, token: str, now: datetime | None = None) -> Signup:
        """The sign-up a confirm link stands for (unused, unexpired); InvalidToken otherwise."""
        signup_id = self.signer.verify(token, tokens.CONFIRM)
        return self.signups.get(signup_id, (now or datetime.now(UTC)).timestamp())

    def pending_signup_code(self, code: str, now: datetime | None = None) -> Signup:
        signup_id = expand_id(self.signer.verify_short(code, tokens.CONFIRM))
        return self.signups.get(signup_id, (now or datetime.now(UTC)).timestamp())

    @tracer.capture_method(capture_response=False)
    def confirm(self, token: str, now: datetime | None = None) -> Subscriber:
        """Apply the sign-up behind a confirm link, once. Returns the subscriber."""
        return self._apply(self.signer.verify(token, tokens.CONFIRM), now)

    @tracer.capture_method(capture_response=False)
    def confirm_code(self, code: str, now: datetime | None = None) -> Subscriber:
        """`confirm` for the short code of a text message."""
        return self._apply(expand_id(self.signer.verify_short(code, tokens.CONFIRM)), now)

    def _apply(self, signup_id: str, now: datetime | None) -> Subscriber:
        moment = now or datetime.now(UTC)
        # Marked used before anything changes: two clicks (or a replayed link) apply it once.
        signup = self.signups.use(signup_id, moment.timestamp())
        if signup.kind == "channel":
            return self._attach(signup)
        subscriber = self._owner_or_new(signup, moment)
        sid = subscriber.subscriber_id
        _, confirmed_field = _channel_field(signup.channel)
        changes: dict[str, Any] = {confirmed_field: True}
        reopened = subscriber.status in {SubscriberStatus.PENDING, SubscriberStatus.UNSUBSCRIBED}
        if reopened:
            # The owner confirmed from their own inbox or phone: opting in again on these terms.
            changes.update(
                status=SubscriberStatus.ACTIVE,
                timezone=signup.timezone,
                digest_hour=signup.digest_hour,
                digest_weekday=signup.digest_weekday,
                confirmed_at=moment,
            )
        if subscriber.status is not SubscriberStatus.SUPPRESSED:
            self.subscribers.update(sid, **changes)
            if reopened:
                # Opting in again starts alerts again, whatever pause was left behind.
                self.subscribers.resume(sid)
                self.searches.set_live(sid, True)
            subscriber = self.subscribers.get(sid)
            if signup.query is not None:
                search = SearchRequest.model_construct(
                    query=signup.query,
                    channel=signup.search_channel or signup.channel,
                    frequency=signup.frequency,
                )
                self._add_if_new(subscriber, search, moment)
            logger.info("sign-up confirmed", subscriber_id=sid, channel=signup.channel.value)
            metrics.add_metric(name="SubscribersConfirmed", unit="Count", value=1)
        if signup.also_channel is not None and signup.also_address is not None:
            self._offer_other(sid, signup.also_channel, signup.also_address, moment)
        return subscriber

    def _owner_or_new(self, signup: Signup, moment: datetime) -> Subscriber:
        channel = signup.channel.value
        owner = self.addresses.owner_of(channel, signup.address)
        if owner is not None:
            return owner
        address_field, confirmed_field = _channel_field(signup.channel)
        subscriber = Subscriber.model_validate(
            {
                "subscriber_id": uuid.uuid4().hex,
                address_field: signup.address,
                confirmed_field: True,
                "timezone": signup.timezone,
                "digest_hour": signup.digest_hour,
                "digest_weekday": signup.digest_weekday,
                "status": SubscriberStatus.ACTIVE,
                "created_at": moment,
                "confirmed_at": moment,
            }
        )
        try:
            self.addresses.create(subscriber, channel, signup.address)
        except AddressTaken:
            # Another confirmation for this address won the race: that subscriber is the one.
            owner = self.addresses.owner_of(channel, signup.address)
            if owner is None:
                raise
            return owner
        logger.info("subscriber created", subscriber_id=subscriber.subscriber_id)
        metrics.add_metric(name="SubscribersCreated", unit="Count", value=1)
        return subscriber

    def _offer_other(
        self, subscriber_id: str, channel: Channel, address: str, moment: datetime
    ) -> None:
        """The second address of a sign-up is attached only through its own link."""
        current = self.subscribers.get(subscriber_id)
        if current.confirmed(channel) and getattr(current, _channel_field(channel)[0]) == address:
            return
        try:
            self._check_limits("confirm", channel, address, moment)
        except RateLimited:
            return
        self._send_link(self._channel_signup(subscriber_id, channel, address, moment))

    def _attach(self, signup: Signup) -> Subscriber:
        """A confirmed channel addition: the address becomes this subscriber's, if it is free."""
        if signup.subscriber_id is None:
            raise InvalidToken("this link is not valid")
        try:
            subscriber = self.subscribers.get(signup.subscriber_id)
        except NotFound:
            raise InvalidToken("this link is not valid") from None
        sid, channel = subscriber.subscriber_id, signup.channel
        address_field, confirmed_field = _channel_field(channel)
        try:
            self.addresses.claim(sid, channel.value, signup.address)
        except AddressTaken:
            raise FieldError(
                "this address belongs to another subscription; unsubscribe it there first",
                address_field,
            ) from None
        previous = getattr(subscriber, address_field)
        self.subscribers.update(sid, **{address_field: signup.address, confirmed_field: True})
        if previous and previous != signup.address:
            self.addresses.release(sid, channel.value, previous)
        logger.info("channel confirmed", subscriber_id=sid, channel=channel.value)
        return self.subscribers.get(sid)

    def _add_if_new(self, subscriber: Subscriber, search: SearchRequest, now: datetime) -> None:
        if not subscriber.confirmed(search.channel):
            # Waits until that channel is confirmed; it is never sent to an unconfirmed address.
            return
        sid = subscriber.subscriber_id
        current = self.searches.list_for(sid)
        if any(s.query == search.query and s.channel is search.channel for s in current):
            return
        if not self.slots.take(sid, MAX_SEARCHES, len(current)):
            return
        self._add(sid, search, now, live=subscriber.receiving)

    # ------------------------------------------------------------ saved searches

    def list_searches(self, subscriber_id: str) -> list[SavedSearch]:
        return sorted(self.searches.list_for(subscriber_id), key=lambda s: s.created_at)

    @tracer.capture_method(capture_response=False)
    def add_search(
        self, subscriber_id: str, search: SearchRequest, now: datetime | None = None
    ) -> SavedSearch:
        subscriber = self.subscribers.get(subscriber_id)
        self._require_confirmed(subscriber, search.channel)
        counted = len(self.searches.list_for(subscriber_id))
        if not self.slots.take(subscriber_id, MAX_SEARCHES, counted):
            raise FieldError(
                f"you have {MAX_SEARCHES} saved searches, the most allowed; delete one first",
                "query",
            )
        live = subscriber.receiving
        return self._add(subscriber_id, search, now or datetime.now(UTC), live=live)

    @staticmethod
    def _require_confirmed(subscriber: Subscriber, channel: Channel) -> None:
        if not subscriber.confirmed(channel):
            what = "an email address" if channel is Channel.EMAIL else "a phone number"
            raise FieldError(
                f"add and confirm {what} on your subscription first: nothing is sent to an "
                "address that has not confirmed",
                "channel",
            )

    def _add(
        self, subscriber_id: str, search: SearchRequest, now: datetime, *, live: bool
    ) -> SavedSearch:
        search_id = uuid.uuid4().hex
        saved = SavedSearch(
            subscriber_id=subscriber_id,
            search_id=search_id,
            query=search.query,
            channel=search.channel,
            frequency=search.frequency,
            live=live,
            shard=shard_for(search_id, self.settings.search_shards),
            updated_at=change_stamp(),
            created_at=now,
        )
        self.searches.put(saved)
        logger.info("saved search added", subscriber_id=subscriber_id, search_id=search_id)
        return saved

    @tracer.capture_method(capture_response=False)
    def edit_search(
        self, subscriber_id: str, search_id: str, request: SearchChanges
    ) -> SavedSearch:
        """Change a search's query, channel or frequency in place: it keeps its id (and so its
        feed and the posts already matched for it). Validated like adding; NotFound if absent.

        Moving it to another channel carries that channel's sent log over, so a post already
        sent by email is not texted again (the log is kept per channel)."""
        if not _SEARCH_ID.fullmatch(search_id):
            raise NotFound("search")
        changes = request.changes()
        current = self.searches.get(subscriber_id, search_id)
        channel = changes.get("channel", current.channel)
        if channel is not current.channel:
            self._require_confirmed(self.subscribers.get(subscriber_id), channel)
        if all(getattr(current, key) == value for key, value in changes.items()):
            return current
        # A new updated_at is how match workers and the X planner learn of the change.
        edited = current.model_copy(update={**changes, "updated_at": change_stamp()})
        self.searches.replace(edited)
        if channel is not current.channel:
            carried = self.matches.carry_sent_log(subscriber_id, current.channel, channel)
            logger.info("sent log carried", subscriber_id=subscriber_id, entries=carried)
        logger.info(
            "saved search edited",
            subscriber_id=subscriber_id,
            search_id=search_id,
            fields=sorted(changes),
        )
        return edited

    @tracer.capture_method(capture_response=False)
    def delete_search(
        self, subscriber_id: str, search_id: str, now: datetime | None = None
    ) -> None:
        """A tombstone, so match workers reading changes learn of it; NotFound if absent."""
        if not _SEARCH_ID.fullmatch(search_id):
            raise NotFound("search")
        self.searches.delete(subscriber_id, search_id, now=now or datetime.now(UTC))
        self.slots.give_back(subscriber_id)
        logger.info("saved search deleted", subscriber_id=subscriber_id, search_id=search_id)

    # ------------------------------------------------------------ settings

    @tracer.capture_method(capture_response=False)
    def update_settings(self, subscriber_id: str, request: SettingsChanges) -> Subscriber:
        changes = request.changes()
        if "sms_quiet_start" in changes or "sms_quiet_end" in changes:
            current = self.subscribers.get(subscriber_id)
            valid_quiet_hours(
                changes.get("sms_quiet_start", current.sms_quiet_start),
                changes.get("sms_quiet_end", current.sms_quiet_end),
            )
        if changes:
            self.subscribers.update(subscriber_id, **changes)
            logger.info("settings changed", subscriber_id=subscriber_id, fields=sorted(changes))
        return self.subscribers.get(subscriber_id)

    # ------------------------------------------------------------ pause

    @tracer.capture_method(capture_response=False)
    def pause(
        self, subscriber_id: str, request: PauseRequest, now: datetime | None = None
    ) -> Subscriber:
        """Pausing again replaces the pause."""
        choice = request.duration
        subscriber = self.subscribers.get(subscriber_id)
        if subscriber.status is not SubscriberStatus.ACTIVE:
            raise FieldError("only active alerts can be paused", "for")
        moment = now or datetime.now(UTC)
        pauses.pause(
            self.subscribers, self.searches, subscriber_id, pauses.DURATIONS[choice], moment
        )
        return self.subscribers.get(subscriber_id)

    @tracer.capture_method(capture_response=False)
    def resume(self, subscriber_id: str) -> Subscriber:
        """Idempotent: resuming alerts that are not paused changes nothing."""
        pauses.resume(self.subscribers, self.searches, subscriber_id)
        return self.subscribers.get(subscriber_id)

    def pause_token(self, subscriber_id: str) -> str:
        return self.signer.sign(tokens.PAUSE, subscriber_id, PAUSE_TTL)

    # ------------------------------------------------------------ mute

    def muted_account(self, token: str) -> tuple[Subscriber, str]:
        """The subscriber and the handle (as written in the digest) behind a mute link."""
        subject = self.signer.verify(token, tokens.MUTE)
        subscriber_id, _, handle = subject.partition("|")
        if not author_key(handle):
            raise InvalidToken("this link is not valid")
        try:
            return self.subscribers.get(subscriber_id), handle
        except NotFound:
            raise InvalidToken("this link is not valid") from None

    @tracer.capture_method(capture_response=False)
    def mute(self, subscriber_id: str, handle: str) -> Subscriber:
        """Idempotent; at most MAX_MUTED accounts (the list rides on every digest's read)."""
        subscriber = self.subscribers.get(subscriber_id)
        key = author_key(handle)
        if key in subscriber.muted:
            return subscriber
        if len(subscriber.muted) >= MAX_MUTED:
            raise FieldError(
                f"you have muted {MAX_MUTED} accounts, the most allowed; unmute one first",
                "account",
            )
        self.subscribers.update(subscriber_id, muted=[*subscriber.muted, key])
        logger.info("account muted", subscriber_id=subscriber_id, muted=len(subscriber.muted) + 1)
        return self.subscribers.get(subscriber_id)

    @tracer.capture_method(capture_response=False)
    def unmute(self, subscriber_id: str, request: UnmuteRequest) -> Subscriber:
        """Unmuting an account that is not muted changes nothing."""
        account = request.account
        subscriber = self.subscribers.get(subscriber_id)
        key = author_key(account)
        if key in subscriber.muted:
            kept = [k for k in subscriber.muted if k != key]
            self.subscribers.update(subscriber_id, muted=kept)
            logger.info("account unmuted", subscriber_id=subscriber_id, muted=len(kept))
        return self.subscribers.get(subscriber_id)

    # ------------------------------------------------------------ unsubscribe

    @tracer.capture_method(capture_response=False)
    def unsubscribe(self, token: str) -> Subscriber:
        """Idempotent; a suppressed address stays suppressed (that is the stronger state)."""
        subscriber = self.subscriber_for(token, tokens.UNSUBSCRIBE)
        if subscriber.status in {SubscriberStatus.PENDING, SubscriberStatus.ACTIVE}:
            self.subscribers.set_status(subscriber.subscriber_id, SubscriberStatus.UNSUBSCRIBED)
            self.searches.set_live(subscriber.subscriber_id, False)
            logger.info("subscriber unsubscribed", subscriber_id=subscriber.subscriber_id)
            metrics.add_metric(name="Unsubscribes", unit="Count", value=1)
            subscriber = subscriber.model_copy(update={"status": SubscriberStatus.UNSUBSCRIBED})
        return subscriber

    # ------------------------------------------------------------ digest web view

    @tracer.capture_method(capture_response=False)
    def digest_html(self, digest_id: str, token: str) -> str:
        """The archived page; InvalidToken for a bad or expired link, NotFound when gone."""
        subject = self.signer.verify(token, tokens.DIGEST)
        subscriber_id, _, signed_digest = subject.partition("|")
        if signed_digest != digest_id:
            raise InvalidToken("this link is not valid")
        html = self.archive.get(subscriber_id, digest_id)
        if html is None:
            raise NotFound("digest")
        return html

    @tracer.capture_method(capture_response=False)
    def short_digest_html(self, code: str) -> str:
        """The page behind a text message's `/d/<code>` link; same errors as `digest_html`."""
        digest_id = self.signer.verify_short(code, tokens.DIGEST)
        html = self.archive.get_by_id(digest_id)
        if html is None:
            raise NotFound("digest")
        return html
