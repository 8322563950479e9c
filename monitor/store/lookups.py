"""The reads the events core makes for a whole batch: send log, soft bounces, stored keys.

Each function answers one question for many values at once with ``IN (...)`` lists (at
most ``IN_CHUNK`` values each), so a backlog of bounces costs a few statements per batch
instead of ~10 per message. What the answers mean (trust, the soft-bounce count) is decided
above, in ``monitor.events``; nothing here knows the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from monitor.enums import EventKind, Trust
from monitor.store.models import Event, SentMessage

__all__ = [
    "IN_CHUNK",
    "SentRow",
    "chunks",
    "first_and_latest_sends",
    "sends_by_ids",
    "sends_by_message_ids",
    "sends_by_tokens",
    "sends_of_message",
    "soft_bounce_times",
    "stored_event_keys",
]

IN_CHUNK = 500  # values per IN (...) list: well under SQLite's 32,766 bound parameters


class SentRow(NamedTuple):
    """The columns of a ``sent_messages`` row that matching needs."""

    id: int
    recipient: str
    campaign: str | None
    sent_at: datetime | None
    message_id: str | None
    verp_token: str | None


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(set(values))
    for i in range(0, len(items), IN_CHUNK):
        yield items[i : i + IN_CHUNK]


def _select_sent() -> Any:
    s = SentMessage
    return select(s.id, s.recipient, s.campaign, s.sent_at, s.message_id, s.verp_token)


def _rows(session: Session, query: Any) -> Iterator[SentRow]:
    for row in session.execute(query):
        yield SentRow(*row)


def sends_by_tokens(session: Session, tokens: Iterable[str]) -> Iterator[SentRow]:
    """Rows whose stored VERP token is one of ``tokens``."""
    for part in chunks(tokens):
        yield from _rows(session, _select_sent().where(SentMessage.verp_token.in_(part)))


def sends_by_ids(session: Session, ids: Iterable[int]) -> Iterator[SentRow]:
    for part in chunks(ids):
        yield from _rows(session, _select_sent().where(SentMessage.id.in_(part)))


def sends_by_message_ids(
    session: Session, message_ids: Iterable[str], recipients: Iterable[str]
) -> Iterator[SentRow]:
    """Rows of (one of ``message_ids``, one of ``recipients``); each id is looked up in
    both spellings, bare and in angle brackets (send logs store either)."""
    ids = {m.strip("<>") for m in message_ids}
    spellings = ids | {f"<{m}>" for m in ids}
    recipients = set(recipients)
    for part in chunks(spellings):
        for rcpts in chunks(recipients):
            q = _select_sent().where(
                SentMessage.message_id.in_(part), SentMessage.recipient.in_(rcpts)
            )
            yield from _rows(session, q)


def sends_of_message(session: Session, message_id: str, *, limit: int) -> Iterator[SentRow]:
    """At most ``limit`` rows of one Message-ID (a campaign may share one: stay bounded)."""
    mid = message_id.strip("<>")
    q = _select_sent().where(SentMessage.message_id.in_([mid, f"<{mid}>"])).limit(limit)
    yield from _rows(session, q)


def first_and_latest_sends(
    session: Session, recipients: Iterable[str], *, until: datetime
) -> tuple[dict[str, datetime | None], dict[str, SentRow]]:
    """Per recipient: the time of the first send and the latest send row up to ``until``."""
    s = SentMessage
    first: dict[str, datetime | None] = {}
    latest: dict[str, SentRow] = {}
    for part in chunks(recipients):
        q = (
            select(s.recipient, func.max(s.id), func.min(s.sent_at))
            .where(s.recipient.in_(part), or_(s.sent_at.is_(None), s.sent_at <= until))
            .group_by(s.recipient)
        )
        ids = []
        for recipient, last_id, first_at in session.execute(q):
            first[recipient] = first_at
            ids.append(last_id)
        for row in sends_by_ids(session, ids):
            latest[row.recipient] = row
    return first, latest


def soft_bounce_times(
    session: Session,
    addresses: Iterable[str],
    *,
    reasons: Iterable[str],
    since: datetime,
    verified_only: bool,
) -> Iterator[tuple[str, datetime]]:
    """(address, time) of every stored non-hard bounce with one of ``reasons`` after
    ``since``; ``verified_only`` leaves out unverified events (forged bounces)."""
    reasons = sorted(set(reasons))
    for part in chunks(addresses):
        q = select(Event.address, Event.occurred_at).where(
            Event.address.in_(part),
            Event.kind == EventKind.BOUNCED,
            Event.hard.is_not(True),
            Event.reason.in_(reasons),
            Event.occurred_at > since,
        )
        if verified_only:
            q = q.where(Event.trust != Trust.UNVERIFIED)
        for address, when in session.execute(q):
            if address is not None:
                yield address, when


def stored_event_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` (event idempotency keys) are stored already."""
    found: set[str] = set()
    for part in chunks(keys):
        found.update(session.scalars(select(Event.dedupe_key).where(Event.dedupe_key.in_(part))))
    return found
