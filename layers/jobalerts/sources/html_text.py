"""Mastodon status HTML to plain text plus the links it carries (stdlib html.parser only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Block elements whose boundaries are line breaks in the text a reader would see.
_BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIPPED = {"script", "style"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class HtmlText:
    text: str
    links: list[str] = field(default_factory=list)
    """hrefs of ordinary links, in order, without hashtag and mention links."""


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            self._link(dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def _link(self, attrs: dict[str, str | None]) -> None:
        href = (attrs.get("href") or "").strip()
        classes = (attrs.get("class") or "").split()
        rels = (attrs.get("rel") or "").split()
        # Mastodon marks #tag and @user links; they point at the instance, not at a job.
        if not href or "hashtag" in classes or "mention" in classes or "tag" in rels:
            return
        if href.lower().startswith(("http://", "https://")) and href not in self.links:
            self.links.append(href)


def html_to_text(html: str) -> HtmlText:
    """Paragraphs become blank lines, <br> a newline; entities decoded; link text kept as shown.

    Mastodon hides the scheme and tail of long URLs in `invisible` spans; their text is kept,
    so a URL in the text reads whole.
    """
    collector = _Collector()
    collector.feed(html or "")
    collector.close()
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return HtmlText(text=text, links=collector.links)
