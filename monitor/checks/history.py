"""Store check runs with their change alerts, in one transaction.

The store keeps plain rows (``monitor.store.checks_repo``); this module translates check
results into them and back, asks ``monitor.checks.changes`` what changed against the state
before the run, and stores those alerts in the outbox (``monitor.alerts.outbox``) in the
same transaction: a crash can neither lose an alert nor send it twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import Alert, add_alerts, log_alerts
from monitor.checks.changes import detect_auth_changes, detect_listing_changes
from monitor.checks.dnsbl import BlocklistReport, ListingResult, target_kind
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus
from monitor.enums import CheckStatus
from monitor.store import checks_repo
from monitor.store.checks_repo import AuthRow, BlocklistRow
from monitor.store.db import session_scope
from monitor.store.webhooks import WebhookRoute

__all__ = [
    "record_auth",
    "record_auth_with_alerts",
    "record_blocklist",
    "save_auth",
    "save_blocklists",
]

_FROM_LISTING = {
    ListingStatus.LISTED: CheckStatus.LISTED,
    ListingStatus.NOT_LISTED: CheckStatus.OK,
    ListingStatus.ERROR: CheckStatus.ERROR,
    ListingStatus.UNKNOWN: CheckStatus.UNKNOWN,
}
_TO_LISTING = {v: k for k, v in _FROM_LISTING.items()}
_FROM_AUTH = {
    Status.PASS: CheckStatus.OK,
    Status.WARN: CheckStatus.WARN,
    Status.FAIL: CheckStatus.FAIL,
    Status.UNKNOWN: CheckStatus.UNKNOWN,
}
_TO_AUTH = {v: k for k, v in _FROM_AUTH.items()}


def record_blocklist(
    session: Session, results: Iterable[ListingResult], *, now: datetime
) -> dict[tuple[str, str], ListingStatus]:
    """Store one run's answers; return the previous status per (target, zone).

    Skipped zones (dead, no key, lists the world) were not asked: nothing is stored.
    """
    rows = [
        BlocklistRow(
            target=r.target,
            target_type=target_kind(r.target),
            zone=r.zone,
            status=_FROM_LISTING[r.status],
            codes=tuple(r.codes),
            meaning="; ".join(r.meanings) or r.error,
            txt=r.reason,
        )
        for r in results
        if r.status is not ListingStatus.SKIPPED
    ]
    previous = checks_repo.record_blocklist(session, rows, now=now)
    return {key: _TO_LISTING[status] for key, status in previous.items()}


def _fingerprint(result: AuthResult) -> str | None:
    """The DKIM key hash, else a hash of the published record: a change is visible."""
    if result.details.get("fingerprint"):
        return str(result.details["fingerprint"])
    if result.record:
        return hashlib.sha256(result.record.encode()).hexdigest()
    return None


def _as_result(row: AuthRow) -> AuthResult:
    data: dict[str, Any] = row.details
    return AuthResult(
        kind=CheckKind(row.check),
        subject=row.subject,
        status=_TO_AUTH[row.status],
        findings=tuple(data.get("findings", ())),
        record=row.record,
        fix=data.get("fix"),
        details=dict(data.get("details", {})),
    )


def record_auth(
    session: Session, results: Iterable[AuthResult], *, now: datetime
) -> dict[tuple[str, str], AuthResult]:
    """Store one run's results; return the last decided result per (check, subject)."""
    rows = [
        AuthRow(
            check=r.kind.value,
            subject=r.subject,
            status=_FROM_AUTH[r.status],
            summary=", ".join(r.findings) or r.status.value,
            record=r.record,
            fingerprint=_fingerprint(r),
            details={"findings": list(r.findings), "fix": r.fix, "details": dict(r.details)},
        )
        for r in results
    ]
    previous = checks_repo.record_auth(session, rows, now=now)
    return {key: _as_result(row) for key, row in previous.items()}


def record_auth_with_alerts(
    session: Session, results: Sequence[AuthResult], *, now: datetime
) -> list[Alert]:
    """``record_auth`` plus the alerts for what changed, stored in the same transaction
    (the caller logs them once it has committed)."""
    previous = record_auth(session, results, now=now)
    return add_alerts(session, detect_auth_changes(previous, results), now=now)


def save_blocklists(
    factory: sessionmaker[Session],
    report: BlocklistReport,
    *,
    now: datetime,
    webhooks: Sequence[WebhookRoute] = (),
) -> list[Alert]:
    """Store the run and its alerts (and their webhook outbox rows) in one transaction; log
    each new alert."""
    with session_scope(factory, "storing blocklist results") as session:
        previous = record_blocklist(session, report.results, now=now)
        changes = detect_listing_changes(previous, report.results)
        alerts = add_alerts(session, changes, now=now, webhooks=webhooks)
    log_alerts(alerts)
    return alerts


def save_auth(
    factory: sessionmaker[Session], results: Sequence[AuthResult], *, now: datetime
) -> list[Alert]:
    """Store the run and its alerts in one transaction; log each new alert."""
    with session_scope(factory, "storing authentication results") as session:
        alerts = record_auth_with_alerts(session, results, now=now)
    log_alerts(alerts)
    return alerts
