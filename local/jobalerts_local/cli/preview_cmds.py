"""`jobalerts preview "QUERY"`: what a search would have matched over the last 7 days.

Either over a file of posts (the same JSON lines `jobalerts match` reads, with `created_at`),
evaluated by the window index the service uses, or (`--url`) by asking a running service
(`jobalerts serve`, a deployment) through `POST /api/preview`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobalerts.query import QuerySyntaxError, fold, parse, tokenize
from jobalerts.recent import RecentIndex, Summary

OK, UNUSABLE = 0, 2
BAR = 30


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    preview = subparsers.add_parser(
        "preview", help="how many posts a search would have matched per day, and the newest"
    )
    preview.add_argument("query", help='the search, e.g. "python (remote OR berlin)"')
    source = preview.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--posts",
        type=Path,
        help='JSON lines of {"id", "text", "author", "lang", "created_at"} to preview over',
    )
    source.add_argument("--url", help="a running service, e.g. http://127.0.0.1:8080")
    preview.add_argument("--timezone", default="UTC", help="days are counted in this zone")
    preview.add_argument("--now", help="ISO time to count back from (default: now)")
    preview.add_argument("--json", action="store_true", help="print the answer as JSON")
    preview.set_defaults(run=run_preview)


def run_preview(args: argparse.Namespace) -> int:
    try:
        parsed = parse(args.query)
    except QuerySyntaxError as exc:
        print(f"jobalerts preview: {exc}", file=sys.stderr)
        print(f"  {args.query}\n  {' ' * (exc.column - 1)}^", file=sys.stderr)
        return UNUSABLE
    try:
        zone = ZoneInfo(args.timezone)
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        print(f"jobalerts preview: {exc}", file=sys.stderr)
        return UNUSABLE
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if args.url:
        answer = _ask(args.url, args.query)
        if answer is None:
            return UNUSABLE
    else:
        try:
            with args.posts.open(encoding="utf-8") as lines:
                answer = preview_file(lines, parsed, now, zone, args.query)
        except OSError as exc:
            print(f"jobalerts preview: {exc.filename}: {exc.strerror}", file=sys.stderr)
            return UNUSABLE
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        print_answer(answer, sys.stdout)
    return OK


def preview_file(
    lines: TextIO, parsed: Any, now: datetime, zone: ZoneInfo, text: str
) -> dict[str, Any]:
    """The same answer as `POST /api/preview`, over posts read from a file."""
    index = RecentIndex()
    posts: dict[str, dict[str, Any]] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            post_id, body = str(record["id"]), str(record["text"])
            at = datetime.fromisoformat(str(record["created_at"]))
        except (ValueError, KeyError, TypeError):
            continue  # `jobalerts match` reports bad lines; a preview just skips them
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        author = str(record.get("author") or "")
        lang = record.get("lang") if isinstance(record.get("lang"), str) else None
        tokens = " ".join(tokenize(fold(body)))
        index.add([Summary(post_id, at.timestamp(), author, lang, tokens)])
        posts[post_id] = {"id": post_id, "author": author, "created_at": at.isoformat()}
        posts[post_id]["text"] = body
    found = index.preview(parsed, now, zone)
    return {
        "query": text,
        "timezone": zone.key,
        "days": [{"date": day, "matches": count} for day, count in found.days],
        "total": found.total,
        "scanned": found.scanned,
        "newest": [posts[i] for i in found.newest],
    }


def _ask(url: str, text: str) -> dict[str, Any] | None:
    if not url.startswith(("http://", "https://")):
        print("jobalerts preview: --url must be http:// or https://", file=sys.stderr)
        return None
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url.rstrip("/") + "/api/preview",
        data=json.dumps({"query": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - given URL
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        print(
            f"jobalerts preview: {exc.code}: {exc.read().decode(errors='replace')}", file=sys.stderr
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"jobalerts preview: {exc}", file=sys.stderr)
    return None


def print_answer(answer: dict[str, Any], out: TextIO) -> None:
    days = answer["days"]
    most = max((d["matches"] for d in days), default=0) or 1
    out.write(
        f"{answer['query']}: {answer['total']} matches in the last 7 days "
        f"({answer['scanned']} posts read; days in {answer['timezone']})\n"
    )
    for day in days:
        bar = "#" * round(BAR * day["matches"] / most)
        out.write(f"  {day['date']}  {day['matches']:>6}  {bar}\n")
    if answer["newest"]:
        out.write("newest:\n")
    for post in answer["newest"]:
        text = " ".join(str(post.get("text", "")).split())
        author = str(post.get("author", ""))
        handle = author if author.startswith("@") else f"@{author}"
        out.write(f"  {post.get('created_at', '')}  {handle}: {text[:120]}\n")
