"""SMS length: GSM 03.38 septets or UCS-2 code units, and the segments a carrier bills.

One segment carries 140 bytes: 160 GSM-7 characters, or 70 UCS-2 code units. A longer message is
split into parts that each spend 6 bytes on a concatenation header: 153 septets or 67 units per
part. Characters of the GSM extension table (`^{}[]~|€\\` and form feed) take two septets and are
never split across parts; neither are UTF-16 surrogate pairs (emoji). One character outside the
GSM alphabet switches the whole message to UCS-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsLength:
    encoding: Encoding
    units: int
    segments: int


def _units(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def measure(text: str) -> SmsLength:
    """How a carrier will encode and split `text`."""
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    sizes = [_units(c, encoding) for c in text]
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        return SmsLength(encoding, units, 1 if text else 0)
    part, segments, used = PART[encoding], 1, 0
    for size in sizes:
        if used + size > part:
            segments += 1
            used = 0
        used += size
    return SmsLength(encoding, units, segments)


STOP_LINE = "Reply STOP to opt out"


def _jobs(count: int) -> str:
    return f"{count} new job{'s' if count != 1 else ''}"


def compose_sms(count: int, names: list[str], link: str, brand: str = "jobalerts") -> str:
    """The most informative text that needs the fewest segments.

    Candidates go from every search name down to none; names that would force UCS-2 (an emoji
    in a saved search) are dropped first. The link and the opt-out line are always there.
    """
    gsm_names = [n for n in names if is_gsm7(n)]
    candidates: list[str] = []
    for pool in (names, gsm_names):
        for keep in range(len(pool), 0, -1):
            shown = ", ".join(pool[:keep])
            rest = len(names) - keep
            more = f" +{rest} more" if rest else ""
            candidates.append(f"{brand}: {_jobs(count)}: {shown}{more}\n{link}\n{STOP_LINE}")
    candidates.append(f"{brand}: {_jobs(count)}\n{link}\n{STOP_LINE}")
    fewest = min(measure(c).segments for c in candidates)
    return next(c for c in candidates if measure(c).segments == fewest)
