"""Stored alerts and their per-channel delivery bookkeeping (the alert outbox).

An alert is stored in the same transaction as the change that caused it, so a crash can
neither lose it nor send it twice; delivery keeps per-channel progress (``delivered_via``) so
a retry only repeats the channel that failed. What an alert says is ``monitor.alerts``'
business: rows come in as :class:`NewAlert` and go out as ``AlertRecord``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.models import AlertRecord

__all__ = [
    "NewAlert",
    "add_alerts",
    "count_attempt",
    "mark_delivered",
    "mark_failed",
    "mark_logged",
    "pending_alerts",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAlert:
    category: str  # the alert kind
    subject: str
    key: str | None
    severity: str
    old_status: str | None
    new_status: str | None
    message: str


def add_alerts(session: Session, alerts: Sequence[NewAlert], *, now: datetime) -> list[AlertRecord]:
    """Store ``alerts`` as pending deliveries; returns the rows with their ids."""
    rows = [
        AlertRecord(
            category=a.category,
            subject=a.subject,
            key=a.key,
            severity=a.severity,
            old_status=a.old_status,
            new_status=a.new_status,
            message=a.message,
            created_at=now,
            attempts=0,
            delivered_via=[],
        )
        for a in alerts
    ]
    session.add_all(rows)
    session.flush()
    return rows


def pending_alerts(session: Session, channel: str, *, max_attempts: int) -> list[AlertRecord]:
    """Undelivered alerts ``channel`` has not taken yet, oldest first, attempts left."""
    rows = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.delivered_at.is_(None), AlertRecord.attempts < max_attempts)
        .order_by(AlertRecord.id)
    )
    return [r for r in rows if channel not in (r.delivered_via or [])]


def mark_delivered(
    rows: Iterable[AlertRecord], channel: str, *, needed: Sequence[str], now: datetime
) -> None:
    """``channel`` took these alerts; an alert every ``needed`` channel took is delivered."""
    for row in rows:
        done = sorted({*(row.delivered_via or []), channel})
        row.delivered_via = done  # a new list, so SQLAlchemy sees the JSON change
        if set(needed) <= set(done):
            row.delivered_at = now
            row.last_error = None


def mark_failed(rows: Iterable[AlertRecord], channel: str, error: str) -> None:
    """``channel`` refused these alerts; they are tried again at the next run."""
    for row in rows:
        row.last_error = f"{channel}: {error}"


def count_attempt(rows: Iterable[AlertRecord]) -> None:
    """One more run tried to deliver these (``[alerts] max_attempts`` bounds the count)."""
    for row in {id(r): r for r in rows}.values():
        row.attempts += 1


def mark_logged(session: Session, *, now: datetime) -> int:
    """With no channel configured the log line is the delivery: close pending alerts."""
    rows = session.scalars(select(AlertRecord).where(AlertRecord.delivered_at.is_(None)))
    count = 0
    for row in rows:
        row.delivered_at = now
        count += 1
    return count
