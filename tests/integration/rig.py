"""A test rig: one Dovecot account, one migrated database, and the poller between them.

Nothing in it is faked: messages are APPENDed to a real Dovecot, the poller talks IMAP over
TLS to it and writes to the real SQLite or PostgreSQL ``store`` fixture. Tests read the
results back with plain SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select

from monitor.config import MailboxConfig, Secret
from monitor.enums import ListScope, MessageState
from monitor.events import EventContext
from monitor.ingest.drain import IngestOptions, PollSummary, drain_mailbox
from monitor.store.models import (
    AllowEntry,
    Event,
    ProcessedItem,
    SentMessage,
    Suppression,
)
from monitor.suppression.policy import Rules
from tests.conftest import Store
from tests.servers.dovecot import Dovecot

PROCESSED, FAILED = "deliverwatch-processed", "deliverwatch-failed"
VERP_KEY = b"test-verp-key-0123456789"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Rig:
    server: Dovecot
    store: Store
    user: str
    rules: Rules = field(default_factory=Rules)
    cfg_overrides: dict[str, Any] = field(default_factory=dict)
    verp_key: bytes | None = VERP_KEY

    @property
    def cfg(self) -> MailboxConfig:
        values: dict[str, Any] = {
            "host": self.server.host,
            "port": self.server.tls_port,
            "tls": "implicit",
            "ca_file": self.server.ca_file,
            "username": self.user,
            "password": Secret(self.server.users[self.user]),
            "timeout_seconds": 10,
            "retry_initial_seconds": 1,
            "batch_size": 50,
            "parse_workers": 0,
        }
        values.update(self.cfg_overrides)
        return MailboxConfig(**values)

    def ctx(self) -> EventContext:
        return EventContext(rules=self.rules, verp_key=self.verp_key)

    def append(
        self, *messages: bytes, when: dt.datetime | None = None, folder: str = "INBOX"
    ) -> None:
        self.server.append(list(messages), user=self.user, when=when, folder=folder)

    def poll(self, factory: Any = None, **options: Any) -> PollSummary:
        return drain_mailbox(
            "bounces",
            self.cfg,
            factory=factory or self.store.factory,
            ctx=self.ctx(),
            now=utcnow,
            options=IngestOptions(**options),
        )

    def count(self, folder: str = "INBOX") -> int:
        return self.server.count(folder, self.user)

    # ------------------------------------------------------------------ database

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with self.store.session() as s:
            return list(s.scalars(select(model).where(*where)))

    def events(self, *where: Any) -> list[Event]:
        return self.rows(Event, *where)

    def suppression(self, address: str) -> Suppression | None:
        found = self.rows(Suppression, Suppression.value == address)
        return found[0] if found else None

    def n(self, model: Any) -> int:
        with self.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def ledger(self) -> list[ProcessedItem]:
        return self.rows(ProcessedItem)

    def sent(
        self,
        recipient: str,
        *,
        message_id: str | None = None,
        token: str | None = None,
        when: dt.datetime | None = None,
    ) -> int:
        """Record that we sent ``message_id`` to ``recipient`` (as an imported send log)."""
        with self.store.session() as s, s.begin():
            row = SentMessage(
                recipient=recipient,
                recipient_domain=recipient.rsplit("@", 1)[1],
                message_id=message_id,
                verp_token=token,
                campaign="spring",
                state=MessageState.IMPORTED,
                sent_at=when or utcnow() - dt.timedelta(days=30),
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def allow(self, address: str) -> None:
        with self.store.session() as s, s.begin():
            s.add(AllowEntry(scope=ListScope.ADDRESS, value=address, created_at=utcnow()))

    def with_rules(self, **kw: Any) -> Rig:
        return replace(self, rules=replace(self.rules, **kw))


def days_ago(n: float) -> dt.datetime:
    return utcnow() - dt.timedelta(days=n)


def kinds(events: Iterable[Event]) -> list[str]:
    return sorted(e.kind.value for e in events)
