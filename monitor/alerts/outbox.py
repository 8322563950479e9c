"""The alert outbox: store alerts with the change that caused them, then deliver them.

Storing happens in the caller's transaction (``add_alerts``), so a change is alerted once
whatever crashes when; ``deliver_pending`` then sends every alert some configured channel
has not taken yet. A channel failure is recorded on the alerts and they stay pending for
the next run, up to ``max_attempts`` runs; the other channel still goes ahead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.channels import AlertChannels, DeliveryError, deliver
from monitor.alerts.model import Alert, AlertKind, Severity
from monitor.store import alerts_repo
from monitor.store.db import session_scope
from monitor.store.models import AlertRecord
from monitor.store.webhooks import WebhookRoute, enqueue_alerts

__all__ = ["add_alerts", "deliver_pending"]

log = logging.getLogger(__name__)


def add_alerts(
    session: Session,
    alerts: Sequence[Alert],
    *,
    now: datetime,
    webhooks: Sequence[WebhookRoute] = (),
) -> list[Alert]:
    """Store ``alerts`` as pending deliveries; returns them with their ids. Newly-listed and
    delisted alerts also go to the webhook outbox of the ``webhooks`` that take
    ``blocklist``, in the same transaction (``monitor.store.webhooks``)."""
    rows = alerts_repo.add_alerts(
        session,
        [
            alerts_repo.NewAlert(
                category=a.kind.value,
                subject=a.subject,
                key=a.key or None,
                severity=a.severity.value,
                old_status=a.old_status,
                new_status=a.new_status,
                message=f"{a.summary}\n{a.detail}" if a.detail else a.summary,
            )
            for a in alerts
        ],
        now=now,
    )
    if webhooks:
        enqueue_alerts(session, rows, webhooks, now=now)
    return [_as_alert(row) for row in rows]


def _as_alert(row: AlertRecord) -> Alert:
    summary, _, detail = row.message.partition("\n")
    return Alert(
        kind=AlertKind(row.category),
        subject=row.subject,
        summary=summary,
        detail=detail,
        key=row.key or "",
        old_status=row.old_status,
        new_status=row.new_status,
        id=row.id,
        created_at=row.created_at,
        level=Severity(row.severity),
    )


def deliver_pending(
    factory: sessionmaker[Session],
    channels: AlertChannels,
    *,
    now: Callable[[], datetime],
    max_attempts: int,
) -> str:
    """Send every undelivered alert through each channel that has not taken it yet."""
    needed = [c.value for c in channels.names]
    with session_scope(factory, "delivering alerts") as session:
        if not needed:
            closed = alerts_repo.mark_logged(session, now=now())
            return f"{closed} alert(s) logged (no webhook or mail configured)"
        attempted: list[AlertRecord] = []
        outcome = []
        for channel in channels.names:
            rows = alerts_repo.pending_alerts(session, channel.value, max_attempts=max_attempts)
            if not rows:
                continue
            attempted += rows
            try:
                deliver(channel, channels, [_as_alert(r) for r in rows])
            except DeliveryError as exc:
                log.error(
                    "%d alert(s) not delivered by %s, will retry: %s", len(rows), channel, exc
                )
                alerts_repo.mark_failed(rows, channel.value, str(exc))
                outcome.append(f"{channel} failed for {len(rows)}")
            else:
                alerts_repo.mark_delivered(rows, channel.value, needed=needed, now=now())
                outcome.append(f"{len(rows)} by {channel}")
        alerts_repo.count_attempt(attempted)
        for row in {id(r): r for r in attempted}.values():
            if row.delivered_at is None and row.attempts >= max_attempts:
                log.error(
                    "alert %d given up after %d attempts: %s", row.id, row.attempts, row.message
                )
    return "alerts: " + (", ".join(outcome) or "none pending")
