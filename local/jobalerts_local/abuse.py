"""`jobalerts abuse` / `make abuse`: replay the attacks of issue 10 over real HTTP and count.

The service runs as `jobalerts serve` runs it (moto in-process, every resource from
template.yaml, the function behind `ApiServer` on a localhost port); the attacks are plain HTTP
requests from many loopback addresses (127.0.0.0/8 is all loopback on Linux, so each "client" has
its own source address, as a botnet would). Afterwards the pipeline runs (ingest -> match ->
digest -> deliver) so anything that would be sent to an unconfirmed channel is sent, and counted.

Per attack it prints: requests tried, 5xx answers, messages sent to an address that never
confirmed (other than the confirmation link itself), 429 answers, and stored items added by
requests that were refused (any 4xx), measured around each such request.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

from jobalerts_local.outbox import sent_emails, sent_sms
from jobalerts_local.template import ACCOUNT_ID, REGION

RATE_LIMIT_PK = "ratelimit#"


def stored_items() -> list[str]:
    """Every item in every table, except rate-limit counters (hashes; counting is the point)."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    items = []
    for table in backend.tables.values():
        for item in table.all_items():
            data = item.to_json()["Attributes"]
            if str(data.get("pk", {}).get("S", "")).startswith(RATE_LIMIT_PK):
                continue
            # Binary attributes (the previews' window chunks) come back as bytes.
            items.append(json.dumps(data, sort_keys=True, default=repr))
    return sorted(items)


@dataclass
class Report:
    tallies: list[Tally]
    digests: int


@dataclass
class Tally:
    attack: str
    tried: int = 0
    server_errors: int = 0
    rate_limited: int = 0
    stored_by_rejected: int = 0
    unconfirmed_sends: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class Attacker:
    """Sends requests to the server and tallies them under the current attack."""

    def __init__(self, base_url: str, lock: Any) -> None:
        parts = urlparse(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.lock = lock
        self.tallies: list[Tally] = []

    def attack(self, name: str) -> Tally:
        self.tallies.append(Tally(name))
        return self.tallies[-1]

    def send(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        client: str = "127.0.0.1",
    ) -> Response:
        tally = self.tallies[-1]
        # The service is idle between requests (no scheduler runs), so the difference between
        # these snapshots is what this request stored.
        with self.lock:
            before = stored_items()
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=30, source_address=(client, 0)
        )
        try:
            connection.request(method, path, body=data, headers=headers or {})
            raw = connection.getresponse()
            response = Response(
                raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read().decode()
            )
        finally:
            connection.close()
        tally.tried += 1
        tally.statuses[response.status] = tally.statuses.get(response.status, 0) + 1
        if response.status >= 500:
            tally.server_errors += 1
        if response.status == 429:
            tally.rate_limited += 1
        if 400 <= response.status < 500:
            with self.lock:
                after = stored_items()
            tally.stored_by_rejected += len(set(after) - set(before))
        return response

    def json(
        self, method: str, path: str, data: Any, client: str = "127.0.0.1", **kw: Any
    ) -> Response:
        headers = {"content-type": "application/json", **kw.pop("headers", {})}
        return self.send(method, path, json.dumps(data), headers=headers, client=client)


def _clients(prefix: str, count: int) -> Iterator[str]:
    for n in range(count):
        yield f"127.{prefix}.{n // 250}.{n % 250 + 1}"


def _token(link: str) -> str:
    return parse_qs(urlparse(link).query)["t"][0]


def _confirm_link_to(address: str) -> str | None:
    for mail in reversed(sent_emails()):
        if mail.to == address:
            return next((link for link in mail.links() if "/confirm?" in link), None)
    return None


def _short_code_to(phone: str) -> str | None:
    for text in reversed(sent_sms()):
        if text.phone == phone:
            return next((w.rsplit("/", 1)[1] for w in text.text.split() if "/c/" in w), None)
    return None


SIGNUP = {
    "email": "mallory@example.com",
    "timezone": "UTC",
    "query": "python",
    "channel": "email",
    "frequency": "instant",
}


def second_channel(a: Attacker, victim_phone: str, victim_email: str) -> None:
    """Issue 10 finding 1: confirm your own email, then text (or mail) someone else."""
    a.attack("second channel without its own opt-in")
    a.json("POST", "/subscriptions", {**SIGNUP, "phone": victim_phone})
    link = _confirm_link_to("mallory@example.com")
    assert link is not None
    confirmed = a.send("POST", f"/confirm?t={quote(_token(link))}", b"")
    manage = _token(confirmed.headers.get("location", "/?t=x"))
    bearer = {"authorization": f"Bearer {manage}"}
    a.json("POST", "/api/searches", {"query": "python", "channel": "sms"}, headers=bearer)
    a.json("POST", "/api/channels", {"phone": victim_phone}, headers=bearer)
    a.json("POST", "/api/channels", {"email": victim_email}, headers=bearer)
    a.json("PATCH", "/api/subscriber", {"sms_quiet_start": 0, "sms_quiet_end": 0}, headers=bearer)
    a.json("PATCH", "/api/subscriber", {"sms_daily_cap": 24}, headers=bearer)
    # A phone-first sign-up naming someone else's email: the email only gets its own link.
    a.json(
        "POST",
        "/subscriptions",
        {**SIGNUP, "email": victim_email, "phone": "+14155550177", "channel": "sms"},
        client="127.0.0.2",
    )
    code = _short_code_to("+14155550177")
    if code is not None:
        a.send("POST", f"/c/{code}", b"", client="127.0.0.2")


def sms_pumping(a: Attacker, numbers: int) -> None:
    """Finding 2: many numbers from many clients, and numbers that bill the sender."""
    a.attack("SMS pumping and toll fraud")
    clients = _clients("10", numbers + 20)
    for n in range(numbers):
        body = {**SIGNUP, "email": None, "phone": f"+1415555{n + 200:04d}", "channel": "sms"}
        a.json("POST", "/subscriptions", body, client=next(clients))
    for phone in [
        "+19005550123",
        "+448712345678",
        "+449090901234",
        "+33899123456",
        "+80012345678",
        "+881612345678",
        "+870772222222",
        "+882345678901",
        "+442079460000",
        "+18005550123",
    ]:
        body = {**SIGNUP, "email": None, "phone": phone, "channel": "sms"}
        a.json("POST", "/subscriptions", body, client=next(clients))


def mailbox_flooding(a: Attacker, spellings: int) -> None:
    """Finding 3: one inbox under many sub-addresses (and Gmail dots), from many clients."""
    a.attack("mailbox flooding by sub-address")
    clients = _clients("20", spellings * 2)
    for n in range(spellings):
        a.json(
            "POST",
            "/subscriptions",
            {**SIGNUP, "email": f"victim+{n}@example.com"},
            client=next(clients),
        )
    for n in range(spellings):
        dotted = ".".join("victim") + f"+{n}@gmail.com"
        a.json("POST", "/subscriptions", {**SIGNUP, "email": dotted}, client=next(clients))


def one_client(a: Attacker, requests: int) -> None:
    """One address signing up many destinations."""
    a.attack("one client, many addresses")
    for n in range(requests):
        a.json(
            "POST", "/subscriptions", {**SIGNUP, "email": f"p{n}@example.org"}, client="127.0.0.9"
        )


def crashes(a: Attacker) -> None:
    """Findings 4-9 and 15: inputs that used to be 500s, and HEAD / wrong methods."""
    a.attack("inputs that used to be 500s")
    client = "127.30.0.1"
    for token in ["abc.%C3%A9", "x." + "%C3%A9" * 50]:
        for path in ["/manage", "/confirm", "/unsubscribe", "/digests/x"]:
            a.send("GET", f"{path}?t={token}", client=client)
    a.send(
        "GET",
        "/api/searches",
        headers={"authorization": "Bearer abc.\u00e9".encode().decode("latin-1")},
        client=client,
    )
    for timezone in ["Europe", "America", "Europe/" + "x" * 300, "../../etc/passwd"]:
        a.json("POST", "/subscriptions", {**SIGNUP, "timezone": timezone}, client=client)
    a.json(
        "POST", "/subscriptions", {**SIGNUP, "query": "(" * 200 + "a" + ")" * 200}, client=client
    )
    a.send(
        "POST",
        "/subscriptions",
        "[" * 5000 + "]" * 5000,
        {"content-type": "application/json"},
        client,
    )
    a.send(
        "POST",
        "/subscribe",
        b"email=a%40example.com&query=\xff\xfe&timezone=UTC",
        {"content-type": "application/x-www-form-urlencoded"},
        client,
    )
    a.send(
        "POST",
        "/subscriptions",
        json.dumps({**SIGNUP, "email": "surrogate@example.com", "query": "python \ud800x"}),
        {"content-type": "application/json"},
        client,
    )
    a.send("HEAD", "/", client=client)
    a.send("PUT", "/subscriptions", "{}", {"content-type": "application/json"}, client)
    a.send("DELETE", "/", client=client)


def weaker(a: Attacker) -> None:
    """Findings 10-13: re-subscription, replayed links, Origin null, text/plain, the cap."""
    a.attack("re-subscription, replays, CSRF")
    client = "127.40.0.1"
    owner = {**SIGNUP, "email": "owner@example.com", "timezone": "Europe/Berlin"}
    a.json("POST", "/subscriptions", owner, client=client)
    link = _confirm_link_to("owner@example.com")
    assert link is not None
    first = a.send("POST", f"/confirm?t={quote(_token(link))}", b"", client=client)
    a.send("POST", f"/confirm?t={quote(_token(link))}", b"", client=client)  # replayed
    manage = _token(first.headers.get("location", "/?t=x"))
    a.json(
        "POST",
        "/subscriptions",
        {**owner, "timezone": "Asia/Tokyo", "query": "crypto"},
        client="127.40.0.2",
    )
    form = {"content-type": "application/x-www-form-urlencoded", "origin": "null"}
    a.send("POST", "/subscribe", urlencode(owner), form, client)
    a.send("POST", f"/manage/searches?t={quote(manage)}", "query=spam&channel=email", form, client)
    a.send("POST", "/subscriptions", json.dumps(owner), {"content-type": "text/plain"}, client)
    bearer = {"authorization": f"Bearer {manage}"}
    for n in range(27):
        a.json("POST", "/api/searches", {"query": f"job{n}"}, headers=bearer, client=client)


def _is_confirmation(subject_or_text: str) -> bool:
    from jobalerts.inbound_sms import PROGRAM

    # The texts open with the program name carriers require (see jobalerts.inbound_sms).
    return subject_or_text.startswith(("Confirm your jobalerts", f"{PROGRAM}: confirm your"))


def digests_sent() -> int:
    """Everything the pipeline sent (not confirmation links): shows the check is not vacuous."""
    mails = sum(not _is_confirmation(m.subject) for m in sent_emails())
    return mails + sum(not _is_confirmation(t.text) for t in sent_sms())


def unconfirmed_sends() -> int:
    """Messages other than confirmation links, to addresses no subscriber has confirmed."""
    from jobalerts import wiring
    from jobalerts_local.settings import get_settings

    confirmed: set[str] = set()
    table = wiring.subscribers(get_settings()).table
    for item in table.scan().get("Items", []):
        if item.get("email_confirmed") and item.get("email"):
            confirmed.add(str(item["email"]))
        if item.get("phone_confirmed") and item.get("phone"):
            confirmed.add(str(item["phone"]))
    count = 0
    for mail in sent_emails():
        if not _is_confirmation(mail.subject) and mail.to not in confirmed:
            count += 1
    for text in sent_sms():
        if not _is_confirmation(text.text) and text.phone not in confirmed:
            count += 1
    return count


def run(base_url: str, lock: Any, pipeline: Callable[[datetime], None], *, quick: bool) -> Report:
    attacker = Attacker(base_url, lock)
    second_channel(attacker, "+14155550142", "someone.else@example.com")
    sms_pumping(attacker, 12 if quick else 50)
    mailbox_flooding(attacker, 6 if quick else 20)
    one_client(attacker, 12 if quick else 40)
    crashes(attacker)
    weaker(attacker)
    with lock:
        pipeline(datetime.now(UTC) + timedelta(days=8))
        # Charged to the first attack, the one that tries to set such sends up.
        attacker.tallies[0].unconfirmed_sends = unconfirmed_sends()
        return Report(attacker.tallies, digests_sent())


def table(tallies: list[Tally]) -> str:
    rows = [
        "| attack | requests tried | 5xx | unconfirmed sends | rate-limited (429) | stored by rejected requests |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in tallies:
        rows.append(
            f"| {t.attack} | {t.tried} | {t.server_errors} | {t.unconfirmed_sends} | "
            f"{t.rate_limited} | {t.stored_by_rejected} |"
        )
    total = Tally(
        "total",
        tried=sum(t.tried for t in tallies),
        server_errors=sum(t.server_errors for t in tallies),
        rate_limited=sum(t.rate_limited for t in tallies),
        stored_by_rejected=sum(t.stored_by_rejected for t in tallies),
        unconfirmed_sends=sum(t.unconfirmed_sends for t in tallies),
    )
    rows.append(
        f"| **{total.attack}** | {total.tried} | {total.server_errors} | "
        f"{total.unconfirmed_sends} | {total.rate_limited} | {total.stored_by_rejected} |"
    )
    return "\n".join(rows)


def run_abuse(*, quick: bool = False) -> Report:
    """Start the service as `jobalerts serve` does, on a free port, and attack it."""
    from jobalerts_local.http import ApiServer
    from jobalerts_local.service import local_service

    # Every loopback source address reaches 127.0.0.1, so one listener serves all "clients".
    with (
        local_service("http://127.0.0.1") as service,
        ApiServer(handler=service.handle_http, host="127.0.0.1", port=0) as server,
    ):
        return run(server.base_url, service.lock, service.run_pipeline, quick=quick)
