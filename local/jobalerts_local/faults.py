"""Faults at the HTTP layer of every AWS call, the way production meets them.

The hook is a botocore `before-send` handler, which runs once per attempt inside botocore's
retry loop: whatever retries a client is configured with run against these faults exactly as
they would against AWS. It takes the place of moto's own `before-send` stubber in
`botocore.handlers.BUILTIN_HANDLERS` (so every session and client created afterwards carries
it) and hands moto the requests it lets through. Standing in front of moto was not enough:
botocore emits `before-send` to every handler and only then takes the first answer, so moto
carried out requests the hook had already refused (a throttled SES send went out, the caller
retried it, and the digest arrived twice with no ambiguous send behind it).

Kinds (one is drawn per faulted attempt):
- `throttling`, `http_500`, `http_503`: an error response; the request never reached AWS.
- `connection_reset`: the connection drops before the request is sent.
- `read_timeout`: the request reaches moto and takes effect, then the client times out waiting
  for the answer. The caller cannot tell whether it worked: the ambiguous case. When the call
  was SES SendEmail or SNS Publish, the message went out (`ambiguous_send`).
- `crash` (drawn once per invocation, see `arm`): the function dies at one of its calls, between
  its previous write and this one (Lambda's timeout, an out-of-memory kill). Raised as a
  BaseException so no `except Exception` swallows it.

Step-boundary faults (a stream batch failing half-way, a duplicated SQS message) are the
pumps' business: see `jobalerts_local.simulate`.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

HTTP_KINDS = ("throttling", "http_500", "http_503", "connection_reset", "read_timeout")
# A crash is drawn once per invocation, then lands on one of its first CRASH_SPAN calls: drawn
# per call it would kill every long invocation (an ingest run with a backlog) every time.
CRASH_SPAN = 20
SEND_OPERATIONS = {("sesv2", "SendEmail"), ("sns", "Publish")}
# Error codes botocore's retry modes (legacy and standard) both treat as throttling.
_THROTTLE_CODE = {
    "dynamodb": "ThrottlingException",
    "sesv2": "TooManyRequestsException",
    "sns": "Throttling",
}


class SimulatedCrash(BaseException):
    """The function instance died mid-invocation."""


@dataclass
class Accepted:
    """A send that reached moto: which operation, the request body, whether it was ambiguous."""

    operation: str
    body: bytes
    """The request as sent (its SES tags are in it)."""
    ambiguous: bool
    message: str = ""
    """moto's id of the email or text it produced, to tell which sent message it was."""


@dataclass
class _Invocation:
    """One function invocation's fault state, shared with any thread it hands calls to."""

    crash_in: int | None = None


@dataclass
class FaultInjector:
    rate: float
    rng: random.Random
    kinds: tuple[str, ...] = HTTP_KINDS
    counts: Counter[str] = field(default_factory=Counter)
    accepted: list[Accepted] = field(default_factory=list)
    """Every SES/SNS send that took effect, in order (the harness reads tags from them)."""
    # A context variable, not a thread-local: a function that runs calls on worker threads (the
    # digest function's parallel stamps) copies its context into them, so they are faulted,
    # and crash, as its own calls are; the harness's other threads (HTTP servers) are not.
    _invocation: ContextVar[_Invocation | None] = field(
        default_factory=lambda: ContextVar("fault_invocation", default=None)
    )
    _armed: int | None = None
    _local: threading.local = field(default_factory=threading.local)

    @contextmanager
    def enabled(self) -> Iterator[None]:
        """Faults only while a function runs: the harness's own calls play AWS's pollers."""
        token = self._invocation.set(_Invocation(crash_in=self._armed))
        self._armed = None
        try:
            yield
        finally:
            self._invocation.reset(token)

    def arm(self, at: int | None = None) -> None:
        """A new invocation: with probability `rate` it will crash at one of its calls."""
        if at is None and self.draw():
            at = self.rng.randint(1, CRASH_SPAN)
        self._armed = at

    def draw(self) -> bool:
        return self.rate > 0 and self.rng.random() < self.rate

    def after_call(self, event_name: str, parsed: Any = None, **kwargs: Any) -> None:
        """A send that succeeded as far as its caller knows."""
        _, operation = _service_and_operation(event_name)
        message: Any = parsed.get("MessageId") if isinstance(parsed, dict) else None
        if message:
            body = getattr(self._local, "send_body", b"")
            self.accepted.append(Accepted(operation, body, False, str(message)))

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        service, operation = _service_and_operation(event_name)
        is_send = (service, operation) in SEND_OPERATIONS
        if is_send:
            # Kept for after-call, which sees the answer but not the request (its SES tags).
            self._local.send_body = _body(request)
        invocation = self._invocation.get()
        if invocation is None:
            return _moto(request, event_name)
        if invocation.crash_in is not None:
            invocation.crash_in -= 1
            if invocation.crash_in <= 0:
                invocation.crash_in = None
                self.counts["crash"] += 1
                raise SimulatedCrash(event_name)
        if not self.draw():
            return _moto(request, event_name)
        kind = self.rng.choice(self.kinds)
        self.counts[kind] += 1
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        if kind == "connection_reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        if kind == "read_timeout":
            response = _moto(request, event_name)
            if is_send and response is not None and response.status_code < 300:
                self.counts["ambiguous_send"] += 1
                self.accepted.append(
                    Accepted(operation, _body(request), True, _last_message(operation))
                )
            raise ReadTimeoutError(endpoint_url=request.url)
        status, code = {
            "throttling": (429 if service == "sesv2" else 400, _THROTTLE_CODE.get(service)),
            "http_500": (500, "InternalFailure"),
            "http_503": (503, "ServiceUnavailable"),
        }[kind]
        return _error_response(request, service, status, code or "ThrottlingException")


def _service_and_operation(event_name: str) -> tuple[str, str]:
    parts = event_name.split(".")
    return (parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")


def _body(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes):
        return body
    return bytes(body.read()) if hasattr(body, "read") else b""


def _last_message(operation: str) -> str:
    from jobalerts_local.template import ACCOUNT_ID, REGION

    if operation == "SendEmail":
        from moto.ses.models import ses_backends

        sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
        return str(sent[-1].id) if sent else ""
    from moto.sns.models import sns_backends

    texts = sns_backends[ACCOUNT_ID][REGION].sms_messages
    return str(next(reversed(texts))) if texts else ""


def _moto(request: Any, event_name: str) -> Any:
    """Let moto answer now, so the request takes effect before we decide what the client sees."""
    from moto.core.models import botocore_stubber

    return botocore_stubber(event_name=event_name, request=request)


def _error_response(request: Any, service: str, status: int, code: str) -> Any:
    """An error in the request's own protocol, so botocore parses and classifies it as AWS's."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    headers = {"x-amzn-RequestId": "simulated", "x-amzn-ErrorType": code}
    if request.headers.get("X-Amz-Target") or service == "sesv2":
        body = json.dumps({"__type": code, "message": "simulated fault"}).encode()
        headers["Content-Type"] = "application/x-amz-json-1.0"
    elif _body(request).startswith(b"Action="):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>simulated fault</Message></Error>"
            "<RequestId>simulated</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    else:
        body = json.dumps({"message": "simulated fault"}).encode()
        headers["Content-Type"] = "application/json"
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(request.url, status, http_headers, CannedBody(body))


class CannedBody:
    """What AWSResponse reads a body from: an answer made up without a request reaching AWS."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@contextmanager
def installed(injector: FaultInjector) -> Iterator[None]:
    """Put the hook in moto's place for every session created from now on."""
    import boto3
    from botocore.handlers import BUILTIN_HANDLERS
    from moto.core.models import botocore_stubber

    moto = next(
        i
        for i, entry in enumerate(BUILTIN_HANDLERS)
        if entry[0] == "before-send" and entry[1] is botocore_stubber
    )
    hook = ("before-send", injector)
    sends = [(f"after-call.{s}.{o}", injector.after_call) for s, o in SEND_OPERATIONS]
    BUILTIN_HANDLERS[moto] = hook
    BUILTIN_HANDLERS.extend(sends)
    # Sessions made earlier were built without the hook; the next client is built anew.
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        BUILTIN_HANDLERS[BUILTIN_HANDLERS.index(hook)] = ("before-send", botocore_stubber)
        for send in sends:
            BUILTIN_HANDLERS.remove(send)
        boto3.DEFAULT_SESSION = None
