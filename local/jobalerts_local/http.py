"""A real HTTP server on localhost in front of the subscriptions function.

Each request becomes an API Gateway HTTP API (payload 2.0) event, is handed to `handler`, and the
function's response is written back, as API Gateway would. Used by `jobalerts serve` and by the
browser tests (in-process, so moto's in-process mock serves the handler's AWS calls).
"""

from __future__ import annotations

import base64
import sys
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jobalerts_local.runtime import http_event
from jobalerts_local.serving import BackgroundServer

HttpHandler = Callable[[dict[str, Any]], dict[str, Any]]


class _Bridge(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            # API Gateway joins repeated headers with commas.
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        event = http_event(
            self.command,
            parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None,
            body=body,
            headers=headers,
            host=headers.get("host", self.server.host_header),
            # As API Gateway does: the peer's address, never a header the client chose.
            source_ip=str(self.client_address[0]),
        )
        # http_event re-encodes the query; keep the raw string exactly as the client sent it.
        event["rawQueryString"] = parts.query
        try:
            response = self.server.handler(event)
        except Exception:  # a crashed function is a 502 from API Gateway, not a dead server
            traceback.print_exc(file=sys.stderr)
            self._write(
                502, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
            )
            return
        self._write_response(response)

    def _write_response(self, response: dict[str, Any]) -> None:
        status = int(response.get("statusCode", 200))
        headers = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
        multi = response.get("multiValueHeaders") or {}
        raw = response.get("body") or ""
        data = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        self._write(status, headers, data, cookies=list(response.get("cookies") or []), multi=multi)

    def _write(
        self,
        status: int,
        headers: dict[str, str],
        data: bytes,
        *,
        cookies: list[str] | None = None,
        multi: dict[str, list[str]] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name not in {"content-length", "connection"}:
                self.send_header(name, value)
        for name, values in (multi or {}).items():
            for value in values:
                self.send_header(name, str(value))
        for cookie in cookies or []:
            self.send_header("set-cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry tokens in query strings."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: HttpHandler) -> None:
        super().__init__(address, _Bridge)
        self.handler = handler
        self.host_header = f"{address[0]}:{self.server_address[1]}"


class ApiServer(BackgroundServer):
    """`with ApiServer(handler=service.handle_http, port=0) as server: server.base_url`."""

    def __init__(self, handler: HttpHandler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port

    def __enter__(self) -> ApiServer:
        self._start(_Server((self.host, self.port), self.handler), name="jobalerts-api")
        return self
