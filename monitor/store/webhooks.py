"""The webhook outbox: what is to be POSTed to which endpoint, written with the fact itself.

Why an outbox written in the recording transaction rather than a cursor over the events
table: on PostgreSQL ids are handed out when rows are inserted but become visible when
their transaction commits, in another order (the relay, the poller and the web service
write at the same time), so a reader that remembers "the last id I saw" silently skips an
event committed late with a smaller id. A row written in the same transaction as its event
is announced exactly when the event exists, and a rolled-back event never is. The events
core calls :func:`enqueue_events` inside its SAVEPOINTs; the alert outbox calls
:func:`enqueue_alerts` for blocklist alerts; the daemon's job (``monitor.web.webhooks``)
reads :func:`due` rows and marks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from monitor.store.models import AlertRecord, WebhookOutbox

__all__ = [
    "BLOCKLIST_TOPIC",
    "DueItem",
    "WebhookRoute",
    "due",
    "enqueue_alerts",
    "enqueue_events",
    "event_payload",
    "mark_delivered",
    "mark_failed",
    "outbox_counts",
]

BLOCKLIST_TOPIC = "blocklist"
_BLOCKLIST_ALERTS = frozenset({"newly_listed", "delisted"})
_OUTBOX = cast(Table, WebhookOutbox.__table__)
_C = _OUTBOX.c

#: The event fields a webhook body carries (``monitor.store.models.Event`` columns).
EVENT_FIELDS = (
    "kind",
    "address",
    "recipient_domain",
    "reason",
    "status",
    "reply_code",
    "hard",
    "diagnostic",
    "remote_mta",
    "feedback_type",
    "campaign",
    "source_ip",
    "message_id",
    "sent_message_id",
    "trust",
    "source",
    "occurred_at",
    "details",
)


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """One configured endpoint and the topics it takes (event kinds, ``blocklist``)."""

    endpoint: str
    topics: frozenset[str]


@dataclass(frozen=True, slots=True)
class DueItem:
    id: int
    endpoint: str
    topic: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def event_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready ``data`` of an event row as the events core writes it."""
    data = {name: _plain(row.get(name)) for name in EVENT_FIELDS}
    data["key"] = row["dedupe_key"]
    return data


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(_OUTBOX.insert(), rows)


def enqueue_events(
    session: Session, rows: Sequence[Mapping[str, Any]], routes: Sequence[WebhookRoute], *,
    now: datetime,
) -> int:  # fmt: skip
    """Outbox rows for the event ``rows`` (as inserted into ``events``) each route takes."""
    out: list[dict[str, Any]] = []
    for row in rows:
        topic = _plain(row["kind"])
        wanted = [r.endpoint for r in routes if topic in r.topics]
        if not wanted:
            continue
        payload = {"type": f"event.{topic}", "data": event_payload(row)}
        for endpoint in wanted:
            out.append(
                {
                    "endpoint": endpoint,
                    "topic": topic,
                    "fact_key": row["dedupe_key"],
                    "payload": payload,
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
    _insert(session, out)
    return len(out)


def enqueue_alerts(
    session: Session, alerts: Iterable[AlertRecord], routes: Sequence[WebhookRoute], *,
    now: datetime,
) -> int:  # fmt: skip
    """Outbox rows for the newly-listed and delisted alerts among ``alerts`` (stored, with
    ids) to every route that takes ``blocklist``."""
    wanted = [r.endpoint for r in routes if BLOCKLIST_TOPIC in r.topics]
    out: list[dict[str, Any]] = []
    for alert in alerts:
        if alert.category not in _BLOCKLIST_ALERTS or not wanted:
            continue
        summary = alert.message.partition("\n")[0]
        payload = {
            "type": f"blocklist.{alert.category}",
            "data": {
                "alert_id": alert.id,
                "kind": alert.category,
                "target": alert.subject,
                "zone": alert.key,
                "severity": alert.severity,
                "old_status": alert.old_status,
                "new_status": alert.new_status,
                "summary": summary,
                "created_at": _plain(alert.created_at),
            },
        }
        for endpoint in wanted:
            out.append(
                {
                    "endpoint": endpoint,
                    "topic": BLOCKLIST_TOPIC,
                    "fact_key": f"alert:{alert.id}",
                    "payload": payload,
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
    _insert(session, out)
    return len(out)


def due(session: Session, *, now: datetime, endpoints: Iterable[str], limit: int) -> list[DueItem]:
    """Pending rows of the configured ``endpoints`` whose next attempt is due, oldest first."""
    names = list(endpoints)
    if not names:
        return []
    stmt = (
        select(_C.id, _C.endpoint, _C.topic, _C.payload, _C.attempts, _C.created_at)
        .where(_C.state == "pending", _C.next_attempt_at <= now, _C.endpoint.in_(names))
        .order_by(_C.next_attempt_at, _C.id)
        .limit(limit)
    )
    return [DueItem(*row) for row in session.execute(stmt)]


def mark_delivered(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    if ids:
        session.execute(
            update(_OUTBOX)
            .where(_C.id.in_(list(ids)))
            .values(state="delivered", delivered_at=now, attempts=_C.attempts + 1, last_error=None)
        )


def mark_failed(session: Session, item_id: int, *, error: str, retry_at: datetime | None) -> None:
    """One failed attempt: retry at ``retry_at``, or give up (state ``failed``) when None."""
    values: dict[str, Any] = {"attempts": _C.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values["state"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(_OUTBOX).where(_C.id == item_id).values(**values))


def outbox_counts(session: Session) -> dict[str, int]:
    """Rows per state (``pending``, ``delivered``, ``failed``)."""
    stmt = select(_C.state, func.count()).group_by(_C.state)
    return {str(state): int(n) for state, n in session.execute(stmt)}
