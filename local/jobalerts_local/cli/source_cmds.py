"""`jobalerts fetch x|mastodon|bluesky`: what ingest would store, as JSON lines, without storing."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any

from jobalerts.errors import JobAlertsError
from jobalerts.sources import SOURCE_NAMES

# Local runs read credentials from the environment; Lambda reads the sources secret.
CREDENTIAL_ENV = {
    "x_bearer_token": "X_BEARER_TOKEN",
    "bluesky_handle": "BLUESKY_HANDLE",
    "bluesky_app_password": "BLUESKY_APP_PASSWORD",
}
REQUIRED = {
    "x": ["x_bearer_token"],
    "bluesky": ["bluesky_handle", "bluesky_app_password"],
    "mastodon": [],
}
BASE_URL_SETTING = {
    "x": "x_base_url",
    "mastodon": "mastodon_base_url",
    "bluesky": "bluesky_base_url",
}
EXIT_CONFIG = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this module's subcommands; each sets `run=callable(args) -> int` as a default."""
    fetch = subparsers.add_parser(
        "fetch", help="read new posts from one source and print them as JSON lines"
    )
    fetch.add_argument("source", choices=SOURCE_NAMES)
    fetch.add_argument("--base-url", help="API base URL (default: from settings)")
    fetch.add_argument(
        "--query",
        help="a saved search (x: planned into an X query), tags (mastodon) or a search (bluesky)",
    )
    fetch.add_argument("--max-pages", type=int, default=1, help="pages per query (default 1)")
    fetch.set_defaults(run=run_fetch)
    plan = subparsers.add_parser(
        "plan", help="the X queries a set of saved searches needs, and their estimated reads"
    )
    plan.add_argument("searches", nargs="*", help="saved searches")
    plan.add_argument("--file", type=argparse.FileType("r"), help="one saved search per line")
    plan.add_argument("--job-posts-per-day", type=float, default=200_000.0)
    plan.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from jobalerts.sources.planner import estimate_reads_per_day, plan_queries

    texts = list(args.searches)
    if args.file is not None:
        texts += [line.strip() for line in args.file if line.strip()]
    plan = plan_queries(texts)
    for query in plan.queries:
        print(query)
    reads = estimate_reads_per_day(plan, job_posts_per_day=args.job_posts_per_day)
    print(
        f"{len(plan.queries)} X queries for {plan.searches} searches ({plan.fallback} fallback);"
        f" ~{reads:,.0f} reads/day, ~${reads * 30 * 0.005:,.0f}/month at $0.005/read"
        f" (assuming {args.job_posts_per_day:,.0f} job posts/day; see bench/planner.py)",
        file=sys.stderr,
    )
    return 0


def credentials_from_env(source: str) -> dict[str, str]:
    values = {key: os.environ.get(env, "") for key, env in CREDENTIAL_ENV.items()}
    missing = [CREDENTIAL_ENV[k] for k in REQUIRED[source] if not values[k]]
    if missing:
        raise JobAlertsError(f"{source} needs {' and '.join(missing)} in the environment")
    return {k: v for k, v in values.items() if v}


def run_fetch(args: argparse.Namespace) -> int:
    from jobalerts.observability import logger

    # stdout carries the posts only; the service's JSON logs go to stderr.
    handler = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        return _fetch(args)
    # Swapped without setStream, which flushes the old stream (closed under some test runners).
    previous, handler.stream = handler.stream, sys.stderr
    try:
        return _fetch(args)
    finally:
        handler.stream = previous


def _fetch(args: argparse.Namespace) -> int:
    from jobalerts import ingest, wiring
    from jobalerts.sources import build_source
    from jobalerts.sources.base import SourceStores
    from jobalerts.sources.planner import GLOBAL_QUERY, plan_queries
    from jobalerts_local.settings import get_settings

    try:
        credentials = credentials_from_env(args.source)
        updates: dict[str, Any] = {}
        if args.base_url:
            updates[BASE_URL_SETTING[args.source]] = args.base_url
        if args.query and args.source == "mastodon":
            updates["mastodon_tags"] = args.query.replace("#", "")
        if args.query and args.source == "bluesky":
            updates["bluesky_queries"] = args.query
        settings = get_settings().model_copy(update=updates)
        # X polls the query given here, not the plan of a stack's saved searches.
        queries: list[str] = []
        if args.source == "x":
            queries = plan_queries([args.query]).queries if args.query else [GLOBAL_QUERY]
        stores = SourceStores(
            planned_queries=lambda: queries, sessions=wiring.session_store(settings)
        )
        with ingest.new_client() as client:
            source = build_source(args.source, settings, client, credentials, stores)
            result = source.fetch(None, max_pages=max(1, args.max_pages), budget=None)
    except JobAlertsError as exc:
        print(f"jobalerts fetch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        print(f"jobalerts fetch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for post in result.posts:
        print(json.dumps(post.model_dump(mode="json"), ensure_ascii=False))
    print(
        f"{args.source}: {len(result.posts)} posts, {result.reads} read, {result.pages} pages"
        + (f", stopped: {result.stopped}" if result.stopped else ""),
        file=sys.stderr,
    )
    return 1 if result.stopped in ("error", "unauthorized") and not result.posts else 0
