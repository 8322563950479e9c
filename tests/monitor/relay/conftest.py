"""A real relay service in a background thread, the accounts the tests log in with, and the
loopback DNS server and SMTP port the delivery tests point the engine at."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import ContentConfig, RelayUser
from monitor.relay.passwords import hash_password
from monitor.relay.server import SubmissionSettings
from monitor.relay.service import Deliverer, Listener, RelayService
from monitor.relay.tlsconf import ensure_self_signed, server_context
from monitor.store.db import make_engine, make_session_factory
from tests.servers.dns import DNSServer
from tests.servers.smtp import free_port

PASSWORD = "s3cret-pa55"
HASH = hash_password(PASSWORD)
USERS = {
    "app": RelayUser(password_hash=HASH, domains=("sender.example",)),
    "slow": RelayUser(password_hash=HASH, domains=("slow.example",), messages_per_minute=2),
}


class RunningRelay:
    """``RelayService`` on its own event loop in a thread, on free loopback ports."""

    def __init__(
        self,
        store: Any,
        cert_dir: Path,
        *,
        users: dict[str, RelayUser] | None = None,
        plain_auth_on_loopback: bool = False,
        intake_url: str | None = None,
        deliverer: Deliverer | None = None,
        max_recipients: int = 50,
        max_message_bytes: int = 200_000,
        dkim_domains: frozenset[str] | None = None,
        content: ContentConfig | None = None,
    ) -> None:
        cert, key = cert_dir / "relay.pem", cert_dir / "relay.key"
        ensure_self_signed(cert, key, "relay.test")
        self.ca_file = cert
        self.port, self.tls_port = free_port(), free_port()
        self._intake_engine = make_engine(intake_url or store.url, durable=True)
        self.loop = asyncio.new_event_loop()
        self.service = RelayService(
            factory=store.factory,
            intake_factory=make_session_factory(self._intake_engine),
            settings=SubmissionSettings(
                hostname="relay.test",
                users=users if users is not None else USERS,
                max_message_bytes=max_message_bytes,
                max_recipients=max_recipients,
                dkim_domains=dkim_domains,
            ),
            listeners=[
                Listener("127.0.0.1", self.port),
                Listener("127.0.0.1", self.tls_port, implicit_tls=True),
            ],
            tls_context=server_context(cert, key),
            plain_auth_on_loopback=plain_auth_on_loopback,
            clock=lambda: dt.datetime.now(dt.UTC),
            deliverer=deliverer,
            content=content,
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> RunningRelay:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self._intake_engine.dispose()

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context


@pytest.fixture
def relay(store: Any, tmp_path: Path) -> Iterator[RunningRelay]:
    with RunningRelay(store, tmp_path) as running:
        yield running


@pytest.fixture
def dns() -> Iterator[DNSServer]:
    """An empty zone per test: each publishes the MX records it needs (``publish``)."""
    with DNSServer() as server:
        yield server


@pytest.fixture
def port() -> int:
    """A free loopback port: a test's MX sinks listen on it, each on its own 127.0.0.x address,
    and the engine's ``port`` setting dials it in place of 25."""
    return free_port("127.0.0.1")
