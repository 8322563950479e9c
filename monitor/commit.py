"""One batch, one transaction: ledger, events, reports and suppressions of fetched mail.

The first statement writes the mailbox's cursor row. That write serialises pollers of the
same mailbox (a row lock on PostgreSQL, the database write lock on SQLite) *before* the
ledger is read, so two pollers cannot both count one message; on SQLite it also makes the
driver open the transaction, which the SAVEPOINTs below need (pysqlite only begins a
transaction at the first DML statement).

Each message is applied inside its own SAVEPOINT: the per-item boundary. A message the
parsers could not use, or whose data the database refuses, rolls back alone and is
recorded as failed; an unexpected exception is logged with its traceback and treated the
same way. A database that is down or locked aborts the whole batch instead: nothing was
committed, so nothing is moved, and the next run does the batch again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import InterfaceError, InvalidRequestError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import Alert, detect_auth_changes, log_alerts
from monitor.apply import (
    ApplyContext,
    Effects,
    ItemRejected,
    Plan,
    Prepared,
    learn,
    load_lookups,
    plan_report,
    prepare,
    write_plan,
)
from monitor.checks.result import ONE_CLICK_FIX, AuthResult, CheckKind, Status
from monitor.enums import ItemOutcome
from monitor.parsed import ParsedItem
from monitor.store.checks_repo import add_alerts, record_auth
from monitor.store.db import store_errors
from monitor.store.events import Lookups, insert_events
from monitor.store.ingest_repo import known_items, processed_hashes, record_items, touch_cursor
from monitor.store.models import MailboxCursor
from parsers.unsubscribe import OneClick

__all__ = ["BatchItem", "commit_batch"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class BatchItem:
    """One message of a batch, from fetch to ledger."""

    uid: int
    size: int | None = None
    content_hash: str = ""
    parsed: ParsedItem | None = None
    outcome: ItemOutcome | None = None
    error: str | None = None
    effects: Effects | None = None
    one_click: tuple[str, OneClick, str] | None = None

    @property
    def kind(self) -> str | None:
        return self.parsed.report.kind.value if self.parsed else None

    def fail(self, reason: str) -> None:
        self.outcome, self.error = ItemOutcome.FAILED, reason


def _is_infrastructure(exc: BaseException) -> bool:
    """Database down or locked (abort the batch), as opposed to this item's data refused."""
    return isinstance(exc, OperationalError | InterfaceError | InvalidRequestError) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def _lock(session: Session, mailbox: str, uidvalidity: int, now: datetime, last: int | None,
          move_cursor: bool) -> None:  # fmt: skip
    hit = session.execute(
        update(MailboxCursor)
        .where(MailboxCursor.mailbox == mailbox)
        .values(last_poll_at=now)
        .execution_options(synchronize_session=False)
    )
    if not hit.rowcount:  # type: ignore[attr-defined]
        session.add(MailboxCursor(mailbox=mailbox, last_uid=0, last_poll_at=now))
        session.flush()
    if move_cursor:
        touch_cursor(session, mailbox, uidvalidity=uidvalidity, last_uid=last, now=now, error=None)


def _prepare_all(
    items: Sequence[BatchItem], done: set[str], ctx: ApplyContext, now: datetime
) -> list[tuple[BatchItem, list[Prepared]]]:
    """Mark duplicates and unusable messages; return the rest with their events to be."""
    out = []
    for item in items:
        if item.outcome is not None or item.parsed is None:
            continue
        if item.content_hash in done:
            item.outcome = ItemOutcome.DUPLICATE
            continue
        try:
            prepared = prepare(item.parsed, ctx, now)
        except ItemRejected as exc:
            item.fail(exc.reason)
            continue
        done.add(item.content_hash)  # a second copy in this batch is a duplicate
        out.append((item, prepared))
    return out


def _guarded(item: BatchItem, ctx: ApplyContext, action: Callable[[], T]) -> T | None:
    """Run ``action`` for ``item``; on failure record why and return None (the boundary)."""
    try:
        return action()
    except (SQLAlchemyError, OverflowError) as exc:  # pysqlite: int beyond 64 bits
        if _is_infrastructure(exc):
            raise
        item.fail(f"database refused it: {str(exc).splitlines()[0][:300]}")
    except Exception as exc:  # keep the message, record why, go on with the batch
        log.exception("%s: UID %d could not be applied", ctx.source, item.uid)
        item.fail(f"internal error: {type(exc).__name__}: {exc}")
    return None


def _apply_all(
    session: Session,
    work: list[tuple[BatchItem, list[Prepared]]],
    lookups: Lookups,
    ctx: ApplyContext,
    now: datetime,
) -> None:
    """Plan every message; write reports and suppressions per message in a SAVEPOINT, and
    the event rows of all simple plans in one statement (``_write_simple``)."""
    simple: list[tuple[BatchItem, Plan]] = []
    for item, prepared in work:
        parsed = item.parsed
        if parsed is None:  # pragma: no cover - _prepare_all only passes parsed items
            continue
        plan = _guarded(item, ctx, partial(plan_report, parsed, prepared, lookups, ctx, now))
        if plan is None:
            continue
        if plan.simple:
            simple.append((item, plan))
        elif not _guarded(item, ctx, partial(_write_nested, session, plan, ctx, now)):
            continue
        learn(plan, lookups, now)
        item.outcome, item.effects = ItemOutcome.PROCESSED, plan.effects
        item.one_click = plan.one_click
    _write_simple(session, simple, ctx, now)


def _write_nested(session: Session, plan: Plan, ctx: ApplyContext, now: datetime) -> bool:
    with session.begin_nested():
        write_plan(session, plan, ctx, now)
    return True


def _write_simple(
    session: Session, simple: list[tuple[BatchItem, Plan]], ctx: ApplyContext, now: datetime
) -> None:
    """All simple plans' events at once; if the database refuses the lot, one by one."""
    rows = [row for _item, plan in simple for row in plan.rows]
    if not rows:
        return
    try:
        with session.begin_nested():
            insert_events(session, rows)
        return
    except SQLAlchemyError as exc:
        if _is_infrastructure(exc):
            raise
        log.warning("%s: batch insert refused (%s); retrying message by message", ctx.source, exc)
    for item, plan in simple:
        if not _guarded(item, ctx, partial(_write_nested, session, plan, ctx, now)):
            item.effects = None


def commit_batch(
    factory: sessionmaker[Session],
    items: list[BatchItem],
    *,
    mailbox: str,
    ledger: str,
    uidvalidity: int,
    ctx: ApplyContext,
    now: datetime,
    reprocess: bool = False,
    dry_run: bool = False,
) -> list[BatchItem]:
    """Store ``items`` in one transaction; return those whose outcome this run decided.

    Items another poller recorded meanwhile are left out (unless ``reprocess``, which
    re-applies failed ones). ``dry_run`` does everything, then rolls back.
    """
    with store_errors(f"storing a batch of {mailbox}"), factory() as session:
        session.begin()
        last = max((i.uid for i in items), default=None)
        _lock(session, mailbox, uidvalidity, now, last, move_cursor=not reprocess)
        known = known_items(session, ledger, uidvalidity, [i.uid for i in items])
        if not reprocess:
            items = [i for i in items if i.uid not in known]
        done = processed_hashes(session, [i.content_hash for i in items if i.parsed])
        work = _prepare_all(items, done, ctx, now)
        lookups = load_lookups(session, [(i.parsed, p) for i, p in work if i.parsed], ctx)
        _apply_all(session, work, lookups, ctx, now)
        alerts = _record_one_click(session, items, now)
        rows = [
            {
                "uid": i.uid,
                "content_hash": i.content_hash,
                "size": i.size,
                "kind": i.kind,
                "outcome": i.outcome or ItemOutcome.FAILED,
                "error": i.error,
            }
            for i in items
        ]
        record_items(
            session, key=ledger, uidvalidity=uidvalidity, rows=rows, existing=set(known), now=now
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        log_alerts(alerts)
    return items


_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


def _record_one_click(session: Session, items: Sequence[BatchItem], now: datetime) -> list[Alert]:
    """One RFC 8058 result per From domain seen in this batch's verified enclosures (the
    worst message decides), stored as the ``one-click-unsubscribe`` authentication check
    with its history and a "now fails" alert, like the DNS checks."""
    worst: dict[str, tuple[OneClick, str, int]] = {}
    for item in items:
        if item.outcome is not ItemOutcome.PROCESSED or item.one_click is None:
            continue
        domain, verdict, which = item.one_click
        seen = worst.get(domain)
        if seen is None or _SEVERITY[verdict.status] > _SEVERITY[seen[0].status]:
            worst[domain] = (verdict, which, 1 if seen is None else seen[2] + 1)
        else:
            worst[domain] = (seen[0], seen[1], seen[2] + 1)
    if not worst:
        return []
    results = [
        AuthResult(
            kind=CheckKind.ONE_CLICK,
            subject=domain,
            status=Status(verdict.status),
            findings=verdict.findings,
            fix=None if verdict.status == "pass" else ONE_CLICK_FIX,
            details={"detail": f"{verdict.detail} (in {which}; {count} message(s) in the batch)"},
        )
        for domain, (verdict, which, count) in sorted(worst.items())
    ]
    previous = record_auth(session, results, now=now)
    return add_alerts(session, detect_auth_changes(previous, results), now=now)
