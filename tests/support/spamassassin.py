"""Scoring raw emails with Debian's SpamAssassin, local rules only (this module holds no tests).

Every message goes into one mbox and through one `spamassassin -L -t --mbox` process: loading
the rule set costs seconds, checking a message milliseconds. Bayes is off, so a score depends on
the message and the rules only, never on what this machine learned before.
"""

from __future__ import annotations

import mailbox
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

import pytest

INSTALL_HINT = "spamassassin is not installed: run `make tools` (apt-get install spamassassin)"
_STATUS = re.compile(
    r"^X-Spam-Status: (?:Yes|No), score=(-?\d+(?:\.\d+)?) required=\S+\s+tests=(.*?)"
    r"\s+autolearn=",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Verdict:
    subject: str
    score: float
    rules: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.score:4.1f} {self.subject!r}: {', '.join(self.rules) or '-'}"


def spamassassin() -> str:
    """The executable; a test that needs it fails (not skips) on a machine without it."""
    found = shutil.which("spamassassin")
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def score(raws: list[bytes]) -> list[Verdict]:
    """One verdict per raw message, in order."""
    command = spamassassin()
    with tempfile.TemporaryDirectory() as tmp:
        box_path = Path(tmp) / "mail.mbox"
        box = mailbox.mbox(box_path)
        for raw in raws:
            box.add(mailbox.mboxMessage(message_from_bytes(raw)))
        box.close()
        with box_path.open("rb") as stdin:
            done = subprocess.run(  # noqa: S603 - the system's spamassassin, fixed arguments
                [
                    command,
                    "--local",
                    "--test-mode",
                    "--mbox",
                    f"--prefspath={tmp}/user_prefs",
                    "--cf=use_bayes 0",
                    "--cf=use_auto_whitelist 0",
                ],
                stdin=stdin,
                capture_output=True,
                timeout=240,
                check=False,
            )
    output = done.stdout.decode(errors="replace")
    found = _STATUS.findall(output)
    problem = f"spamassassin exit {done.returncode}, {len(found)} verdicts for {len(raws)}:\n"
    problem += done.stderr.decode(errors="replace")[-2000:]
    assert done.returncode == 0, problem
    assert len(found) == len(raws), problem
    verdicts = []
    for raw, (points, rules) in zip(raws, found, strict=True):
        subject = str(message_from_bytes(raw)["Subject"] or "")
        names = tuple(r for r in re.split(r"[\s,]+", rules) if r and r != "none")
        verdicts.append(Verdict(subject, float(points), names))
    return verdicts
