"""Text shared by the sources (links and near-duplicate keys: test_identity.py)."""

from __future__ import annotations

from jobalerts.sources.normalize import unescape


def test_x_text_is_unescaped_once() -> None:
    assert unescape("R&amp;D &lt;3 &amp;amp;") == "R&D <3 &amp;"
