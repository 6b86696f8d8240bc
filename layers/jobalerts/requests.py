"""What people send us (JSON bodies and form posts), as pydantic models.

Every body the web layer accepts is validated by one of these models through `parse`, the one
place a pydantic `ValidationError` becomes a `FieldError` (the `{"error", "field", "column"}`
answer). Validators raise `Refusal` (a ValueError, so pydantic collects it) carrying the exact
message, the field it names and, for queries, the 1-based column; the first error wins, so the
field order below is the order in which problems are reported.

Pure: no AWS, no HTTP.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jobalerts import query as query_language
from jobalerts.errors import InvalidInput
from jobalerts.models import MAX_SMS_DAILY_CAP, Channel, Frequency

MAX_EMAIL_LENGTH = 254
MAX_PHONE_LENGTH = 32
MAX_TIMEZONE_LENGTH = 64
MAX_HANDLE_LENGTH = 320
# Text messages go only to numbers a carrier says are mobile. phonenumbers cannot tell mobile
# from fixed in the US and Canada (FIXED_LINE_OR_MOBILE), so those pass; premium, shared-cost,
# toll-free, VoIP, pager, personal and landline numbers do not. Satellite (+881, +870, +882)
# and UIFN (+800) numbers have no region ("001"), so the country allowlist refuses them.
_TEXTABLE_TYPES = {1, 2}  # PhoneNumberType.MOBILE, FIXED_LINE_OR_MOBILE


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


class Refusal(ValueError):
    """Raised inside validators: pydantic keeps the exception in the error's context, so the
    message reaches the person unchanged (no "Value error, " prefix, no template formatting of
    text they typed)."""

    def __init__(self, message: str, field: str | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.column = column


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any, **context: Any) -> Model:
    """`data` as `model`, or the FieldError of its first problem: the one conversion."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise field_error(exc) from None


def field_error(exc: ValidationError) -> FieldError:
    first = exc.errors()[0]
    location = first.get("loc") or ()
    field = str(location[0])[:40] if location else "body"
    if not is_encodable(field):
        field = "body"
    problem = (first.get("ctx") or {}).get("error")
    if isinstance(problem, Refusal):
        return FieldError(problem.message, problem.field or field, problem.column)
    # Only our validators should refuse anything; a pydantic type error still names the field.
    return FieldError(f"{field} is not valid", field)


# ---------------------------------------------------------------- single values


def is_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_text(value: Any, field: str, max_length: int, empty: str) -> str:
    """A string a person could have typed: present, bounded, and encodable (no lone surrogate)."""
    if not isinstance(value, str) or not value.strip():
        raise Refusal(empty, field)
    if len(value) > max_length:
        raise Refusal(f"{field} is longer than {max_length} characters", field)
    if not is_encodable(value):
        raise Refusal(f"{field} contains characters that are not text", field)
    return value.strip()


def valid_email(value: Any) -> str:
    from email_validator import EmailNotValidError, validate_email

    text = valid_text(value, "email", MAX_EMAIL_LENGTH, "enter an email address")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Refusal(f"not a valid email address: {exc}", "email") from None
    # The email-index is looked up lower-cased; store it the same way.
    return checked.normalized.lower()


def valid_phone(value: Any, countries: frozenset[str] | None = None) -> str:
    """E.164; with `countries`, only a mobile number in one of them (we would text it)."""
    # Imported on first use: its metadata is heavy, and most requests carry no phone number.
    import phonenumbers

    text = valid_text(value, "phone", MAX_PHONE_LENGTH, "enter a phone number")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise Refusal(
            "not a valid phone number: use international format, e.g. +14155550123", "phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise Refusal("not a valid phone number", "phone")
    if countries is not None:
        region = phonenumbers.region_code_for_number(number) or "001"
        if region not in countries:
            raise Refusal(
                "we cannot send text messages to numbers in that country or network", "phone"
            )
        if phonenumbers.number_type(number) not in _TEXTABLE_TYPES:
            raise Refusal("text messages go only to mobile numbers", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # Only names of real zones: a folder ("Europe"), a path or a 300-character name is not one,
    # and ZoneInfo would raise OSError for them rather than say so.
    return frozenset(available_timezones() | {"UTC"})


def valid_timezone(value: Any) -> str:
    name = valid_text(
        value, "timezone", MAX_TIMEZONE_LENGTH, "enter a timezone, e.g. Europe/Berlin"
    )
    if name not in _zone_names():
        raise Refusal(f"unknown timezone: {name}", "timezone")
    return name


def valid_query(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refusal("enter a search", "query")
    if not is_encodable(value):
        raise Refusal("query contains characters that are not text", "query")
    try:
        # Parse what was typed, spaces included, so the column points into the user's input.
        query_language.parse(value)
    except query_language.QuerySyntaxError as exc:
        raise Refusal(exc.message, "query", exc.column) from None
    return value.strip()


def _choice(kind: type[Channel] | type[Frequency], field: str) -> Any:
    allowed = ", ".join(member.value for member in kind)

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise Refusal(f"{field} must be one of: {allowed}", field)
        try:
            return kind(value.strip().lower())
        except ValueError:
            raise Refusal(f"{field} must be one of: {allowed}", field) from None

    return check


def _whole_number(field: str, low: int, high: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise Refusal(f"{field} must be a whole number", field)
        text = str(value).strip()
        if len(text) > 4 or not text.lstrip("-").isdigit() or not text.isascii():
            raise Refusal(f"{field} must be a whole number", field)
        number = int(text)
        if not low <= number <= high:
            raise Refusal(f"{field} must be between {low} and {high}", field)
        return number

    return check


def _switch(field: str) -> Any:
    def check(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str | int):
            text = str(value).strip().lower()
            if text in {"true", "on", "1", "yes"}:
                return True
            if text in {"false", "off", "0", "no", ""}:
                return False
        raise Refusal(f"{field} must be true or false", field)

    return check


def _optional(check: Any) -> Any:
    """An address field left empty (or absent) is no address, not a bad one."""
    return lambda value: check(value) if value else None


# ---------------------------------------------------------------- bodies


class Body(BaseModel):
    """Every body is a JSON object (or a form); anything else is refused before the fields."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise Refusal("send a JSON object", "body")
        return data


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    return sorted(set(data) - set(allowed))


def _unknown_field(unknown: list[str]) -> str:
    return unknown[0][:40] if is_encodable(unknown[0]) else "body"


Query = Annotated[str, BeforeValidator(valid_query)]
ChannelField = Annotated[Channel, BeforeValidator(_choice(Channel, "channel"))]
FrequencyField = Annotated[Frequency, BeforeValidator(_choice(Frequency, "frequency"))]


class SearchRequest(Body):
    """A saved search to add."""

    query: Query = Field(default=None, validate_default=True)
    channel: ChannelField = Channel.EMAIL
    frequency: FrequencyField = Frequency.DAILY


class PreviewRequest(Body):
    """A search to try before saving it."""

    query: Query = Field(default=None, validate_default=True)


SEARCH_FIELDS = ("query", "channel", "frequency")


class SearchChanges(Body):
    """The fields of a saved search being edited: any of query, channel, frequency, at least one;
    validated as when adding, unknown keys refused."""

    query: Query | None = None
    channel: ChannelField | None = None
    frequency: FrequencyField | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = _only(data, SEARCH_FIELDS)
            if unknown:
                raise Refusal(
                    "only query, channel and frequency can be changed", _unknown_field(unknown)
                )
            if not data:
                raise Refusal("send a query, channel or frequency to change", "body")
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class SubscribeRequest(Body):
    """A sign-up: an address (or two), the first search and when digests come.

    Validated with `context={"countries": ...}`: the countries texts may go to."""

    email: Annotated[str | None, BeforeValidator(_optional(valid_email))] = None
    phone: str | None = None
    query: str = Field(default=None, validate_default=True)
    channel: ChannelField = Channel.EMAIL
    frequency: FrequencyField = Frequency.DAILY
    timezone: Annotated[str, BeforeValidator(valid_timezone)] = "UTC"
    digest_hour: Annotated[int, BeforeValidator(_whole_number("digest_hour", 0, 23))] = 8
    digest_weekday: Annotated[int, BeforeValidator(_whole_number("digest_weekday", 0, 6))] = 0

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any, info: ValidationInfo) -> str | None:
        if not value:
            return None
        return valid_phone(value, (info.context or {}).get("countries"))

    @field_validator("query", mode="before")
    @classmethod
    def _query(cls, value: Any, info: ValidationInfo) -> str:
        # Where to send comes first: a sign-up without an address is refused for that.
        known = info.data
        if "email" in known and "phone" in known and known["email"] is known["phone"] is None:
            raise Refusal("enter an email address or a phone number", "email")
        return valid_query(value)

    @model_validator(mode="after")
    def _deliverable(self) -> SubscribeRequest:
        if self.channel is Channel.EMAIL and self.email is None:
            raise Refusal("email alerts need an email address", "email")
        if self.channel is Channel.SMS and self.phone is None:
            raise Refusal("text alerts need a phone number", "phone")
        return self

    @property
    def search(self) -> SearchRequest:
        return SearchRequest.model_construct(
            query=self.query, channel=self.channel, frequency=self.frequency
        )

    @property
    def destination(self) -> str:
        """The address the search is delivered to, and so the one the link goes to."""
        address = self.email if self.channel is Channel.EMAIL else self.phone
        assert address is not None  # _deliverable guarantees it
        return address

    @property
    def other(self) -> tuple[Channel, str] | None:
        """The second address given, if any: it gets its own link once the first is confirmed."""
        if self.channel is Channel.EMAIL and self.phone is not None:
            return Channel.SMS, self.phone
        if self.channel is Channel.SMS and self.email is not None:
            return Channel.EMAIL, self.email
        return None


class ChannelRequest(Body):
    """An email address or a phone number to add; exactly one. Context: `countries`."""

    email: str | None = None
    phone: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        email, phone = data.get("email"), data.get("phone")
        if bool(email) == bool(phone):
            raise Refusal("send either an email address or a phone number", "email")
        if email:
            return {"email": valid_email(email)}
        return {"phone": valid_phone(phone, (info.context or {}).get("countries"))}

    @property
    def channel(self) -> Channel:
        return Channel.EMAIL if self.email else Channel.SMS

    @property
    def address(self) -> str:
        address = self.email or self.phone
        assert address is not None  # _one guarantees it
        return address


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


def _hour(field: str) -> Any:
    return BeforeValidator(_whole_number(field, 0, 23))


class SettingsChanges(Body):
    """The subscriber settings a person may change; unknown keys are refused."""

    timezone: Annotated[str | None, BeforeValidator(valid_timezone)] = None
    digest_hour: Annotated[int | None, _hour("digest_hour")] = None
    digest_weekday: Annotated[
        int | None, BeforeValidator(_whole_number("digest_weekday", 0, 6))
    ] = None
    sms_quiet_start: Annotated[int | None, _hour("sms_quiet_start")] = None
    sms_quiet_end: Annotated[int | None, _hour("sms_quiet_end")] = None
    sms_daily_cap: Annotated[
        int | None, BeforeValidator(_whole_number("sms_daily_cap", 1, MAX_SMS_DAILY_CAP))
    ] = None
    email_enabled: Annotated[bool | None, BeforeValidator(_switch("email_enabled"))] = None
    sms_enabled: Annotated[bool | None, BeforeValidator(_switch("sms_enabled"))] = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = _only(data, SETTINGS_FIELDS)
            if unknown:
                listed = ", ".join(unknown)[:100] if is_encodable("".join(unknown)) else "a field"
                raise Refusal(f"cannot change: {listed}", _unknown_field(unknown))
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# The keys of `pauses.DURATIONS` (a use case; this module stays pure).
PAUSE_CHOICES = ("1w", "2w", "resumed")


def _duration(value: Any) -> str:
    if not isinstance(value, str) or value not in PAUSE_CHOICES:
        raise Refusal("for must be one of: 1w, 2w, resumed", "for")
    return value


class PauseRequest(Body):
    """`{"for": "1w" | "2w" | "resumed"}`."""

    duration: Annotated[str, BeforeValidator(_duration)] = Field(
        default=None, alias="for", validate_default=True
    )


def _account(value: Any) -> str:
    return valid_text(value, "account", MAX_HANDLE_LENGTH, "name an account")


class UnmuteRequest(Body):
    """`{"account": "@acme"}`."""

    account: Annotated[str, BeforeValidator(_account)] = Field(default=None, validate_default=True)
