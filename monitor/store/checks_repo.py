"""Check history and the current state of every checked thing.

Every result of a run becomes a history row (``blocklist_results``, ``auth_results``); the
latest *decided* status of each (category, subject, key) lives in ``check_states`` with the
time it has held ``since``. Decided means listed / not listed for a blocklist and pass / warn
/ fail for an authentication check: a timeout, SERVFAIL or a list's error code says nothing
about the listing (RFC 5782 2.1, issue 6), so it is kept in history and noted on the state
(``detail``, ``last_checked_at``) but never replaces a decided status. That is what makes an
alert fire once per change: listed -> unknown -> listed is no new listing, and
listed -> unknown -> not listed is one delisting.

The ``record_*`` functions return the state *before* the run so the caller
(``monitor.checks.history``) can detect the transitions and store its alerts
(``monitor.store.alerts_repo``) in the same transaction. Rows come in and go out as the
plain value types below; what a check result means is the checks package's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.enums import CheckCategory, CheckStatus
from monitor.store.models import AuthResult, BlocklistResult, CheckState

__all__ = [
    "DECIDED",
    "AuthRow",
    "BlocklistRow",
    "record_auth",
    "record_blocklist",
    "states",
]

DECIDED = frozenset({CheckStatus.OK, CheckStatus.LISTED, CheckStatus.WARN, CheckStatus.FAIL})


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistRow:
    """One blocklist answer as stored."""

    target: str
    target_type: str  # ip4, ip6, domain
    zone: str
    status: CheckStatus
    codes: tuple[str, ...] = ()
    meaning: str | None = None
    txt: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRow:
    """One authentication check result as stored (``details`` is the check's own JSON)."""

    check: str
    subject: str
    status: CheckStatus
    summary: str | None = None
    record: str | None = None
    fingerprint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


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
    session: Session, rows: Iterable[BlocklistRow], *, now: datetime
) -> dict[tuple[str, str], CheckStatus]:
    """Store one run's answers; return the previous status per (target, zone)."""
    rows = list(rows)
    states = _states(session, CheckCategory.BLOCKLIST, (r.target for r in rows))
    previous: dict[tuple[str, str], CheckStatus] = {}
    for r in rows:
        session.add(
            BlocklistResult(
                target=r.target,
                target_type=r.target_type,
                zone=r.zone,
                status=r.status,
                codes=list(r.codes) or None,
                meaning=r.meaning,
                txt=r.txt,
                checked_at=now,
            )
        )
        ident = (CheckCategory.BLOCKLIST, r.target, r.zone)
        before = _update(session, states, ident, r.status, now=now, detail=r.meaning)
        if before is not None:
            previous[(r.target, r.zone)] = before
    return previous


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


def _as_row(row: AuthResult) -> AuthRow:
    return AuthRow(
        check=row.check,
        subject=row.subject,
        status=row.status,
        summary=row.summary,
        record=row.record,
        fingerprint=row.fingerprint,
        details=dict(row.details or {}),
    )


def record_auth(
    session: Session, rows: Iterable[AuthRow], *, now: datetime
) -> dict[tuple[str, str], AuthRow]:
    """Store one run's results; return the last decided result per (check, subject)."""
    rows = list(rows)
    states = _states(session, CheckCategory.AUTH, (r.subject for r in rows))
    previous: dict[tuple[str, str], AuthRow] = {}
    for r in rows:
        last = _last_decided(session, r.check, r.subject)
        if last is not None:
            previous[(r.check, r.subject)] = _as_row(last)
        session.add(
            AuthResult(
                check=r.check,
                subject=r.subject,
                status=r.status,
                summary=r.summary,
                record=r.record,
                fingerprint=r.fingerprint,
                details=r.details,
                checked_at=now,
            )
        )
        ident = (CheckCategory.AUTH, r.subject, r.check)
        _update(
            session, states, ident, r.status, now=now, fingerprint=r.fingerprint, detail=r.summary
        )
    session.flush()
    return previous


def states(session: Session, category: CheckCategory | None = None) -> list[CheckState]:
    """Current states (for reports and tests), ordered by category, subject and key."""
    query = select(CheckState).order_by(CheckState.category, CheckState.subject, CheckState.key)
    if category is not None:
        query = query.where(CheckState.category == category)
    return list(session.scalars(query))
