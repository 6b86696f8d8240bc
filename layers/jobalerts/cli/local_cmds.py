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
    from jobalerts.local.demo import print_summary
    from jobalerts.local.demo import run_demo as demo

    result = demo(args.outbox)
    print_summary(result, args.outbox)
    return 0 if result.emails and result.texts else 1


def run_serve(args: argparse.Namespace) -> int:
    from jobalerts.local.http import ApiServer
    from jobalerts.local.outbox import sent_emails, sent_sms, write_outbox
    from jobalerts.local.service import local_service

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


def run_abuse(args: argparse.Namespace) -> int:
    _quiet_console()
    from jobalerts.local.abuse import run_abuse as abuse
    from jobalerts.local.abuse import table

    report = abuse(quick=args.quick)
    print(table(report.tallies))
    print(f"\ndigests and texts the pipeline then sent to confirmed addresses: {report.digests}")
    tallies = report.tallies
    harmful = sum(t.server_errors + t.unconfirmed_sends + t.stored_by_rejected for t in tallies)
    return 0 if harmful == 0 else 1
