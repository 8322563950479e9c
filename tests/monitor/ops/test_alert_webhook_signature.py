"""The alert webhook signs its JSON body with ``[alerts] webhook_secret`` (HMAC-SHA256, the
header the web webhooks use), checked by a loopback receiver with ``parsers.webhooksig``."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from monitor.alerts import AlertChannels, Channel, deliver
from monitor.alerts.model import Alert, AlertKind, Severity
from parsers.webhooksig import HEADER, BadSignature, verify


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[str | None, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((self.headers.get(HEADER), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/alerts"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ALERT = Alert(kind=AlertKind.QUEUE_AGE, subject="relay", summary="relay queue: waits 300 min",
              level=Severity.CRITICAL)  # fmt: skip


def test_signed_and_unsigned_alert_webhook() -> None:
    receiver = Receiver()
    try:
        deliver(Channel.WEBHOOK, AlertChannels(webhook_url=receiver.url, webhook_secret=b"k1"),
                [ALERT])  # fmt: skip
        deliver(Channel.WEBHOOK, AlertChannels(webhook_url=receiver.url), [ALERT])
    finally:
        receiver.close()
    (signed, body), (unsigned, _) = receiver.got
    assert verify(signed, body, secret=b"k1", now=int(time.time())) > 0
    with pytest.raises(BadSignature):
        verify(signed, body, secret=b"other", now=int(time.time()))
    assert unsigned is None
    alert = json.loads(body)["alerts"][0]
    assert alert["kind"] == "queue_age" and alert["severity"] == "critical"
