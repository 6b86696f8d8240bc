"""`jobalerts check` and `jobalerts match`: the saved-search language from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from jobalerts.matcher import Matcher
from jobalerts.query import QuerySyntaxError, normalize

# Exit codes: 0 all good, 1 some input lines were skipped, 2 the request itself is unusable.
OK, SKIPPED_LINES, UNUSABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this module's subcommands; each sets `run=callable(args) -> int` as a default."""
    check = subparsers.add_parser(
        "check", help="validate a saved search and print its canonical form"
    )
    check.add_argument(
        "query",
        help='the saved search, e.g. "python (remote OR berlin)"; use -- before one like -java',
    )
    check.set_defaults(run=run_check)

    match = subparsers.add_parser(
        "match", help="match posts against saved searches; one JSON line per match"
    )
    match.add_argument(
        "--searches", type=Path, required=True, help='JSON lines of {"id": ..., "query": ...}'
    )
    match.add_argument(
        "--posts",
        type=Path,
        required=True,
        help='JSON lines of {"id": ..., "text": ..., "author": ..., "lang": ...}',
    )
    match.set_defaults(run=run_match)


def run_check(args: argparse.Namespace) -> int:
    try:
        print(normalize(args.query))
    except QuerySyntaxError as exc:
        print(f"jobalerts check: {exc}", file=sys.stderr)
        print(f"  {args.query}\n  {' ' * (exc.column - 1)}^", file=sys.stderr)
        return UNUSABLE
    return OK


def run_match(args: argparse.Namespace) -> int:
    try:
        with (
            args.searches.open(encoding="utf-8") as searches,
            args.posts.open(encoding="utf-8") as posts,
        ):
            return match_files(searches, posts, sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"jobalerts match: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return UNUSABLE


def match_files(searches: TextIO, posts: TextIO, out: TextIO, err: TextIO) -> int:
    """Load the searches, then stream the posts; returns the exit code."""
    matcher = Matcher()
    # Each search's output line up to the post id, serialized once: a post can match hundreds
    # of searches, and one json.dumps per match line was most of the command's time.
    heads: dict[str, str] = {}
    skipped = False
    for number, record in _records(searches):
        problem = _search_problem(record, heads)
        if problem is None:
            try:
                matcher.add(str(record["id"]), record["query"])
            except QuerySyntaxError as exc:
                problem = f"query: {exc}"
        if problem is not None:
            _skip(err, searches, number, problem)
            skipped = True
            continue
        heads[str(record["id"])] = '{"search_id": ' + json.dumps(record["id"]) + ', "post_id": '
    for number, record in _records(posts):
        problem = _post_problem(record)
        if problem is not None:
            _skip(err, posts, number, problem)
            skipped = True
            continue
        found = matcher.match(record["text"], record.get("author"), record.get("lang"))
        if found:
            # The same bytes as json.dumps({"search_id": ..., "post_id": ...}) per line, in one
            # write per post.
            tail = json.dumps(record["id"]) + "}\n"
            out.write(tail.join([heads[search_id] for search_id in sorted(found)]) + tail)
    return SKIPPED_LINES if skipped else OK


def _records(lines: TextIO) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON or _Unparsable) of each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _Unparsable(exc.msg)


class _Unparsable:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _common_problem(record: Any, fields: tuple[str, ...]) -> str | None:
    if isinstance(record, _Unparsable):
        return f"not JSON: {record.reason}"
    if not isinstance(record, dict):
        return "expected a JSON object"
    if not _is_id(record.get("id")):
        return "id must be a string or an integer"
    for name in fields:
        if not isinstance(record.get(name), str):
            return f"{name} must be a string"
    return None


def _search_problem(record: Any, ids: dict[str, Any]) -> str | None:
    problem = _common_problem(record, ("query",))
    if problem is None and str(record["id"]) in ids:
        return f"duplicate search id {record['id']!r}"
    return problem


def _post_problem(record: Any) -> str | None:
    problem = _common_problem(record, ("text",))
    if problem is not None:
        return problem
    for name in ("author", "lang"):
        if record.get(name) is not None and not isinstance(record[name], str):
            return f"{name} must be a string when given"
    return None


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and bool(value)) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _skip(err: TextIO, source: TextIO, number: int, problem: str) -> None:
    err.write(f"{getattr(source, 'name', '-')}:{number}: skipped: {problem}\n")
