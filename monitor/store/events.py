"""Events repository (write side): insert event rows; the stored spelling of Message-IDs.

Which events to write, and what they mean for the suppression list, is decided in
``monitor.events``; the batch reads it needs are in ``monitor.store.lookups``. Listing and
exporting events is ``monitor.store.events_query``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from monitor.store.models import Event

__all__ = ["MACHINE_REASON", "bare_message_id", "insert_events", "insert_one_event"]

#: ``events.reason`` of an open or click made by a machine (mail privacy proxy, link
#: scanner), not a person: written by the web service, counted apart by the daily report.
MACHINE_REASON = "machine"


def bare_message_id(value: str | None) -> str | None:
    """``<abc@x>`` -> ``abc@x`` (whitespace removed): the one spelling we store and compare."""
    if not value:
        return None
    text = "".join(value.split()).strip("<>")
    return text[:998] or None


_EVENTS = cast(Table, Event.__table__)


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events whose ids nobody needs: one Core executemany (no ORM bookkeeping)."""
    if rows:
        session.execute(_EVENTS.insert(), list(rows))


def insert_one_event(session: Session, row: dict[str, Any]) -> int:
    """Insert one event and return its id (a suppression will point at it)."""
    return int(session.execute(insert(Event).returning(Event.id), row).scalar_one())
