"""The send log (``sent_messages``) as the send-log import writes it.

A row is known by its Message-ID and recipient, or, when it has no Message-ID, by its
recipient and time: that is what makes re-importing the same file add nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, tuple_
from sqlalchemy.orm import Session

from monitor.store.lookups import IN_CHUNK
from monitor.store.models import SentMessage

__all__ = ["has_sends", "insert_sends", "known_message_recipients", "known_untimed_sends"]

_SENT = cast(Table, SentMessage.__table__)


def known_message_recipients(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (Message-ID, recipient) pairs the log holds already."""
    found: set[tuple[str, str]] = set()
    for i in range(0, len(pairs), IN_CHUNK):
        part = list(pairs[i : i + IN_CHUNK])
        q = select(SentMessage.message_id, SentMessage.recipient).where(
            tuple_(SentMessage.message_id, SentMessage.recipient).in_(part)
        )
        found.update((str(m), str(r)) for m, r in session.execute(q))
    return found


def known_untimed_sends(
    session: Session, recipients: Iterable[str]
) -> set[tuple[str, datetime | None]]:
    """(recipient, sent_at) of the rows without a Message-ID for ``recipients``."""
    found: set[tuple[str, datetime | None]] = set()
    wanted = sorted(set(recipients))
    for i in range(0, len(wanted), IN_CHUNK):
        q = select(SentMessage.recipient, SentMessage.sent_at).where(
            SentMessage.message_id.is_(None), SentMessage.recipient.in_(wanted[i : i + IN_CHUNK])
        )
        found.update((r, t) for r, t in session.execute(q))
    return found


def insert_sends(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert send-log rows (``sent_messages`` columns); their ids, in order."""
    if not rows:
        return []
    result = session.execute(
        insert(SentMessage).returning(SentMessage.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(i) for i in result.scalars()]


def has_sends(session: Session) -> bool:
    """Whether any send is recorded (a send log imported, or mail sent by the relay)."""
    return session.scalar(select(SentMessage.id).limit(1)) is not None
