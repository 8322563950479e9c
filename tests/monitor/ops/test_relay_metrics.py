"""The relay's ``/metrics`` (``[metrics] relay_listen``): a real ``deliverwatch relay``
delivers one message to a sink, and the scrape shows the delivery and an empty queue."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import write_config
from tests.integration.test_relay_kill import Relay
from tests.monitor.relay.conftest import HASH, PASSWORD
from tests.monitor.relay.delivery_kit import publish
from tests.servers.dns import DNSServer
from tests.servers.smtp import SmtpSink, free_port


@pytest.fixture
def dns() -> Iterator[DNSServer]:
    with DNSServer() as server:
        yield server


def test_relay_serves_metrics(store: Any, dns: DNSServer, tmp_path: Path) -> None:
    port, out_port, metrics_port = free_port(), free_port(), free_port()
    publish(dns, "dest.example", (10, "mx.dest.example", "127.0.0.2"))
    config = write_config(
        tmp_path / "c.toml", store.url,
        f'[checks]\nnameservers = ["{dns.address}"]\n\n'
        f'[metrics]\nrelay_listen = "127.0.0.1:{metrics_port}"\ncache_seconds = 0\n\n'
        f'[relay]\nlisten = ["127.0.0.1:{port}"]\nplain_auth_on_loopback = true\n'
        f'data_dir = "{tmp_path / "relay"}"\nhostname = "relay.test"\noutbound_port = {out_port}\n'
        f'delivery_processes = 0\n\n'
        f'[relay.users.app]\npassword_hash = "{HASH}"\ndomains = ["sender.example"]\n',
    )  # fmt: skip
    relay = Relay(config, tmp_path / "relay.log")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "news@sender.example", "r@dest.example", "hi"
    msg.set_content("hello")
    with SmtpSink("127.0.0.2", out_port) as sink:
        relay.start()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
                client.login("app", PASSWORD)
                client.send_message(msg)
            deadline = time.monotonic() + 60
            body = ""
            while time.monotonic() < deadline:
                body = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
                if 'deliverwatch_deliveries_last_24h{result="delivered"} 1.0' in body:
                    break
                time.sleep(0.2)
            assert 'deliverwatch_deliveries_last_24h{result="delivered"} 1.0' in body
            assert 'deliverwatch_queue_recipients{state="queued"} 0.0' in body
            assert "deliverwatch_queue_oldest_age_seconds 0.0" in body
            assert "deliverwatch_database_up 1.0" in body
            assert len(sink.messages) == 1
        finally:
            assert relay.stop() == 0
