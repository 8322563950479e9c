"""Check history, the current state of every checked thing, and the alerts about changes.

Every result of a run becomes a history row (``blocklist_results``, ``auth_results``); the
latest *decided* status of each (category, subject, key) lives in ``check_states`` with the
time it has held ``since``. Decided means listed / not listed for a blocklist and pass / warn
/ fail for an authentication check: a timeout, SERVFAIL or a list's error code says nothing
about the listing (RFC 5782 2.1, issue 6), so it is kept in history and noted on the state
(``detail``, ``last_checked_at``) but never replaces a decided status. That is what makes an
alert fire once per change: listed -> unknown -> listed is no new listing, and
listed -> unknown -> not listed is one delisting.

The ``record_*`` functions return the state *before* the run so :mod:`monitor.alerts` can
detect the transitions, and the run's alerts are stored in the same transaction as the new
states: a crash between the two cannot lose an alert or send it twice. Delivery bookkeeping
(:func:`pending_alerts`, :func:`mark_delivered`, :func:`mark_failed`) keeps per-channel
progress so a retry only repeats the channel that failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import Alert, AlertKind, Channel
from monitor.checks.dnsbl import ListingResult, target_kind
from monitor.checks.result import AuthResult as CheckResult
from monitor.checks.result import CheckKind, Status
from monitor.checks.zones import ListingStatus
from monitor.enums import CheckCategory, CheckStatus
from monitor.store.models import AlertRecord, AuthResult, BlocklistResult, CheckState

__all__ = [
    "add_alerts",
    "count_attempt",
    "mark_delivered",
    "mark_failed",
    "mark_logged",
    "pending_alerts",
    "record_auth",
    "record_blocklist",
    "states",
]

DECIDED = frozenset({CheckStatus.OK, CheckStatus.LISTED, CheckStatus.WARN, CheckStatus.FAIL})

_FROM_LISTING = {
    ListingStatus.LISTED: CheckStatus.LISTED,
    ListingStatus.NOT_LISTED: CheckStatus.OK,
    ListingStatus.ERROR: CheckStatus.ERROR,
    ListingStatus.UNKNOWN: CheckStatus.UNKNOWN,
}
_TO_LISTING = {
    CheckStatus.LISTED: ListingStatus.LISTED,
    CheckStatus.OK: ListingStatus.NOT_LISTED,
    CheckStatus.ERROR: ListingStatus.ERROR,
    CheckStatus.UNKNOWN: ListingStatus.UNKNOWN,
}
_FROM_AUTH = {
    Status.PASS: CheckStatus.OK,
    Status.WARN: CheckStatus.WARN,
    Status.FAIL: CheckStatus.FAIL,
    Status.UNKNOWN: CheckStatus.UNKNOWN,
}
_TO_AUTH = {v: k for k, v in _FROM_AUTH.items()}


def _states(
    session: Session, category: CheckCategory, subjects: Iterable[str]
) -> dict[tuple[str, str], CheckState]:
    """Current states of ``category`` for ``subjects``, by (subject, key)."""
    wanted = sorted(set(subjects))
    found: dict[tuple[str, str], CheckState] = {}
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        rows = session.scalars(
            select(CheckState).where(CheckState.category == category, CheckState.subject.in_(chunk))
        )
        found.update({(s.subject, s.key): s for s in rows})
    return found


def _update(
    session: Session,
    states: dict[tuple[str, str], CheckState],
    ident: tuple[CheckCategory, str, str],
    status: CheckStatus,
    *,
    now: datetime,
    fingerprint: str | None = None,
    detail: str | None = None,
) -> CheckStatus | None:
    """Apply one result to its state (rules in the module docstring); the old status."""
    category, subject, key = ident
    state = states.get((subject, key))
    if state is None:
        states[(subject, key)] = state = CheckState(
            category=category, subject=subject, key=key, status=status, since=now
        )
        session.add(state)
        before = None
    else:
        before = state.status
        if status in DECIDED or before not in DECIDED:
            if status != before:
                state.status, state.since = status, now
        else:
            detail = f"last check incomplete ({status.value}): {detail or '-'}"
    state.last_checked_at = now
    state.detail = detail
    if fingerprint is not None and status in DECIDED:
        state.fingerprint = fingerprint
    return before


def record_blocklist(
    session: Session, results: Iterable[ListingResult], *, now: datetime
) -> dict[tuple[str, str], ListingStatus]:
    """Store one run's answers; return the previous status per (target, zone).

    Skipped zones (dead, no key, lists the world) were not asked: nothing is stored.
    """
    asked = [r for r in results if r.status is not ListingStatus.SKIPPED]
    states = _states(session, CheckCategory.BLOCKLIST, (r.target for r in asked))
    previous: dict[tuple[str, str], ListingStatus] = {}
    for r in asked:
        status = _FROM_LISTING[r.status]
        meaning = "; ".join(r.meanings) or r.error
        session.add(
            BlocklistResult(
                target=r.target,
                target_type=target_kind(r.target),
                zone=r.zone,
                status=status,
                codes=list(r.codes) or None,
                meaning=meaning,
                txt=r.reason,
                checked_at=now,
            )
        )
        ident = (CheckCategory.BLOCKLIST, r.target, r.zone)
        before = _update(session, states, ident, status, now=now, detail=meaning)
        if before is not None:
            previous[(r.target, r.zone)] = _TO_LISTING[before]
    return previous


def _fingerprint(result: CheckResult) -> str | None:
    """The DKIM key hash, else a hash of the published record: a change is visible."""
    if result.details.get("fingerprint"):
        return result.details["fingerprint"]
    if result.record:
        return hashlib.sha256(result.record.encode()).hexdigest()
    return None


def _last_decided(session: Session, kind: str, subject: str) -> AuthResult | None:
    decided = [s for s in DECIDED if s is not CheckStatus.LISTED]
    return session.scalars(
        select(AuthResult)
        .where(
            AuthResult.check == kind,
            AuthResult.subject == subject,
            AuthResult.status.in_(decided),
        )
        .order_by(AuthResult.checked_at.desc(), AuthResult.id.desc())
        .limit(1)
    ).first()


def _as_check(row: AuthResult) -> CheckResult:
    data: dict[str, Any] = row.details or {}
    return CheckResult(
        kind=CheckKind(row.check),
        subject=row.subject,
        status=_TO_AUTH[row.status],
        findings=tuple(data.get("findings", ())),
        record=row.record,
        fix=data.get("fix"),
        details=dict(data.get("details", {})),
    )


def record_auth(
    session: Session, results: Iterable[CheckResult], *, now: datetime
) -> dict[tuple[str, str], CheckResult]:
    """Store one run's results; return the last decided result per (check, subject)."""
    results = list(results)
    states = _states(session, CheckCategory.AUTH, (r.subject for r in results))
    previous: dict[tuple[str, str], CheckResult] = {}
    for r in results:
        last = _last_decided(session, r.kind.value, r.subject)
        if last is not None:
            previous[(r.kind.value, r.subject)] = _as_check(last)
        status = _FROM_AUTH[r.status]
        fingerprint = _fingerprint(r)
        summary = ", ".join(r.findings) or r.status.value
        session.add(
            AuthResult(
                check=r.kind.value,
                subject=r.subject,
                status=status,
                summary=summary,
                record=r.record,
                fingerprint=fingerprint,
                details={"findings": list(r.findings), "fix": r.fix, "details": dict(r.details)},
                checked_at=now,
            )
        )
        ident = (CheckCategory.AUTH, r.subject, r.kind.value)
        _update(session, states, ident, status, now=now, fingerprint=fingerprint, detail=summary)
    session.flush()
    return previous


def add_alerts(session: Session, alerts: Sequence[Alert], *, now: datetime) -> list[Alert]:
    """Store ``alerts`` as pending deliveries; returns them with their ids."""
    rows = [
        AlertRecord(
            category=a.kind.value,
            subject=a.subject,
            key=a.key or None,
            severity=a.severity.value,
            old_status=a.old_status,
            new_status=a.new_status,
            message=f"{a.summary}\n{a.detail}" if a.detail else a.summary,
            created_at=now,
            attempts=0,
            delivered_via=[],
        )
        for a in alerts
    ]
    session.add_all(rows)
    session.flush()
    return [_as_alert(row) for row in rows]


def _as_alert(row: AlertRecord) -> Alert:
    summary, _, detail = row.message.partition("\n")
    return Alert(
        kind=AlertKind(row.category),
        subject=row.subject,
        summary=summary,
        detail=detail,
        key=row.key or "",
        old_status=row.old_status,
        new_status=row.new_status,
        id=row.id,
        created_at=row.created_at,
    )


def pending_alerts(
    session: Session, channel: Channel, *, max_attempts: int
) -> list[tuple[Alert, AlertRecord]]:
    """Undelivered alerts ``channel`` has not taken yet, oldest first, attempts left."""
    rows = session.scalars(
        select(AlertRecord)
        .where(AlertRecord.delivered_at.is_(None), AlertRecord.attempts < max_attempts)
        .order_by(AlertRecord.id)
    )
    return [(_as_alert(r), r) for r in rows if channel.value not in (r.delivered_via or [])]


def mark_delivered(
    rows: Iterable[AlertRecord], channel: Channel, *, needed: Sequence[Channel], now: datetime
) -> None:
    """``channel`` took these alerts; an alert every ``needed`` channel took is delivered."""
    for row in rows:
        done = sorted({*(row.delivered_via or []), channel.value})
        row.delivered_via = done  # a new list, so SQLAlchemy sees the JSON change
        if {c.value for c in needed} <= set(done):
            row.delivered_at = now
            row.last_error = None


def mark_failed(rows: Iterable[AlertRecord], channel: Channel, error: str) -> None:
    """``channel`` refused these alerts; they are tried again at the next run."""
    for row in rows:
        row.last_error = f"{channel.value}: {error}"


def count_attempt(rows: Iterable[AlertRecord]) -> None:
    """One more run tried to deliver these (``[alerts] max_attempts`` bounds the count)."""
    for row in {id(r): r for r in rows}.values():
        row.attempts += 1


def mark_logged(session: Session, *, now: datetime) -> int:
    """With no channel configured the log line is the delivery: close pending alerts."""
    rows = session.scalars(select(AlertRecord).where(AlertRecord.delivered_at.is_(None)))
    count = 0
    for row in rows:
        row.delivered_at = now
        count += 1
    return count


def states(session: Session, category: CheckCategory | None = None) -> list[CheckState]:
    """Current states (for reports and tests), ordered by category, subject and key."""
    query = select(CheckState).order_by(CheckState.category, CheckState.subject, CheckState.key)
    if category is not None:
        query = query.where(CheckState.category == category)
    return list(session.scalars(query))
