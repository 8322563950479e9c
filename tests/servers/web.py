"""``deliverwatch web`` under a real uvicorn, in a thread, on a free loopback port.

The port is the one the kernel gives uvicorn (port 0), read back once the server is up, so
parallel test runs never collide. Used by the web tests and ``bench/bench_web.py``.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from monitor.web.server import uvicorn_config
from monitor.web.settings import WebSettings

__all__ = ["WebServer"]


class WebServer:
    """``with WebServer(settings) as server: server.url + "/healthz"``."""

    def __init__(
        self, settings: WebSettings, host: str = "127.0.0.1", trusted: tuple[str, ...] = ()
    ) -> None:
        config = uvicorn_config(settings, host=host, port=0, trusted_proxies=trusted)
        self.server = uvicorn.Server(config)
        self.host = host
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
