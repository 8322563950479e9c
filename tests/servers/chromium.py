"""Headless Chromium driven over the DevTools protocol, for tests that look at a page.

Chromium (Debian ``chromium``, installed by ``.ci/run``) runs headless with DevTools on a
free loopback port; ``Cdp`` is just enough of the protocol over a small websocket client.
A missing Chromium skips the test on a developer machine and fails it in CI
(``skip_or_fail``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.require import skip_or_fail

try:
    import websocket  # websocket-client: the DevTools protocol runs over a websocket
except ImportError:  # pragma: no cover - reported by chromium_page
    websocket = None

__all__ = ["CHROMIUM", "Cdp", "chromium_page"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Cdp:
    """Just enough of the DevTools protocol: send commands, keep every event."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)

    def evaluate(self, expr: str) -> Any:
        return self.send("Runtime.evaluate", expression=expr, returnByValue=True)["result"]["value"]

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: {p.get('args')}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')}")
            elif m == "Network.loadingFailed":
                out.append(f"request failed: {p.get('errorText')}")
            elif m == "Network.requestWillBeSent" and not p["request"]["url"].startswith(
                ("file:", "data:")
            ):
                out.append(f"network request: {p['request']['url']}")
        return out

    def close(self) -> None:
        self.ws.close()


@contextlib.contextmanager
def chromium_page(tmp_path: Path) -> Iterator[str]:
    """Headless Chromium, DevTools on a free loopback port; yields the page's websocket URL."""
    missing = None
    if websocket is None:
        missing = "the websocket-client package is not installed"
    elif not Path(CHROMIUM).exists():
        missing = "chromium is not installed (.ci/run installs it)"
    if missing:
        skip_or_fail("chromium", missing)
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = [t for t in json.load(resp) if t["type"] == "page"]
        yield pages[0]["webSocketDebuggerUrl"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
