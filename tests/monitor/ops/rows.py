"""Rows for the operations tests, written through the models (the application's tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import insert

from monitor.enums import EventKind, MessageState, Trust
from monitor.store.models import Event, JobRun, RelayMessage, SentMessage

#: The tests' clock starts here (a fake: only time is faked).
T0 = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
_ids = count(1)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def sent(session: Any, n: int, *, domain: str, at: datetime, state: str = "delivered",
         relay_message_id: int | None = None) -> None:  # fmt: skip
    session.execute(
        insert(SentMessage),
        [
            {
                "recipient": f"u{next(_ids)}@{domain}",
                "recipient_domain": domain,
                "state": MessageState(state),
                "sent_at": at,
                "created_at": at,
                "updated_at": at,
                "relay_message_id": relay_message_id,
            }
            for _ in range(n)
        ],
    )


def events(session: Any, n: int, *, kind: str, domain: str, at: datetime,
           reason: str | None = None, hard: bool | None = None,
           trust: str = "verified", source: str = "imap:bounces") -> None:  # fmt: skip
    session.execute(
        insert(Event),
        [
            {
                "kind": EventKind(kind),
                "address": f"e{i}@{domain}",
                "recipient_domain": domain,
                "reason": reason,
                "hard": hard,
                "trust": Trust(trust),
                "source": source,
                "occurred_at": at,
                "ingested_at": at,
                "dedupe_key": f"k{next(_ids)}",
            }
            for i in range(n)
        ],
    )


def relay_message(session: Any, *, at: datetime) -> int:
    row = RelayMessage(
        queue_id=f"Q{next(_ids)}",
        submitted_by="app",
        envelope_sender="bounce@example.com",
        size=100,
        received_at=at,
    )
    session.add(row)
    session.flush()
    return row.id


def job_run(
    session: Any, job: str, outcome: str, *, at: datetime, error: str | None = None
) -> None:
    session.add(
        JobRun(
            job=job,
            node="test:1",
            started_at=at,
            finished_at=at + timedelta(seconds=1),
            outcome=outcome,
            error=error,
        )
    )
