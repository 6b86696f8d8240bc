"""What SES and SNS accepted during a local run, read back from moto and written to files."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from jobalerts_local.template import ACCOUNT_ID, REGION


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s\"'<>]+", self.part("plain"))


@dataclass(frozen=True)
class SentSms:
    message_id: str
    phone: str
    text: str


def sent_emails() -> list[SentEmail]:
    from moto.ses.models import ses_backends

    backend = ses_backends[ACCOUNT_ID][REGION]
    found = []
    for message in backend.sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
            found.append(SentEmail(message.id, data))
    return found


def sent_sms() -> list[SentSms]:
    from moto.sns.models import sns_backends

    backend = sns_backends[ACCOUNT_ID][REGION]
    return [SentSms(mid, phone, text) for mid, (phone, text) in backend.sms_messages.items()]


def write_outbox(directory: Path, emails: list[SentEmail], texts: list[SentSms]) -> None:
    """Each email as .eml (full MIME) and .html preview; every SMS in sms.txt."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in [*directory.glob("*.eml"), *directory.glob("*.html"), *directory.glob("sms.txt")]:
        stale.unlink()
    for number, sent in enumerate(emails, start=1):
        slug = re.sub(r"[^a-z0-9]+", "-", sent.subject.lower()).strip("-")[:50]
        stem = directory / f"{number:02d}-{slug}"
        stem.with_suffix(".eml").write_bytes(sent.raw)
        stem.with_suffix(".html").write_text(sent.part("html"))
    lines = [f"to {sms.phone} ({_length(sms.text)}):\n{sms.text}\n" for sms in texts]
    (directory / "sms.txt").write_text("\n".join(lines))


def _length(text: str) -> str:
    from jobalerts.digests.sms import measure

    size = measure(text)
    plural = "s" if size.segments != 1 else ""
    return f"{len(text)} chars, {size.segments} {size.encoding} segment{plural}"
