"""One batch of mailbox messages, one transaction: ledger, events, reports, one-click checks.

The first statement writes the mailbox's cursor row. That write serialises pollers of the
same mailbox (a row lock on PostgreSQL, the database write lock on SQLite) *before* the
ledger is read, so two pollers cannot both count one message; on SQLite it also makes the
driver open the transaction, which the SAVEPOINTs below need (pysqlite only begins a
transaction at the first DML statement).

Each message is one group of observations for the events core (``monitor.events.record``),
which isolates a message whose data the database refuses; reports are stored each in a
SAVEPOINT of their own. A message the parsers could not use is recorded as failed; an
unexpected exception is logged with its traceback and treated the same way. A database
that is down or locked aborts the whole batch instead: nothing was committed, so nothing
is moved, and the next run does the batch again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import Alert, log_alerts
from monitor.checks.history import record_auth_with_alerts
from monitor.checks.result import ONE_CLICK_FIX, AuthResult, CheckKind, Status
from monitor.enums import ItemOutcome
from monitor.events import Effects, EventContext, Observation, is_infrastructure, record
from monitor.ingest.observe import ItemRejected, observations, one_click, store_report
from monitor.ingest.parse import ParsedItem
from monitor.store.db import store_errors
from monitor.store.ingest_repo import (
    known_items,
    lock_cursor,
    processed_hashes,
    record_items,
)
from parsers.unsubscribe import OneClick

__all__ = ["BatchItem", "commit_batch"]

log = logging.getLogger(__name__)


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

    def done(self, effects: Effects) -> None:
        self.outcome, self.effects = ItemOutcome.PROCESSED, effects


def _observe_all(
    items: Sequence[BatchItem], done: set[str], source: str, ctx: EventContext, now: datetime
) -> tuple[list[BatchItem], list[tuple[BatchItem, list[Observation]]]]:
    """Mark duplicates and unusable messages; return the reports and the event groups."""
    reports, groups = [], []
    for item in items:
        if item.outcome is not None or item.parsed is None:
            continue
        if item.content_hash in done:
            item.outcome = ItemOutcome.DUPLICATE
            continue
        try:
            seen = observations(
                item.parsed,
                source=source,
                lowercase_local=ctx.lowercase_local,
                now=now,
                token_keys=ctx.web_keys,
            )
        except ItemRejected as exc:
            item.fail(exc.reason)
            continue
        except Exception as exc:  # the per-item boundary: keep the message, record why
            log.exception("%s: UID %d could not be read", source, item.uid)
            item.fail(f"internal error: {type(exc).__name__}: {exc}")
            continue
        done.add(item.content_hash)  # a second copy in this batch is a duplicate
        if seen:
            groups.append((item, seen))
        else:
            reports.append(item)
    return reports, groups


def _store_reports(session: Session, items: list[BatchItem], source: str, now: datetime) -> None:
    """Each report in a SAVEPOINT: data the database refuses fails that message alone."""
    for item in items:
        if item.parsed is None:  # pragma: no cover - _observe_all passes parsed items only
            continue
        effects = Effects()
        try:
            with session.begin_nested():
                stored = store_report(session, item.parsed, source=source, now=now)
        except (SQLAlchemyError, OverflowError) as exc:
            if is_infrastructure(exc):
                raise
            item.fail(f"database refused it: {str(exc).splitlines()[0][:300]}")
            continue
        if stored:
            effects.reports += 1
        else:
            effects.duplicate_reports += 1
        item.done(effects)


def _record_events(
    session: Session,
    groups: list[tuple[BatchItem, list[Observation]]],
    ctx: EventContext,
    now: datetime,
) -> None:
    results = record(session, [seen for _item, seen in groups], ctx, now=now)
    for (item, _seen), result in zip(groups, results, strict=True):
        if result.error is not None:
            item.fail(result.error)
            continue
        item.done(result.effects)
        if result.verified and item.parsed is not None:
            item.one_click = one_click(item.parsed.report)


def commit_batch(
    factory: sessionmaker[Session],
    items: list[BatchItem],
    *,
    mailbox: str,
    ledger: str,
    uidvalidity: int,
    ctx: EventContext,
    now: datetime,
    reprocess: bool = False,
    dry_run: bool = False,
    session: Session | None = None,
) -> list[BatchItem]:
    """Store ``items`` in one transaction; return those whose outcome this run decided.

    Items another poller recorded meanwhile are left out (unless ``reprocess``, which
    re-applies failed ones). ``dry_run`` does everything, then rolls back. A dry run over
    several batches passes its one open ``session`` (rolled back by the caller at the end):
    a batch then sees what the earlier ones would have stored (a message seen again, a
    second bounce of an address suppressed two batches ago), so the dry run counts what
    the real run will (issue 14: 23 complaints and 2 duplicates dry, 17 and 11 for real).
    """
    with store_errors(f"storing a batch of {mailbox}"):
        if session is not None:
            return _apply(session, items, mailbox, ledger, uidvalidity, ctx, now, reprocess)[0]
        with factory() as own:
            own.begin()
            items, alerts = _apply(own, items, mailbox, ledger, uidvalidity, ctx, now, reprocess)
            if dry_run:
                own.rollback()
            else:
                own.commit()
    if not dry_run:
        log_alerts(alerts)
    return items


def _apply(
    session: Session,
    items: list[BatchItem],
    mailbox: str,
    ledger: str,
    uidvalidity: int,
    ctx: EventContext,
    now: datetime,
    reprocess: bool,
) -> tuple[list[BatchItem], Any]:
    source = f"imap:{mailbox}"
    last = max((i.uid for i in items), default=None)
    lock_cursor(session, mailbox, uidvalidity=uidvalidity, last_uid=last, now=now,
                move_cursor=not reprocess)  # fmt: skip
    known = known_items(session, ledger, uidvalidity, [i.uid for i in items])
    if not reprocess:
        items = [i for i in items if i.uid not in known]
    done = processed_hashes(session, [i.content_hash for i in items if i.parsed])
    reports, groups = _observe_all(items, done, source, ctx, now)
    _store_reports(session, reports, source, now)
    _record_events(session, groups, ctx, now)
    alerts = _record_one_click(session, items, now)
    record_items(
        session, key=ledger, uidvalidity=uidvalidity, rows=_ledger_rows(items),
        existing=set(known), now=now,
    )  # fmt: skip
    return items, alerts


def _ledger_rows(items: Sequence[BatchItem]) -> list[dict[str, Any]]:
    return [
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
    return record_auth_with_alerts(session, results, now=now)
