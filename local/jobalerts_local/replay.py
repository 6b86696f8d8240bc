"""A local HTTP server that replays recorded API responses (X, Mastodon, Bluesky).

`ReplayServer(directory)` serves every `*.json` file under `directory` (recursively, in sorted
path order) on 127.0.0.1 at a free port; `.base_url` is what a source uses instead of the real
API host. Tests and the demo use it so real httpx code talks to a real socket.

Recording format (one file may hold one route object, or `{"routes": [route, ...]}`):

    {
      "method": "GET",                          # default GET
      "path": "/2/tweets/search/recent",        # exact path, no query string
      "query": {"next_token": "p2",             # must equal this value
                "since_id": "*",                # must be present, any value
                "pagination_token": null},      # must be absent
      "responses": [                            # one per matching request, in order;
        {"status": 500},                        # the last one repeats forever
        {"status": 200,                         # default 200
         "headers": {"x-rate-limit-reset": "{epoch+900}"},
         "body": {"data": []},                  # any JSON value, sent as application/json
         "raw": "{\\"data\\": [",                # OR: these exact characters (bad JSON)
         "delay": 5.0}                          # seconds to wait first (client timeouts)
      ]
    }

Query parameters not named in `query` are ignored. The first route (in file order, then route
order) whose method, path and query all match answers; nothing matching gets a 404 whose JSON
body says so, and is kept in `.unmatched`. Header values may contain `{epoch+N}` / `{epoch-N}`,
replaced with the Unix time N seconds from now (a rate-limit reset that is always in the future).
Every request served is kept in `.requests` (method, path, query) for tests to assert on.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobalerts_local.serving import BackgroundServer

ANY = "*"
_EPOCH = re.compile(r"\{epoch([+-]\d+)?\}")


@dataclass
class Recorded:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        headers = {str(k): str(v) for k, v in data.get("headers", {}).items()}
        if "raw" in data:
            body = str(data["raw"]).encode()
        elif "body" in data:
            body = json.dumps(data["body"]).encode()
            headers.setdefault("content-type", "application/json")
        else:
            body = b""
        return cls(int(data.get("status", 200)), headers, body, float(data.get("delay", 0.0)))


@dataclass
class Route:
    method: str
    path: str
    query: dict[str, str | None]
    responses: list[Recorded]
    source: str = ""
    served: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Route:
        responses = [Recorded.from_json(r) for r in data.get("responses", [])]
        if not responses:
            raise ValueError(f"{source}: route {data.get('path')!r} has no responses")
        query = {str(k): (None if v is None else str(v)) for k, v in data.get("query", {}).items()}
        return cls(
            str(data.get("method", "GET")).upper(), str(data["path"]), query, responses, source
        )

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if method != self.method or path != self.path:
            return False
        for name, wanted in self.query.items():
            if wanted is None:
                if name in query:
                    return False
            elif name not in query or (wanted != ANY and query[name] != wanted):
                return False
        return True

    def next_response(self) -> Recorded:
        response = self.responses[min(self.served, len(self.responses) - 1)]
        self.served += 1
        return response


def load_routes(directory: Path) -> list[Route]:
    routes: list[Route] = []
    for path in sorted(directory.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["routes"] if isinstance(data, dict) and "routes" in data else [data]
        name = str(path.relative_to(directory))
        routes.extend(Route.from_json(item, name) for item in items)
    return routes


def _expand(value: str, clock: Callable[[], float]) -> str:
    def epoch(match: re.Match[str]) -> str:
        return str(int(clock()) + int(match.group(1) or 0))

    return _EPOCH.sub(epoch, value)


@dataclass
class Served:
    method: str
    path: str
    query: dict[str, str]


class ReplayServer(BackgroundServer):
    """Context manager; see the module docstring for the recording format."""

    def __init__(
        self,
        directory: Path,
        routes: list[Route] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` is the "now" of `{epoch+N}`: tests pin it to the time their run pretends."""
        self.directory = Path(directory)
        self.clock = clock
        self.routes = routes if routes is not None else load_routes(self.directory)
        self.requests: list[Served] = []
        self.unmatched: list[Served] = []
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, query: dict[str, str]) -> Recorded:
        with self._lock:
            served = Served(method, path, query)
            self.requests.append(served)
            for route in self.routes:
                if route.matches(method, path, query):
                    return route.next_response()
            self.unmatched.append(served)
        body = json.dumps({"error": "no recording matches", "method": method, "path": path})
        return Recorded(404, {"content-type": "application/json"}, body.encode())

    def served(self, path: str) -> list[Served]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> ReplayServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        # A request scripted to hang must not hold up shutdown once the client gave up.
        server.block_on_close = False
        self._start(server, name="replay", poll_interval=0.05)
        return self


def _handler_for(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            recorded = replay.answer(self.command, parts.path, query)
            if recorded.delay:
                time.sleep(recorded.delay)
            try:
                self.send_response(recorded.status)
                for name, value in recorded.headers.items():
                    self.send_header(name, _expand(value, replay.clock))
                self.send_header("content-length", str(len(recorded.body)))
                self.end_headers()
                self.wfile.write(recorded.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out first, which is what a delayed response is for

        do_GET = _reply  # noqa: N815 - http.server's naming
        do_POST = _reply  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and the demo read `.requests` instead of stderr."""

    return Handler


def main(argv: list[str] | None = None) -> int:
    """`python -m jobalerts_local.replay events/sources/demo`: serve recordings until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m jobalerts_local.replay")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    with ReplayServer(args.directory) as server:
        print(f"replaying {args.directory} at {server.base_url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
