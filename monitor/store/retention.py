"""Retention: delete what is older than its configured age, in short transactions.

A SQLite file grew to 1.9 GB for 1.5 M sends because nothing was ever deleted (issue 17).
The nightly prune deletes, per kind of data, the rows older than ``[retention] *_days``,
``batch`` rows per transaction: each transaction holds the write lock for milliseconds, and
the pause between them lets the poller, the relay and the CLI write in between (SQLite has
one writer at a time). Every delete walks an index on the age column.

Weekly, SQLite gets ``VACUUM`` (give the freed pages back to the file system) and
``ANALYZE`` (fresh statistics for the planner); PostgreSQL gets ``ANALYZE`` (autovacuum
reclaims its space).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, delete, exists, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.db import session_scope, store_errors
from monitor.store.models import (
    AlertCondition,
    AlertRecord,
    AuthFailureReport,
    AuthResult,
    BlocklistResult,
    DmarcReport,
    DmarcRow,
    Event,
    JobRun,
    ProcessedItem,
    RelayMessage,
    SentMessage,
    TlsReportRow,
    WebhookOutbox,
)
from monitor.store.queue import PENDING

__all__ = ["KINDS", "RetentionPolicy", "maintain", "prune", "retention_job"]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

log = logging.getLogger(__name__)

#: Seconds between two batches: room for other writers to take the lock.
PAUSE_SECONDS = 0.02

KINDS = ("events", "processed", "dmarc", "checks", "queue", "job_runs")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    """Days kept per kind (0: forever); ``[retention]`` of the config."""

    events_days: int = 400
    processed_days: int = 400
    dmarc_days: int = 400
    checks_days: int = 400
    queue_days: int = 400
    job_runs_days: int = 90
    batch_size: int = 2000


@dataclass(frozen=True, slots=True)
class _Target:
    """One table pruned by age: the rows matching ``where(cutoff)``."""

    name: str
    model: Any
    where: Callable[[datetime], Any]
    #: (child model, its column referring to this table's id) deleted first, same batch.
    children: tuple[tuple[Any, Any], ...] = ()


def _targets(kind: str) -> Sequence[_Target]:
    if kind == "events":
        return (_Target("events", Event, lambda c: Event.occurred_at < c),)
    if kind == "processed":
        return (
            _Target("processed_items", ProcessedItem, lambda c: ProcessedItem.processed_at < c),
        )
    if kind == "dmarc":
        return _DMARC
    if kind == "checks":
        return _CHECKS
    if kind == "queue":
        return _QUEUE
    if kind == "job_runs":
        return (_Target("job_runs", JobRun, lambda c: JobRun.started_at < c),)
    raise ValueError(kind)


def _dated(col: Any, fallback: Any, cutoff: datetime) -> Any:
    """Older than ``cutoff`` by the data's own date, else (no date) by when we got it."""
    return or_(col < cutoff, and_(col.is_(None), fallback < cutoff))


_DMARC = (
    _Target(
        "dmarc_reports",
        DmarcReport,
        lambda c: _dated(DmarcReport.date_begin, DmarcReport.received_at, c),
        children=((DmarcRow, DmarcRow.report_pk),),
    ),
    _Target(
        "auth_failure_reports",
        AuthFailureReport,
        lambda c: _dated(AuthFailureReport.arrival_date, AuthFailureReport.received_at, c),
    ),
    _Target(
        "tls_reports",
        TlsReportRow,
        lambda c: _dated(TlsReportRow.start_datetime, TlsReportRow.received_at, c),
    ),
)
_CHECKS = (
    _Target("blocklist_results", BlocklistResult, lambda c: BlocklistResult.checked_at < c),
    _Target("auth_results", AuthResult, lambda c: AuthResult.checked_at < c),
    _Target("alerts", AlertRecord, lambda c: AlertRecord.created_at < c),
    _Target(
        "alert_conditions",
        AlertCondition,
        lambda c: and_(AlertCondition.active.is_(False), AlertCondition.last_seen_at < c),
    ),
)
_QUEUE = (
    # finished recipients only: a pending one is never deleted, however old
    _Target(
        "sent_messages",
        SentMessage,
        lambda c: and_(SentMessage.sent_at < c, SentMessage.state.not_in(sorted(PENDING))),
    ),
    # a message once none of its recipients is left
    _Target(
        "relay_messages",
        RelayMessage,
        lambda c: and_(
            RelayMessage.received_at < c,
            ~exists().where(SentMessage.relay_message_id == RelayMessage.id),
        ),
    ),
    _Target(
        "webhook_outbox",
        WebhookOutbox,
        lambda c: and_(WebhookOutbox.created_at < c, WebhookOutbox.state != "pending"),
    ),
)


def _prune_target(
    factory: sessionmaker[Session], target: _Target, cutoff: datetime, batch: int
) -> int:
    model = target.model
    total = 0
    while True:
        with session_scope(factory, f"pruning {target.name}") as session:
            ids = list(
                session.scalars(
                    select(model.id).where(target.where(cutoff)).order_by(model.id).limit(batch)
                )
            )
            if not ids:
                break
            for child, column in target.children:
                session.execute(
                    delete(child)
                    .where(column.in_(ids))
                    .execution_options(synchronize_session=False)
                )
            session.execute(
                delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
            )
        total += len(ids)
        if len(ids) < batch:
            break
        time.sleep(PAUSE_SECONDS)
    return total


def prune(
    factory: sessionmaker[Session], policy: RetentionPolicy, *, now: datetime
) -> dict[str, int]:
    """Delete what each kind keeps no longer; rows deleted per table."""
    deleted: dict[str, int] = {}
    for kind in KINDS:
        days = int(getattr(policy, f"{kind}_days"))
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        for target in _targets(kind):
            deleted[target.name] = _prune_target(factory, target, cutoff, policy.batch_size)
    return deleted


def maintain(engine: Engine, *, vacuum: bool) -> str:
    """``ANALYZE`` (both backends), and on SQLite ``VACUUM`` first when ``vacuum``."""
    with store_errors("database maintenance"), engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        done = []
        if vacuum and engine.dialect.name == "sqlite":
            auto.execute(text("VACUUM"))
            done.append("VACUUM")
        auto.execute(text("ANALYZE"))
        done.append("ANALYZE")
    return " and ".join(done)


def retention_job(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    policy: RetentionPolicy,
    vacuum_weekday: str,
    timezone: str,
) -> dict[str, int | str]:
    """The nightly job: prune; on ``vacuum_weekday`` (local) also VACUUM/ANALYZE."""
    at = now()
    deleted = prune(factory, policy, now=at)
    counts: dict[str, int | str] = {k: v for k, v in deleted.items() if v}
    counts["deleted"] = sum(deleted.values())
    local_day = _WEEKDAYS[at.astimezone(ZoneInfo(timezone)).weekday()]
    if vacuum_weekday and local_day == vacuum_weekday:
        bind = factory.kw["bind"]
        counts["maintenance"] = maintain(bind, vacuum=True)
    return counts
