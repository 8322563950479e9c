"""The unsubscribe page in headless Chromium with JavaScript disabled: one real click on its
button unsubscribes (the form POSTs List-Unsubscribe=One-Click, no script involved)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from monitor.store.models import Suppression
from tests.monitor.web.conftest import Web
from tests.servers.chromium import Cdp, chromium_page


def _html(cdp: Cdp) -> str:
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    return str(cdp.send("DOM.getOuterHTML", nodeId=root)["outerHTML"])


def test_button_unsubscribes_with_javascript_off(web: Web, tmp_path: Path) -> None:
    sent_id = web.sent()
    url = web.path(web.links.unsubscribe_url(sent_id, "jane@example.com"))
    with chromium_page(tmp_path) as ws:
        cdp = Cdp(ws)
        try:
            cdp.send("Page.enable")
            cdp.send("Emulation.setScriptExecutionDisabled", value=True)
            cdp.events.clear()
            cdp.send("Page.navigate", url=url)
            cdp.wait_for("Page.loadEventFired")
            page = _html(cdp)
            assert "Unsubscribe" in page and "j***@example.com" in page
            with web.store.factory() as s:
                assert s.scalars(select(Suppression)).all() == []  # the GET did nothing
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            button = cdp.send("DOM.querySelector", nodeId=root, selector="#unsubscribe")["nodeId"]
            quad = cdp.send("DOM.getBoxModel", nodeId=button)["model"]["content"]
            x, y = (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2
            cdp.events.clear()
            for kind in ("mousePressed", "mouseReleased"):
                cdp.send(
                    "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
                )
            cdp.wait_for("Page.loadEventFired")
            deadline = time.monotonic() + 10
            while "You are unsubscribed" not in (done := _html(cdp)):
                assert time.monotonic() < deadline, done
                time.sleep(0.1)
        finally:
            cdp.close()
    with web.store.factory() as s:
        rows = [(r.value, r.reason.value) for r in s.scalars(select(Suppression))]
    assert rows == [("jane@example.com", "unsubscribe")]
