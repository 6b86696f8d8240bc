"""The subscription use cases: subscribe, confirm, manage saved searches, unsubscribe.

Nothing here knows about HTTP. Bad input raises `FieldError` (safe to show, names the field and,
for queries, the column); bad links raise `InvalidToken`; the web layer maps both to responses.

Subscribing never reveals whether an address is known: every accepted request gets the same
answer. What happens behind it:
- new address: a pending subscriber and its first search; a confirmation goes out.
- pending: the search is added (if new and under the limit); the confirmation is sent again.
- active: nothing is added (a stranger must not be able to change someone's alerts); the owner
  gets their manage link instead, so a person who forgot they subscribed can add it there.
- unsubscribed: the address opts in again from scratch (pending, new confirmation).
- suppressed (hard bounce or complaint): nothing is sent, ever.
Every message is counted against a per-address allowance in the state table, so the endpoint
cannot be used to flood a mailbox or a phone.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, select_autoescape

from jobalerts import inbound_sms as sms_rules
from jobalerts import query as query_language
from jobalerts import tokens
from jobalerts.delivery.email import EmailSender, OutgoingEmail
from jobalerts.delivery.sms import OptedOut, SmsSender
from jobalerts.digests.archive import DigestArchive
from jobalerts.errors import InvalidInput, InvalidToken, NotFound
from jobalerts.links import MANAGE_TTL, UNSUBSCRIBE_TTL, Links, expand_id
from jobalerts.matcher import shard_for
from jobalerts.models import (
    Channel,
    Frequency,
    SavedSearch,
    Subscriber,
    SubscriberStatus,
)
from jobalerts.observability import logger, metrics
from jobalerts.settings import Settings, get_settings
from jobalerts.store import SearchesRepository, StateRepository, SubscribersRepository
from jobalerts.store._dynamo import now_iso

MAX_SEARCHES = 25
# Confirmation (or "you are already subscribed") messages per address per window.
RESEND_LIMIT = 3
RESEND_WINDOW_SECONDS = 3600
SETTINGS_FIELDS = (
    "timezone",
    "digest_hour",
    "digest_weekday",
    "sms_quiet_start",
    "sms_quiet_end",
    "sms_daily_cap",
    "email_enabled",
    "sms_enabled",
)


class FieldError(InvalidInput):
    """Input a person can fix: which field, and for a query the 1-based column."""

    def __init__(self, message: str, field: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.column = column

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.message, "field": self.field}
        if self.column is not None:
            data["column"] = self.column
        return data


# ---------------------------------------------------------------- validation (pure)


def valid_email(value: Any) -> str:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str) or not value.strip():
        raise FieldError("enter an email address", "email")
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise FieldError(f"not a valid email address: {exc}", "email") from None
    # The email-index is looked up lower-cased; store it the same way.
    return checked.normalized.lower()


def valid_phone(value: Any) -> str:
    # Imported on first use: its metadata is heavy, and most requests carry no phone number.
    import phonenumbers

    if not isinstance(value, str) or not value.strip():
        raise FieldError("enter a phone number", "phone")
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise FieldError(
            "not a valid phone number: use international format, e.g. +14155550123", "phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError("not a valid phone number", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def valid_timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("enter a timezone, e.g. Europe/Berlin", "timezone")
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError(f"unknown timezone: {name[:64]}", "timezone") from None
    return name


def valid_query(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("enter a search", "query")
    try:
        # Parse what was typed, spaces included, so the column points into the user's input.
        query_language.parse(value)
    except query_language.QuerySyntaxError as exc:
        raise FieldError(exc.message, "query", exc.column) from None
    return value.strip()


def valid_choice(value: Any, kind: type[Channel] | type[Frequency], field: str) -> Any:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise FieldError(f"{field} must be one of: {allowed}", field) from None


def valid_int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise FieldError(f"{field} must be a whole number", field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(f"{field} must be a whole number", field) from None
    if not low <= number <= high:
        raise FieldError(f"{field} must be between {low} and {high}", field)
    return number


def valid_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in {"true", "on", "1", "yes"}:
        return True
    if str(value).strip().lower() in {"false", "off", "0", "no", ""}:
        return False
    raise FieldError(f"{field} must be true or false", field)


@dataclass(frozen=True)
class SearchInput:
    query: str
    channel: Channel
    frequency: Frequency

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SearchInput:
        return cls(
            query=valid_query(data.get("query")),
            channel=valid_choice(data.get("channel", "email"), Channel, "channel"),
            frequency=valid_choice(data.get("frequency", "daily"), Frequency, "frequency"),
        )


@dataclass(frozen=True)
class SubscribeInput:
    email: str | None
    phone: str | None
    timezone: str
    search: SearchInput
    digest_hour: int
    digest_weekday: int

    @classmethod
    def parse(cls, data: Any) -> SubscribeInput:
        if not isinstance(data, dict):
            raise FieldError("send a JSON object", "body")
        email = valid_email(data["email"]) if data.get("email") else None
        phone = valid_phone(data["phone"]) if data.get("phone") else None
        if email is None and phone is None:
            raise FieldError("enter an email address or a phone number", "email")
        search = SearchInput.parse(data)
        if search.channel is Channel.EMAIL and email is None:
            raise FieldError("email alerts need an email address", "email")
        if search.channel is Channel.SMS and phone is None:
            raise FieldError("text alerts need a phone number", "phone")
        return cls(
            email=email,
            phone=phone,
            timezone=valid_timezone(data.get("timezone", "UTC")),
            search=search,
            digest_hour=valid_int(data.get("digest_hour", 8), "digest_hour", 0, 23),
            digest_weekday=valid_int(data.get("digest_weekday", 0), "digest_weekday", 0, 6),
        )


def valid_settings(data: Any) -> dict[str, Any]:
    """The subscriber settings a person may change, validated; unknown keys are refused."""
    if not isinstance(data, dict):
        raise FieldError("send a JSON object", "body")
    unknown = sorted(set(data) - set(SETTINGS_FIELDS))
    if unknown:
        raise FieldError(f"cannot change: {', '.join(unknown)[:100]}", unknown[0][:40])
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "timezone":
            changes[key] = valid_timezone(value)
        elif key in {"digest_hour", "sms_quiet_start", "sms_quiet_end"}:
            changes[key] = valid_int(value, key, 0, 23)
        elif key == "digest_weekday":
            changes[key] = valid_int(value, key, 0, 6)
        elif key == "sms_daily_cap":
            changes[key] = valid_int(value, key, 1, 24)
        else:
            changes[key] = valid_bool(value, key)
    return changes


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


def _address_key(address: str) -> str:
    """Allowances are keyed by a hash: the state table never holds the address itself."""
    return hashlib.sha256(address.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- the service


class SubscriptionService:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        subscribers: SubscribersRepository | None = None,
        searches: SearchesRepository | None = None,
        state: StateRepository | None = None,
        archive: DigestArchive | None = None,
        email: EmailSender | None = None,
        sms: SmsSender | None = None,
        signer: tokens.Signer | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.subscribers = subscribers or SubscribersRepository()
        self.searches = searches or SearchesRepository()
        self.state = state or StateRepository()
        self.archive = archive or DigestArchive()
        self._email = email
        self._sms = sms
        self._signer = signer

    # Clients and the signing key are fetched on first use: a page view needs neither SES nor SNS.
    @cached_property
    def signer(self) -> tokens.Signer:
        return self._signer or tokens.load_signer(self.settings.signing_secret_name)

    @cached_property
    def links(self) -> Links:
        return Links(self.settings.public_base_url, self.signer)

    @cached_property
    def email(self) -> EmailSender:
        return self._email or EmailSender(
            self.settings.sender_email, self.settings.ses_configuration_set
        )

    @cached_property
    def sms(self) -> SmsSender:
        return self._sms or SmsSender()

    # ------------------------------------------------------------ tokens

    def subscriber_for(self, token: str, purpose: str) -> Subscriber:
        subscriber_id = self.signer.verify(token, purpose)
        try:
            return self.subscribers.get(subscriber_id)
        except NotFound:
            raise InvalidToken("this link is not valid") from None

    def subscriber_for_code(self, code: str, purpose: str = tokens.CONFIRM) -> Subscriber:
        """The subscriber behind a text message's short code (`/c/<code>`, `/m/<code>`)."""
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

    def subscribe(self, data: Any, now: datetime | None = None) -> None:
        request = SubscribeInput.parse(data)
        now = now or datetime.now(UTC)
        existing = None
        if request.email is not None:
            existing = self.subscribers.find_by_email(request.email)
        if existing is None and request.phone is not None:
            existing = self.subscribers.find_by_phone(request.phone)

        if existing is None:
            subscriber = Subscriber(
                subscriber_id=uuid.uuid4().hex,
                email=request.email,
                phone=request.phone,
                timezone=request.timezone,
                digest_hour=request.digest_hour,
                digest_weekday=request.digest_weekday,
                created_at=now,
            )
            self.subscribers.create(subscriber)
            self._add(subscriber.subscriber_id, request.search, now, live=False)
            logger.info("subscriber created", subscriber_id=subscriber.subscriber_id)
            metrics.add_metric(name="SubscribersCreated", unit="Count", value=1)
            self._send_confirmation(subscriber, request.search.channel, already_active=False)
            return

        subscriber = existing
        sid = subscriber.subscriber_id
        if subscriber.status is SubscriberStatus.SUPPRESSED:
            logger.info("subscribe ignored for suppressed subscriber", subscriber_id=sid)
            return
        if subscriber.status is SubscriberStatus.ACTIVE:
            self._send_confirmation(subscriber, request.search.channel, already_active=True)
            return
        if subscriber.status is SubscriberStatus.UNSUBSCRIBED:
            # Opting in again: a fresh start with the settings of this request.
            changes: dict[str, Any] = {
                "status": SubscriberStatus.PENDING,
                "timezone": request.timezone,
                "digest_hour": request.digest_hour,
                "digest_weekday": request.digest_weekday,
                "confirmed_at": None,
            }
            self.subscribers.update(sid, **{k: v for k, v in changes.items() if v is not None})
            subscriber = self.subscribers.get(sid)
        self._add_if_new(subscriber, request.search, now)
        self._send_confirmation(subscriber, request.search.channel, already_active=False)

    def _add_if_new(self, subscriber: Subscriber, search: SearchInput, now: datetime) -> None:
        # An address is never attached to someone else's subscription here: a search for a
        # channel the subscriber has no address for waits until they add it themselves.
        address = subscriber.email if search.channel is Channel.EMAIL else subscriber.phone
        if address is None:
            return
        subscriber_id = subscriber.subscriber_id
        current = self.searches.list_for(subscriber_id)
        if any(s.query == search.query and s.channel is search.channel for s in current):
            return
        if len(current) >= MAX_SEARCHES:
            return
        self._add(subscriber_id, search, now, live=subscriber.status is SubscriberStatus.ACTIVE)

    def _send_confirmation(
        self, subscriber: Subscriber, channel: Channel, *, already_active: bool
    ) -> None:
        use_sms = subscriber.phone is not None and (
            channel is Channel.SMS or subscriber.email is None
        )
        address = subscriber.phone if use_sms else subscriber.email
        if address is None:
            return
        window = int(time.time()) // RESEND_WINDOW_SECONDS
        allowed = self.state.take(
            "allowance#confirmation",
            f"{_address_key(address)}#{window}",
            RESEND_LIMIT,
            expiration=(window + 2) * RESEND_WINDOW_SECONDS,
        )
        sid = subscriber.subscriber_id
        if not allowed:
            logger.info("confirmation not sent: allowance used", subscriber_id=sid)
            metrics.add_metric(name="ConfirmationsThrottled", unit="Count", value=1)
            return
        if already_active:
            link = self.links.short_manage(sid) if use_sms else self.links.manage(sid)
        else:
            # A text message carries the short form, so the whole confirmation is one segment.
            link = self.links.short_confirm(sid) if use_sms else self.links.confirm(sid)
        if use_sms:
            try:
                self.sms.send(address, confirmation_sms(link, already_active=already_active))
            except OptedOut:
                logger.info("confirmation not sent: number opted out", subscriber_id=sid)
                return
        else:
            self.email.send(confirmation_email(address, link, already_active=already_active))
        logger.info("confirmation sent", subscriber_id=sid, channel="sms" if use_sms else "email")
        metrics.add_metric(name="ConfirmationsSent", unit="Count", value=1)

    # ------------------------------------------------------------ confirm

    def confirm(self, token: str, now: datetime | None = None) -> Subscriber:
        """Pending becomes active; confirming twice is harmless. Returns the subscriber."""
        return self._confirm(self.subscriber_for(token, tokens.CONFIRM), now)

    def confirm_code(self, code: str, now: datetime | None = None) -> Subscriber:
        """`confirm` for the short code of a text message."""
        return self._confirm(self.subscriber_for_code(code), now)

    def _confirm(self, subscriber: Subscriber, now: datetime | None) -> Subscriber:
        if subscriber.status is SubscriberStatus.PENDING:
            moment = now or datetime.now(UTC)
            self.subscribers.update(
                subscriber.subscriber_id, status=SubscriberStatus.ACTIVE, confirmed_at=moment
            )
            self.searches.set_live(subscriber.subscriber_id, True)
            logger.info("subscriber confirmed", subscriber_id=subscriber.subscriber_id)
            metrics.add_metric(name="SubscribersConfirmed", unit="Count", value=1)
            subscriber = subscriber.model_copy(
                update={"status": SubscriberStatus.ACTIVE, "confirmed_at": moment}
            )
        return subscriber

    # ------------------------------------------------------------ saved searches

    def list_searches(self, subscriber_id: str) -> list[SavedSearch]:
        return sorted(self.searches.list_for(subscriber_id), key=lambda s: s.created_at)

    def add_search(self, subscriber_id: str, data: Any, now: datetime | None = None) -> SavedSearch:
        if not isinstance(data, dict):
            raise FieldError("send a JSON object", "body")
        search = SearchInput.parse(data)
        subscriber = self.subscribers.get(subscriber_id)
        if search.channel is Channel.EMAIL and subscriber.email is None:
            raise FieldError("email alerts need an email address on your subscription", "channel")
        if search.channel is Channel.SMS and subscriber.phone is None:
            raise FieldError("text alerts need a phone number on your subscription", "channel")
        if len(self.searches.list_for(subscriber_id)) >= MAX_SEARCHES:
            raise FieldError(
                f"you have {MAX_SEARCHES} saved searches, the most allowed; delete one first",
                "query",
            )
        live = subscriber.status is SubscriberStatus.ACTIVE
        return self._add(subscriber_id, search, now or datetime.now(UTC), live=live)

    def _add(
        self, subscriber_id: str, search: SearchInput, now: datetime, *, live: bool
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
            updated_at=now_iso(),
            created_at=now,
        )
        self.searches.put(saved)
        logger.info("saved search added", subscriber_id=subscriber_id, search_id=search_id)
        return saved

    def delete_search(self, subscriber_id: str, search_id: str) -> None:
        """A tombstone, so match workers reading changes learn of it; NotFound if absent."""
        self.searches.delete(subscriber_id, search_id)
        logger.info("saved search deleted", subscriber_id=subscriber_id, search_id=search_id)

    # ------------------------------------------------------------ settings

    def update_settings(self, subscriber_id: str, data: Any) -> Subscriber:
        changes = valid_settings(data)
        if changes:
            self.subscribers.update(subscriber_id, **changes)
            logger.info("settings changed", subscriber_id=subscriber_id, fields=sorted(changes))
        return self.subscribers.get(subscriber_id)

    # ------------------------------------------------------------ unsubscribe

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

    def short_digest_html(self, code: str) -> str:
        """The page behind a text message's `/d/<code>` link; same errors as `digest_html`."""
        digest_id = self.signer.verify_short(code, tokens.DIGEST)
        html = self.archive.get_by_id(digest_id)
        if html is None:
            raise NotFound("digest")
        return html
