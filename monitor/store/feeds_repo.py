"""Provider reputation feed days (``provider_feed_days``): stored per day, read by the report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.store.models import ProviderFeedDay

__all__ = ["FeedDay", "feed_days", "store_feed_days"]

_TABLE = cast(Table, ProviderFeedDay.__table__)

#: (provider, subject, day, data)
FeedDay = tuple[str, str, date, dict[str, Any]]


def store_feed_days(session: Session, days: Sequence[FeedDay], *, now: datetime) -> int:
    """Insert or replace each (provider, subject, day); the number written."""
    # one statement may not touch a row twice (PostgreSQL refuses): the last one wins
    unique = {(p, s[:255], d): data for p, s, d, data in days}
    if not unique:
        return 0
    rows = [
        {"provider": p, "subject": s, "day": d, "data": data, "fetched_at": now}
        for (p, s, d), data in unique.items()
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(_TABLE).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.provider, _TABLE.c.subject, _TABLE.c.day],
            set_={"data": stmt.excluded.data, "fetched_at": stmt.excluded.fetched_at},
        )
    )
    return len(rows)


def feed_days(session: Session, day: date, provider: str | None = None) -> list[FeedDay]:
    """The stored feed data of ``day`` (all providers, or one), by provider and subject."""
    q = select(
        ProviderFeedDay.provider, ProviderFeedDay.subject, ProviderFeedDay.day, ProviderFeedDay.data
    ).where(ProviderFeedDay.day == day)
    if provider is not None:
        q = q.where(ProviderFeedDay.provider == provider)
    q = q.order_by(ProviderFeedDay.provider, ProviderFeedDay.subject)
    return [(str(p), str(s), d, dict(data)) for p, s, d, data in session.execute(q)]
