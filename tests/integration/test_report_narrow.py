"""The report on a phone (issue 14.12): at 375 px every row's status (LISTED, FAIL, WARN...) is
on screen without scrolling sideways, and chart labels are at least 11 px tall."""

from __future__ import annotations

from pathlib import Path

from reports.model import DailyReport
from reports.render import render_daily
from tests.integration.test_report_browser import chromium, month  # noqa: F401 - fixtures
from tests.servers.chromium import Cdp

WIDTH = 375
_STATUS = "/^(LISTED|FAIL|WARN|ERROR|UNKNOWN|PASS|OK|NOT_LISTED)$/"
_MEASURE = f"""(() => {{
  const cells = [...document.querySelectorAll('main td, main th')]
    .filter(c => {_STATUS}.test(c.textContent.trim()));
  const status = cells.map(c => {{
    const r = document.createRange(); r.selectNodeContents(c);
    const box = r.getBoundingClientRect();
    return {{text: c.textContent.trim(), left: box.left, right: box.right,
             table: c.closest('section').id}};
  }});
  const labels = [...document.querySelectorAll('svg.chart text')].map(t => {{
    const m = t.getScreenCTM();  // scale of the drawing, rotated labels included
    return {{text: t.textContent,
             px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)}};
  }});
  return {{status, labels, width: document.documentElement.clientWidth}};
}})()"""


def test_status_and_chart_labels_readable_at_375_px(
    chromium: str,  # noqa: F811
    month: DailyReport,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_daily(month), encoding="utf-8")
    cdp = Cdp(chromium)
    try:
        cdp.send("Page.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900,
                 deviceScaleFactor=1, mobile=True)  # fmt: skip
        cdp.send("Page.navigate", url=page.as_uri())
        cdp.wait_for("Page.loadEventFired")
        got = cdp.evaluate(_MEASURE)
    finally:
        cdp.close()
    assert got["width"] == WIDTH
    status = got["status"]
    # the listed IP, the failing DKIM record, the weak DMARC record, the history's "now"
    assert {"LISTED", "FAIL", "WARN"} <= {s["text"] for s in status}, status
    off = [s for s in status if s["right"] > WIDTH + 0.5 or s["left"] < 0]
    assert off == [], off
    labels = got["labels"]
    assert len(labels) > 20
    small = [(lb["text"], round(lb["px"], 1)) for lb in labels if lb["px"] < 11]
    assert small == [], small
