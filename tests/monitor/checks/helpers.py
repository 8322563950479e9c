"""Loopback helpers for the check tests: run a check against a
:class:`~tests.servers.dns.DNSServer` with a real client, a webhook endpoint, an SMTP sink."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TypeVar

from monitor.checks.resolver import DnsClient
from tests.servers.dns import DNSServer

T = TypeVar("T")


def ask(
    server: DNSServer,
    check: Callable[..., Awaitable[T]],
    *args: Any,
    timeout: float = 1.5,  # a loaded CI (3 test workers on 2 cores) answered in > 0.3 s
    **kwargs: Any,
) -> T:
    """``check(client, *args, **kwargs)`` in a fresh event loop, the client closed after."""

    async def run() -> T:
        async with DnsClient([server.address], timeout=timeout) as client:
            return await check(client, *args, **kwargs)

    return asyncio.run(run())


class Webhook:
    """A loopback HTTP endpoint recording JSON POSTs; ``status`` is what it answers."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.posts: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.status < 300:
                    hook.posts.append(json.loads(body))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"

    def __enter__(self) -> Webhook:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
