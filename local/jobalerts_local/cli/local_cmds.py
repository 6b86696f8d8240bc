"""`jobalerts demo` and `jobalerts serve`: the service on this machine, on moto."""

from __future__ import annotations

import argparse
import threading
import warnings
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    demo = subparsers.add_parser("demo", help="run the whole pipeline once on recorded posts")
    demo.add_argument("--outbox", type=Path, default=Path("out/demo"))
    demo.set_defaults(run=run_demo)

    serve = subparsers.add_parser("serve", help="the API on localhost and the schedules, until ^C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--outbox", type=Path, default=Path("out/serve"))
    serve.set_defaults(run=run_serve)

    sim = subparsers.add_parser(
        "simulate", help="the whole pipeline on a workload, with faults; what was lost or repeated"
    )
    sim.add_argument("--subscribers", type=Path, required=True, help="S.jsonl")
    sim.add_argument("--posts", type=Path, required=True, help="P.jsonl (`jobalerts fetch` lines)")
    sim.add_argument("--outbox", type=Path, required=True)
    sim.add_argument("--faults", type=float, default=0.0, help="fault rate per AWS call (0-1)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument(
        "--shards", type=int, default=1, choices=[1, 2, 3, 4], help="SearchShards (template.yaml)"
    )
    sim.set_defaults(run=run_simulate)

    workload = subparsers.add_parser(
        "simulate-workload", help="write a seeded workload for `jobalerts simulate`"
    )
    workload.add_argument("--subscribers", type=Path, required=True)
    workload.add_argument("--posts", type=Path, required=True)
    workload.add_argument("--people", type=int, default=200)
    workload.add_argument("--count", type=int, default=2000, help="posts")
    workload.add_argument("--seed", type=int, default=7)
    workload.set_defaults(run=run_simulate_workload)

    load = subparsers.add_parser(
        "load", help="a day of traffic through the real handlers: AWS requests, CPU, cost, latency"
    )
    load.add_argument(
        "--scale",
        type=float,
        default=0.02,
        help="times 10,000 subscribers, 100,000 searches, 50,000 posts",
    )
    load.add_argument("--seed", type=int, default=13)
    load.add_argument("--keep", type=Path, help="also pickle the result here")
    load.add_argument(
        "--volume",
        action="store_true",
        help="also cost the run at the full day's match and digest counts (`jobalerts volume`)",
    )
    load.add_argument(
        "--from",
        dest="kept",
        type=Path,
        nargs="+",
        help="re-read results kept with --keep instead of running the day again (several:"
        " the first one's table, post to inbox pooled over all)",
    )
    load.set_defaults(run=run_load)

    volume = subparsers.add_parser(
        "volume",
        help="matches and digests a full day of the load workload makes (matcher only, no AWS)",
    )
    volume.add_argument("--scale", type=float, default=1.0, help="as for `jobalerts load`")
    volume.add_argument("--seed", type=int, default=13)
    volume.set_defaults(run=run_volume)

    abuse = subparsers.add_parser(
        "abuse", help="replay the sign-up attacks against the served API and print what got through"
    )
    abuse.add_argument("--quick", action="store_true", help="fewer requests per attack")
    abuse.set_defaults(run=run_abuse)


def _quiet_console() -> None:
    # Metrics are disabled locally; Powertools still warns on every invocation that it has none.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def run_demo(args: argparse.Namespace) -> int:
    _quiet_console()
    from jobalerts_local.demo import print_summary
    from jobalerts_local.demo import run_demo as demo

    result = demo(args.outbox)
    print_summary(result, args.outbox)
    return 0 if result.emails and result.texts else 1


def run_serve(args: argparse.Namespace) -> int:
    from jobalerts_local.http import ApiServer
    from jobalerts_local.outbox import sent_emails, sent_sms, write_outbox
    from jobalerts_local.service import local_service

    _quiet_console()
    base_url = f"http://{args.host}:{args.port}"
    stop = threading.Event()
    with (
        local_service(base_url) as service,
        ApiServer(handler=service.handle_http, host=args.host, port=args.port) as server,
    ):
        worker = threading.Thread(target=service.run_schedules, args=(stop,), daemon=True)
        worker.start()
        schedules = ", ".join(f"{s.function} every {s.every}" for s in service.schedules())
        print(f"jobalerts serving on {server.base_url} (schedules: {schedules}); ^C to stop")
        print(f"mail and texts are written to {args.outbox}/")
        try:
            while not stop.wait(5):
                with service.lock:
                    write_outbox(args.outbox, sent_emails(), sent_sms())
        except KeyboardInterrupt:
            print("stopping")
        finally:
            stop.set()
            worker.join(timeout=10)
    return 0


EXIT_BAD_INPUT = 2


def run_simulate(args: argparse.Namespace) -> int:
    import sys

    from jobalerts_local.simulate import WorkloadError, load_posts, load_subscribers, simulate

    _quiet_console()
    if not 0.0 <= args.faults <= 1.0:
        print("jobalerts simulate: --faults is a rate between 0 and 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        subscribers = load_subscribers(args.subscribers)
        posts = load_posts(args.posts)
    except WorkloadError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    report = simulate(
        subscribers, posts, args.outbox, faults=args.faults, seed=args.seed, shards=args.shards
    )
    for sample in report.lost_samples:
        print(f"lost: subscriber on {sample}", file=sys.stderr)
    print(f"jobalerts simulate: fault rate {args.faults}, seed {args.seed}, shards {args.shards}")
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def run_simulate_workload(args: argparse.Namespace) -> int:
    import json

    from jobalerts_local.workload import generate

    people, posts = generate(args.seed, args.people, args.count)
    for path, rows in ((args.subscribers, people), (args.posts, posts)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    searches = sum(len(p["searches"]) for p in people)
    print(f"{len(people)} subscribers, {searches} searches, {len(posts)} posts")
    return 0


def run_load(args: argparse.Namespace) -> int:
    import sys

    from jobalerts_local.load import main_text, reread

    _quiet_console()
    if not 0.0 < args.scale <= 1.0:
        print("jobalerts load: --scale is a fraction in (0, 1]", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.kept is not None:
        print(reread(args.kept, args.seed, volume=args.volume))
        return 0
    print(main_text(args.scale, args.seed, args.keep, volume=args.volume))
    return 0


def run_volume(args: argparse.Namespace) -> int:
    import sys

    from jobalerts_local.volume import count_day, summary

    if not 0.0 < args.scale <= 1.0:
        print("jobalerts volume: --scale is a fraction in (0, 1]", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary(count_day(args.scale, args.seed)))
    return 0


def run_abuse(args: argparse.Namespace) -> int:
    _quiet_console()
    from jobalerts_local.abuse import run_abuse as abuse
    from jobalerts_local.abuse import table

    report = abuse(quick=args.quick)
    print(table(report.tallies))
    print(f"\ndigests and texts the pipeline then sent to confirmed addresses: {report.digests}")
    tallies = report.tallies
    harmful = sum(t.server_errors + t.unconfirmed_sends + t.stored_by_rejected for t in tallies)
    return 0 if harmful == 0 else 1
