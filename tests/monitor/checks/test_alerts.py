"""Change detection and alert delivery to a loopback webhook and an aiosmtpd sink."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from monitor.alerts import (
    AlertKind,
    SmtpTarget,
    detect_auth_changes,
    detect_listing_changes,
    dispatch,
)
from monitor.checks.dnsbl import ListingResult
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus


def _listing(status: ListingStatus) -> ListingResult:
    return ListingResult(
        target="192.0.2.1",
        zone="bl.spamcop.net",
        zone_name="SpamCop",
        status=status,
        categories=("listed",),
        delist_url="https://x.test/",
    )


def test_listing_transitions() -> None:
    listed = detect_listing_changes({}, [_listing(ListingStatus.LISTED)])
    assert [a.kind for a in listed] == [AlertKind.NEWLY_LISTED]
    again = {("192.0.2.1", "bl.spamcop.net"): ListingStatus.LISTED}
    assert detect_listing_changes(again, [_listing(ListingStatus.LISTED)]) == []
    assert detect_listing_changes(again, [_listing(ListingStatus.UNKNOWN)]) == []
    gone = detect_listing_changes(again, [_listing(ListingStatus.NOT_LISTED)])
    assert [a.kind for a in gone] == [AlertKind.DELISTED]


def _auth(kind: CheckKind, status: Status, **details: str) -> AuthResult:
    findings = ("record_missing",) if details.pop("missing", "") else ()
    return AuthResult(
        kind=kind, subject="example.com", status=status, findings=findings, details=details
    )


def test_auth_transitions() -> None:
    prev = {
        ("spf", "example.com"): _auth(CheckKind.SPF, Status.PASS),
        ("dkim", "example.com"): _auth(CheckKind.DKIM, Status.PASS, fingerprint="aa"),
        ("dmarc", "example.com"): _auth(CheckKind.DMARC, Status.PASS, effective_policy="reject"),
    }
    now = [
        _auth(CheckKind.SPF, Status.FAIL),
        _auth(CheckKind.DKIM, Status.PASS, fingerprint="bb"),
        _auth(CheckKind.DMARC, Status.WARN, effective_policy="none"),
    ]
    kinds = [a.kind for a in detect_auth_changes(prev, now)]
    assert kinds == [
        AlertKind.SPF_NOW_FAILING,
        AlertKind.DKIM_KEY_CHANGED,
        AlertKind.DMARC_WEAKENED,
    ]
    missing = [_auth(CheckKind.DKIM, Status.FAIL, missing="y")]
    assert [a.kind for a in detect_auth_changes(prev, missing)] == [AlertKind.DKIM_KEY_MISSING]
    assert detect_auth_changes(prev, [_auth(CheckKind.SPF, Status.UNKNOWN)]) == []


class _Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_dispatch_to_webhook_and_email(caplog: Any) -> None:
    posts: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    httpd = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sink = _Sink()
    with socket.socket() as probe:  # aiosmtpd wants a concrete port: pick a free one first
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        alerts = detect_listing_changes({}, [_listing(ListingStatus.LISTED)])
        target = SmtpTarget(
            host="127.0.0.1", port=port, sender="dw@example.com", recipients=("ops@example.com",)
        )
        failed = asyncio.run(
            dispatch(alerts, webhook_url=f"http://127.0.0.1:{httpd.server_port}/", smtp=target)
        )
    finally:
        controller.stop()
        httpd.shutdown()
        httpd.server_close()
    assert failed == []
    assert posts[0]["alerts"][0]["kind"] == "newly_listed"
    assert sink.messages[0].rcpt_tos == ["ops@example.com"]
    assert b"is now listed on SpamCop" in sink.messages[0].content
    assert "newly_listed" in caplog.text


def test_dispatch_failure_is_reported_not_raised() -> None:
    alerts = detect_listing_changes({}, [_listing(ListingStatus.LISTED)])
    failed = asyncio.run(dispatch(alerts, webhook_url="http://127.0.0.1:9/", timeout=1))
    assert failed == ["webhook"]
