"""Reads of the web service and its API: sent rows behind tokens, keyset pages, one message.

Pages are keyset pages on the primary key (``WHERE id > :after ORDER BY id LIMIT n``): the
cost of page 1,000 is the cost of page 1, and rows added while a client pages do not shift
the pages it has not read yet. (On PostgreSQL a row committed late may carry a smaller id
than one already read: the pages are a listing, not a change feed; webhooks are the feed.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from monitor.enums import EventKind, ListScope, SuppressionReason
from monitor.store.events_query import EventFilter, filtered
from monitor.store.models import Event, RelayMessage, SentMessage, Suppression

__all__ = [
    "SentFacts",
    "SuppressionFilter",
    "database_ok",
    "event_page",
    "events_of",
    "get_suppression",
    "recent_clicks",
    "relay_message",
    "sent_facts",
    "sent_row",
    "suppression_page",
]


@dataclass(frozen=True, slots=True)
class SentFacts:
    """What the web service needs of the sent row a token names."""

    id: int
    recipient: str
    campaign: str | None
    delivered_at: datetime | None


def sent_facts(session: Session, sent_id: int) -> SentFacts | None:
    s = SentMessage.__table__.c
    stmt = select(s.id, s.recipient, s.campaign, s.final_at, s.sent_at).where(s.id == sent_id)
    row = session.execute(stmt).first()
    if row is None:
        return None
    return SentFacts(row[0], row[1], row[2], row[3] or row[4])


def recent_clicks(session: Session, sent_id: int, since: datetime) -> list[dict[str, Any]]:
    """Details of the clicks on one message since ``since`` (burst detection)."""
    e = Event.__table__.c
    stmt = select(e.details).where(
        e.sent_message_id == sent_id, e.kind == EventKind.CLICKED, e.occurred_at >= since
    )
    return [d or {} for (d,) in session.execute(stmt)]


def database_ok(session: Session) -> None:
    """One round trip (``/healthz``); raises when the database cannot answer."""
    session.execute(text("SELECT 1")).scalar_one()


# --------------------------------------------------------------------------- suppressions


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressionFilter:
    reason: SuppressionReason | None = None
    scope: ListScope | None = None
    contains: str | None = None
    since: datetime | None = None  # created at or after


def suppression_page(
    session: Session, flt: SuppressionFilter, *, after: int, limit: int
) -> Sequence[Suppression]:
    q = select(Suppression).where(Suppression.id > after)
    if flt.reason is not None:
        q = q.where(Suppression.reason == flt.reason)
    if flt.scope is not None:
        q = q.where(Suppression.scope == flt.scope)
    if flt.contains:
        q = q.where(Suppression.value.contains(flt.contains.lower(), autoescape=True))
    if flt.since is not None:
        q = q.where(Suppression.created_at >= flt.since)
    return session.scalars(q.order_by(Suppression.id).limit(limit)).all()


def get_suppression(session: Session, scope: ListScope, value: str) -> Suppression | None:
    q = select(Suppression).where(Suppression.scope == scope, Suppression.value == value)
    return session.scalars(q).one_or_none()


# --------------------------------------------------------------------------- events


def event_page(session: Session, flt: EventFilter, *, after: int, limit: int) -> Sequence[Event]:
    q = filtered(select(Event), flt).where(Event.id > after)
    return session.scalars(q.order_by(Event.id).limit(limit)).all()


def events_of(session: Session, sent_ids: Sequence[int], *, limit: int = 1000) -> Sequence[Event]:
    q = select(Event).where(Event.sent_message_id.in_(list(sent_ids)))
    return session.scalars(q.order_by(Event.occurred_at, Event.id).limit(limit)).all()


# --------------------------------------------------------------------------- messages


def sent_row(session: Session, sent_id: int) -> SentMessage | None:
    return session.get(SentMessage, sent_id)


def relay_message(session: Session, key: str) -> tuple[RelayMessage, Sequence[SentMessage]] | None:
    """A relay message by its queue id, and its recipients' rows."""
    q = select(RelayMessage).where(RelayMessage.queue_id == key)
    message = session.scalars(q).one_or_none()
    if message is None:
        return None
    rows = session.scalars(
        select(SentMessage)
        .where(SentMessage.relay_message_id == message.id)
        .order_by(SentMessage.id)
    ).all()
    return message, rows
