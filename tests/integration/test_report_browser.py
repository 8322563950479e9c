"""The report in a real browser: headless Chromium at 375 px and 1280 px.

Chromium (Debian ``chromium``, installed by ``.ci/run``) is driven over the Chrome DevTools
Protocol with a small websocket client: the page is loaded from a file, console messages,
uncaught exceptions and failed network requests are collected, horizontal overflow is
measured, and full-page screenshots are saved under the test's temp dir. No network: the
page is a file and every request it made would be a failure.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.model import DailyReport
from reports.render import render_daily
from tests.builders.events import build_month
from tests.reports.conftest import report_of, shared_store
from tests.servers.chromium import Cdp, chromium_page

SCREENSHOTS = os.environ.get("DELIVERWATCH_SCREENSHOT_DIR")


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """Headless Chromium (``tests.servers.chromium``); yields the page's websocket URL."""
    with chromium_page(tmp_path) as url:
        yield url


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
