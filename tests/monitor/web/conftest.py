"""The web service on a real uvicorn over each backend, and a sent message to point at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config.web import TrackingConfig
from monitor.enums import MessageState
from monitor.events import EventContext
from monitor.store.sent import insert_sends
from monitor.web.auth import make_key
from monitor.web.settings import WebSettings
from parsers.webtoken import LinkMaker
from tests.conftest import Store
from tests.servers.web import WebServer

KEY = b"web-token-key-for-tests-0123456789"
READ = "read-token-0123456789abcdef"
WRITE = "write-token-0123456789abcdef"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    at: datetime = NOW

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Web:
    store: Store
    server: WebServer
    settings: WebSettings
    clock: Clock
    links: LinkMaker = field(
        default_factory=lambda: LinkMaker(
            key=KEY, base_url="https://x", unsubscribe_domain="b.example"
        )
    )

    @property
    def url(self) -> str:
        return self.server.url

    def path(self, link: str) -> str:
        """A link the relay made (``https://x/...``) pointed at the test server."""
        return self.url + link.removeprefix("https://x")

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, follow_redirects=False, **kw)

    def sent(
        self,
        recipient: str = "jane@example.com",
        *,
        campaign: str | None = "spring",
        delivered: datetime | None = None,
    ) -> int:
        with self.store.factory() as session, session.begin():
            (sent_id,) = insert_sends(
                session,
                [
                    {
                        "recipient": recipient,
                        "recipient_domain": recipient.rsplit("@", 1)[1],
                        "campaign": campaign,
                        "state": MessageState.DELIVERED if delivered else MessageState.QUEUED,
                        "message_id": f"m{recipient}@x",
                        "sent_at": delivered or NOW - timedelta(hours=1),
                        "final_at": delivered,
                    }
                ],
            )
        return sent_id


def make_settings(
    store: Store,
    clock: Clock,
    tracking: TrackingConfig | None = None,
    report_dir: Path | None = None,
) -> WebSettings:
    return WebSettings(
        factory=store.factory,
        ctx=EventContext(web_keys=(KEY,)),
        token_keys=(KEY,),
        tracking=tracking or TrackingConfig(opens=True, clicks=True),
        api_keys=(make_key("reader", READ, ["read"]), make_key("writer", WRITE, ["write"])),
        report_dir=report_dir,
        now=clock,
    )


@pytest.fixture
def web(store: Store, tmp_path: Path) -> Iterator[Web]:
    clock = Clock()
    settings = make_settings(store, clock, report_dir=tmp_path / "reports")
    with WebServer(settings) as server:
        yield Web(store, server, settings, clock)
