"""Database-side locks and leases of the daemon (PostgreSQL advisory locks, the lease row).

A session-level advisory lock is released by PostgreSQL itself when the holder's
connection ends, so a crashed daemon never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.store.db import store_errors
from monitor.store.models import DaemonLease

__all__ = ["advisory_lock", "record_lease"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[str | None]:
    """Hold the PostgreSQL advisory lock ``name`` (per database and schema) for the block.

    Yields None when it is held, or ``database.schema`` when another session holds it.
    """
    # driver errors become one StoreError line, as in every other command (issue 11: an
    # unreachable server gave the daemon two chained tracebacks here)
    what = name.removeprefix("deliverwatch-")
    with store_errors(f"connecting to the database for the {what} lock"):
        conn = engine.connect()
    with conn:
        with store_errors(f"taking the {what} lock"):
            here = text("SELECT current_database() || '.' || current_schema()")
            where = str(conn.execute(here).scalar())
            digest = hashlib.sha256(f"{name}:{where}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
        if not got:
            yield where
            return
        try:
            yield None
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError as exc:  # the lock ends with the session anyway
                log.warning("could not release the %s lock: %s", what, exc)


def record_lease(session: Session, name: str, *, holder: str, now: datetime) -> None:
    """Who holds ``name`` since when (informational: the lock itself is OS or DB level)."""
    lease = session.get(DaemonLease, name)
    if lease is None:
        session.add(DaemonLease(name=name, holder=holder, started_at=now, heartbeat_at=now))
    else:
        lease.holder, lease.started_at, lease.heartbeat_at = holder, now, now
