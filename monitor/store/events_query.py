"""Event listing and export queries with the filters data teams ask for.

Exports stream: one server-side cursor (``stream_results``) read in batches, so exporting
ten million events holds one batch in memory, never the result set. Rows are plain tuples in
``EVENT_EXPORT_COLUMNS`` order (``reports.events_export`` writes them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from monitor.enums import EventKind, Trust
from monitor.store.models import Event
from reports.events_export import EVENT_EXPORT_COLUMNS

__all__ = ["EventFilter", "filtered", "iter_events", "list_events"]

_C = Event.__table__.c
_SELECTED = [getattr(_C, name) for name in EVENT_EXPORT_COLUMNS]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    kinds: Sequence[EventKind] = ()
    campaign: str | None = None
    domain: str | None = None
    trust: Sequence[Trust] = ()


def _query(flt: EventFilter) -> Select[Any]:
    return filtered(select(*_SELECTED), flt)


def filtered(stmt: Select[Any], flt: EventFilter) -> Select[Any]:
    """``stmt`` (a select over ``events``) narrowed by ``flt``."""
    if flt.since is not None:
        stmt = stmt.where(_C.occurred_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(_C.occurred_at < flt.until)
    if flt.kinds:
        stmt = stmt.where(_C.kind.in_(list(flt.kinds)))
    if flt.campaign is not None:
        stmt = stmt.where(_C.campaign == flt.campaign)
    if flt.domain is not None:
        stmt = stmt.where(_C.recipient_domain == flt.domain.strip().lower().rstrip("."))
    if flt.trust:
        stmt = stmt.where(_C.trust.in_(list(flt.trust)))
    return stmt


def _plain(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(v.value if isinstance(v, EventKind | Trust) else v for v in row)


def iter_events(
    session: Session, flt: EventFilter, *, batch: int = 10_000
) -> Iterator[tuple[Any, ...]]:
    """Every matching event, oldest first, streamed in batches."""
    stmt = _query(flt).order_by(_C.occurred_at, _C.id)
    result = session.execute(stmt, execution_options={"stream_results": True, "yield_per": batch})
    for row in result:
        yield _plain(row)


def list_events(
    session: Session, flt: EventFilter, *, limit: int, offset: int = 0
) -> list[tuple[Any, ...]]:
    """A page of matching events, newest first (for the terminal)."""
    stmt = _query(flt).order_by(_C.occurred_at.desc(), _C.id.desc()).limit(limit).offset(offset)
    return [_plain(r) for r in session.execute(stmt)]
