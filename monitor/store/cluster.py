"""Several daemons on one PostgreSQL: who runs a singleton job for a period (issue 17.6).

A node runs a singleton job only while it holds the job's advisory lock (``lease.advisory_lock``,
released by PostgreSQL when the node's connection ends, so a killed node never blocks the
others) *and* it inserted, or took over, the job's row for the period (``job_periods``). The
lock says "nobody runs it now"; the row says "it already ran this period". A row left
without ``finished_at`` belongs to a node that died during the run: whoever takes the lock
next runs that period again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from monitor.store.models import JobPeriod

__all__ = ["claim_period", "finish_period", "period_runs", "prune_periods", "unfinished"]

_TABLE = cast(Table, JobPeriod.__table__)


def claim_period(session: Session, job: str, period: datetime, *, node: str, now: datetime) -> bool:
    """True when ``node`` now owns ``job`` for ``period``: no row yet, or one a dead node
    left unfinished. The caller must hold the job's advisory lock (so an unfinished row is
    never one a live node is working on)."""
    stmt = pg_insert(_TABLE).values(
        job=job[:64], period=period, node=node[:255], started_at=now, finished_at=None, attempts=1
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.job, _TABLE.c.period],
        set_={"node": node[:255], "started_at": now, "attempts": _TABLE.c.attempts + 1},
        where=_TABLE.c.finished_at.is_(None),
    ).returning(_TABLE.c.job)
    return session.execute(upsert).first() is not None


def finish_period(
    session: Session, job: str, period: datetime, *, node: str, now: datetime
) -> None:
    """The run of ``period`` is over (done or failed: a failed run is retried at the job's
    next period, like on a single node, not by the other nodes at once)."""
    session.execute(
        update(JobPeriod)
        .where(JobPeriod.job == job[:64], JobPeriod.period == period, JobPeriod.node == node[:255])
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )


def unfinished(session: Session, *, since: datetime) -> list[tuple[str, datetime, str]]:
    """(job, period, node) of runs started since ``since`` that never finished."""
    q = (
        select(JobPeriod.job, JobPeriod.period, JobPeriod.node)
        .where(JobPeriod.finished_at.is_(None), JobPeriod.started_at >= since)
        .order_by(JobPeriod.started_at)
    )
    return [(str(j), p, str(n)) for j, p, n in session.execute(q)]


def period_runs(session: Session, job: str) -> list[JobPeriod]:
    """Every recorded period of ``job``, oldest first (status, tests)."""
    q = select(JobPeriod).where(JobPeriod.job == job).order_by(JobPeriod.period)
    return list(session.scalars(q))


def prune_periods(session: Session, *, before: datetime) -> int:
    """Forget periods older than ``before`` (a frequent job writes a row per run)."""
    hit = session.execute(
        delete(JobPeriod)
        .where(JobPeriod.period < before, JobPeriod.finished_at.is_not(None))
        .execution_options(synchronize_session=False)
    )
    return int(hit.rowcount)  # type: ignore[attr-defined]


#: How long finished periods are kept.
KEEP = timedelta(days=3)
