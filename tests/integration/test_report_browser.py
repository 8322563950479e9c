"""The report in a real browser: headless Chromium at 375 px and 1280 px.

Chromium (Debian ``chromium``, installed by ``.ci/run``) is driven over the Chrome DevTools
Protocol with a small websocket client: the page is loaded from a file, console messages,
uncaught exceptions and failed network requests are collected, horizontal overflow is
measured, and full-page screenshots are saved under the test's temp dir. No network: the
page is a file and every request it made would be a failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.model import DailyReport
from reports.render import render_daily
from tests.builders.events import build_month
from tests.reports.conftest import report_of, shared_store
from tests.servers.require import skip_or_fail

try:
    import websocket  # websocket-client: the DevTools protocol runs over a websocket
except ImportError:  # pragma: no cover - reported by the fixture below
    websocket = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("DELIVERWATCH_SCREENSHOT_DIR")


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


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
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


@pytest.fixture
def month(tmp_path: Path) -> DailyReport:
    """The known month on SQLite (the backend does not change the page)."""
    with shared_store("sqlite", tmp_path) as store:
        build_month(store.factory)
        return report_of(store)


def _shoot(cdp: Cdp, url: str, width: int, target: Path) -> dict[str, Any]:
    cdp.send("Emulation.setDeviceMetricsOverride", width=width, height=900,
             deviceScaleFactor=1, mobile=width < 600)  # fmt: skip
    cdp.events.clear()
    cdp.send("Page.navigate", url=url)
    cdp.wait_for("Page.loadEventFired")
    metrics = cdp.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth,"
        " body: document.body.scrollWidth, height: document.documentElement.scrollHeight,"
        " charts: document.querySelectorAll('svg[role=img] title').length,"
        " widest: Math.max(...[...document.querySelectorAll('body *')].map("
        "   e => e.closest('.scroll') ? 0 : e.getBoundingClientRect().right))})"
    )
    shot = cdp.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    target.write_bytes(base64.b64decode(shot["data"]))
    return metrics


def test_report_renders_without_errors_or_overflow(
    chromium: str, month: DailyReport, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_daily(month), encoding="utf-8")
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    cdp = Cdp(chromium)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.send(f"{domain}.enable")
        results = {}
        for width in (375, 1280):
            results[width] = _shoot(cdp, page.as_uri(), width, shots / f"report-{width}.png")
            assert cdp.problems() == [], f"at {width} px"
        # printable: the print stylesheet applies and Chromium lays it out as A4 pages
        cdp.send("Emulation.setEmulatedMedia", media="print")
        nav_shown = cdp.evaluate("getComputedStyle(document.querySelector('nav')).display")
        pdf = base64.b64decode(
            cdp.send("Page.printToPDF", paperWidth=8.27, paperHeight=11.69)["data"]
        )
        (shots / "report.pdf").write_bytes(pdf)
    finally:
        cdp.close()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert nav_shown == "none" and pdf.startswith(b"%PDF") and pages >= 2, pages
    narrow, wide = results[375], results[1280]
    assert narrow["client"] == 375 and narrow["scroll"] <= narrow["client"], narrow
    assert narrow["body"] <= narrow["client"] and narrow["widest"] <= 375 + 0.5, narrow
    assert wide["scroll"] <= wide["client"], wide
    assert narrow["charts"] == wide["charts"] == 4
    for width in (375, 1280):
        png = (shots / f"report-{width}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
