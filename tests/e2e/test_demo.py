"""`jobalerts demo`, as `make demo` runs it: the console command, a fresh process, a real outbox."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.spamassassin import score

pytestmark = pytest.mark.e2e


def test_the_demo_prints_its_summary_and_leaves_mail_and_texts_in_the_outbox(
    tmp_path: Path,
) -> None:
    # Given the console script installed next to this interpreter
    command = Path(sys.executable).with_name("jobalerts")

    # When the demo runs end to end
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(command), "demo", "--outbox", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it succeeds and says what it did
    assert done.returncode == 0, done.stderr[-3000:]
    assert "posts fetched and stored" in done.stdout
    assert "rejected bad search" in done.stdout
    assert "column" in done.stdout

    # And the outbox holds digest emails with their one-click unsubscribe headers
    digests = []
    for path in sorted(tmp_path.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["List-Unsubscribe"]:
            digests.append(message)
    assert digests, f"no digest .eml in {sorted(p.name for p in tmp_path.iterdir())}"
    for message in digests:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert list(tmp_path.glob("*.html")), "no html preview"

    # And SpamAssassin (local rules) scores every email of the outbox below one point
    verdicts = score([path.read_bytes() for path in sorted(tmp_path.glob("*.eml"))])
    assert all(v.score < 1.0 for v in verdicts), "\n".join(map(str, verdicts))

    # And at least one text message
    texts = (tmp_path / "sms.txt").read_text(encoding="utf-8")
    assert "STOP" in texts
