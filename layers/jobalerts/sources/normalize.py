"""What all sources share when turning an API record into a Post: links and text.

Links and near-duplicate keys live in `jobalerts.identity`, which ingest and digests share.
"""

from __future__ import annotations

import html

from jobalerts.identity import canonical_link, is_social


def unescape(text: str) -> str:
    """X sends &amp; &lt; &gt; escaped; templates escape again when rendering."""
    return html.unescape(text)


__all__ = ["canonical_link", "is_social", "unescape"]
