"""The mailbox ledger (``processed_items``, ``mailbox_cursors``) and report storage.

Exactly-once rests on two keys, both in the database (STYLE.md 5): (ledger key, UIDVALIDITY,
UID) says "this message of this folder was dealt with", so a message whose result was
committed but which was not moved yet (crash, dropped connection) is only moved on the next
run; the content hash says "this very message was dealt with", so the same message seen
under a new UIDVALIDITY (folder re-created, server migrated; RFC 3501 2.3.1.1) is not counted
again. Reports have their own natural keys: (org_name, report_id) for DMARC aggregates
(RFC 7489 Appendix C ``report_id`` is unique per reporter), (organization-name, report-id)
for TLS-RPT (RFC 8460 4.4), the report's Message-ID for RFC 6591 failure reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from monitor.enums import ItemOutcome
from monitor.store.models import (
    AuthFailureReport,
    DmarcReport,
    DmarcRow,
    MailboxCursor,
    ProcessedItem,
    TlsReportRow,
)
from parsers.records import DmarcAggregate, DmarcRecord, Report, TlsReport

__all__ = [
    "LedgerEntry",
    "cut",
    "known_items",
    "ledger_key",
    "lock_cursor",
    "mark_moved",
    "processed_hashes",
    "record_items",
    "store_auth_failure",
    "store_dmarc",
    "store_tls",
    "touch_cursor",
]

ROW_CHUNK = 5_000


def cut(value: str | None, size: int) -> str | None:
    """Trim text from a report to its column (PostgreSQL refuses what SQLite would keep)."""
    if value is None:
        return None
    return value if len(value) <= size else value[:size]


def ledger_key(mailbox: str, folder: str) -> str:
    """The ``processed_items.mailbox`` value of one folder of one configured mailbox.

    UIDVALIDITY is per folder and Dovecot derives it from the creation time, so two folders
    made in the same second share it: the folder must be part of the key.
    """
    key = f"{mailbox}:{folder}"
    if len(key) <= 100:
        return key
    return f"{mailbox}:{hashlib.sha256(folder.encode()).hexdigest()[:32]}"


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerEntry:
    outcome: ItemOutcome
    moved: bool
    error: str | None


def known_items(
    session: Session, key: str, uidvalidity: int, uids: Sequence[int]
) -> dict[int, LedgerEntry]:
    """Ledger rows for ``uids`` of one folder generation."""
    if not uids:
        return {}
    rows = session.execute(
        select(
            ProcessedItem.uid, ProcessedItem.outcome, ProcessedItem.moved, ProcessedItem.error
        ).where(
            ProcessedItem.mailbox == key,
            ProcessedItem.uidvalidity == uidvalidity,
            ProcessedItem.uid.in_(list(uids)),
        )
    )
    return {int(uid): LedgerEntry(outcome, bool(moved), err) for uid, outcome, moved, err in rows}


def processed_hashes(session: Session, hashes: Iterable[str]) -> set[str]:
    """The content hashes among ``hashes`` whose message was already processed anywhere."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    q = select(ProcessedItem.content_hash).where(
        ProcessedItem.content_hash.in_(wanted),
        ProcessedItem.outcome == ItemOutcome.PROCESSED,
    )
    return set(session.scalars(q))


def record_items(
    session: Session,
    *,
    key: str,
    uidvalidity: int,
    rows: Sequence[dict[str, Any]],
    existing: set[int],
    now: datetime,
) -> None:
    """Write the batch's ledger rows: one executemany for new UIDs, updates for re-runs.

    Each row has ``uid``, ``content_hash``, ``size``, ``kind``, ``outcome`` and ``error``.
    """
    fresh: list[dict[str, Any]] = []
    again: list[dict[str, Any]] = []
    for row in rows:
        values = {**row, "error": cut(row["error"], 2000), "moved": False, "processed_at": now}
        (again if row["uid"] in existing else fresh).append(values)
    if fresh:
        session.execute(
            cast(Table, ProcessedItem.__table__).insert(),
            [{"mailbox": key, "uidvalidity": uidvalidity, **v} for v in fresh],
        )
    for values in again:
        session.execute(
            update(ProcessedItem)
            .where(
                ProcessedItem.mailbox == key,
                ProcessedItem.uidvalidity == uidvalidity,
                ProcessedItem.uid == values["uid"],
            )
            .values(**{k: v for k, v in values.items() if k != "uid"})
            .execution_options(synchronize_session=False)
        )


def mark_moved(session: Session, key: str, uidvalidity: int, uids: Sequence[int]) -> None:
    if not uids:
        return
    session.execute(
        update(ProcessedItem)
        .where(
            ProcessedItem.mailbox == key,
            ProcessedItem.uidvalidity == uidvalidity,
            ProcessedItem.uid.in_(list(uids)),
        )
        .values(moved=True)
        .execution_options(synchronize_session=False)
    )


def touch_cursor(
    session: Session,
    mailbox: str,
    *,
    uidvalidity: int | None,
    last_uid: int | None,
    now: datetime,
    error: str | None,
) -> None:
    """Where polling stands (shown to operators; correctness never depends on it)."""
    cursor = session.get(MailboxCursor, mailbox)
    if cursor is None:
        cursor = MailboxCursor(mailbox=mailbox, last_uid=0)
        session.add(cursor)
    if uidvalidity is not None:
        if cursor.uidvalidity not in (None, uidvalidity):
            cursor.last_uid = 0
        cursor.uidvalidity = uidvalidity
    if last_uid is not None and last_uid > (cursor.last_uid or 0):
        cursor.last_uid = last_uid
    cursor.last_poll_at = now
    cursor.last_error = cut(error, 2000)
    cursor.updated_at = now


def lock_cursor(
    session: Session,
    mailbox: str,
    *,
    uidvalidity: int,
    last_uid: int | None,
    now: datetime,
    move_cursor: bool,
) -> None:
    """The first write of a batch: it serialises pollers of ``mailbox`` (a row lock on
    PostgreSQL, the write lock on SQLite) before the ledger is read, and opens the
    transaction the SAVEPOINTs need (pysqlite begins one only at the first DML)."""
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
        touch_cursor(
            session, mailbox, uidvalidity=uidvalidity, last_uid=last_uid, now=now, error=None
        )


# --------------------------------------------------------------------------- reports


def _epoch(value: int | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _json(value: Any) -> Any:
    """Tuples (of tuples) from frozen records as JSON lists."""
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


def _dmarc_row(report_pk: int, rec: DmarcRecord) -> dict[str, Any]:
    return {
        "report_pk": report_pk,
        "source_ip": cut(rec.source_ip, 45),
        "count": rec.count,
        "disposition": cut(rec.disposition, 16),
        "dkim_evaluated": cut(rec.dkim_evaluated, 16),
        "spf_evaluated": cut(rec.spf_evaluated, 16),
        "header_from": cut(rec.header_from, 255),
        "envelope_from": cut(rec.envelope_from, 255),
        "envelope_to": cut(rec.envelope_to, 255),
        "dkim_results": _json(rec.dkim_results) or None,
        "spf_results": _json(rec.spf_results) or None,
        "reasons": _json(rec.reasons) or None,
        "warnings": list(rec.warnings) or None,
    }


def store_dmarc(
    session: Session,
    agg: DmarcAggregate,
    rows: Iterable[DmarcRecord],
    *,
    fallback_id: str,
    source: str,
    now: datetime,
) -> bool:
    """Store one aggregate report and every row (streamed in chunks); False if seen before."""
    org = cut(agg.org_name or "(no org_name)", 255) or ""
    report_id = cut(agg.report_id or f"sha256:{fallback_id}", 255) or ""
    exists = session.scalar(
        select(DmarcReport.id).where(
            DmarcReport.org_name == org, DmarcReport.report_id == report_id
        )
    )
    if exists is not None:
        return False
    report = DmarcReport(
        org_name=org,
        report_id=report_id,
        email=cut(agg.email, 320),
        policy_domain=cut(agg.policy_domain, 255),
        date_begin=_epoch(agg.date_begin),
        date_end=_epoch(agg.date_end),
        policy_p=cut(agg.policy_p, 16),
        policy_sp=cut(agg.policy_sp, 16),
        policy_np=cut(agg.policy_np, 16),
        policy_pct=agg.policy_pct,
        policy_adkim=cut(agg.policy_adkim, 4),
        policy_aspf=cut(agg.policy_aspf, 4),
        version=cut(agg.version, 16),
        generator=cut(agg.generator, 255),
        n_records=agg.n_records,
        total_messages=agg.total_messages,
        warnings=list(agg.warnings) or None,
        source=cut(source, 100),
        received_at=now,
    )
    session.add(report)
    session.flush()
    chunk: list[dict[str, Any]] = []
    for rec in rows:
        chunk.append(_dmarc_row(report.id, rec))
        if len(chunk) >= ROW_CHUNK:
            session.execute(insert(DmarcRow), chunk)
            chunk = []
    if chunk:
        session.execute(insert(DmarcRow), chunk)
    return True


def store_tls(
    session: Session, tls: TlsReport, *, fallback_id: str, source: str, now: datetime
) -> bool:
    """Store one RFC 8460 report (policies as JSON); False if seen before."""
    org = cut(tls.organization_name or "(no organization-name)", 255) or ""
    report_id = cut(tls.report_id or f"sha256:{fallback_id}", 255) or ""
    exists = session.scalar(
        select(TlsReportRow.id).where(
            TlsReportRow.organization_name == org, TlsReportRow.report_id == report_id
        )
    )
    if exists is not None:
        return False
    session.add(
        TlsReportRow(
            organization_name=org,
            report_id=report_id,
            start_datetime=tls.start_datetime,
            end_datetime=tls.end_datetime,
            total_successful_sessions=tls.total_successful_sessions,
            total_failure_sessions=tls.total_failure_sessions,
            policies=[_json(dataclasses.asdict(p)) for p in tls.policies] or None,
            source=cut(source, 100),
            received_at=now,
        )
    )
    session.flush()
    return True


def store_auth_failure(
    session: Session, report: Report, *, content_hash: str, source: str, now: datetime
) -> bool:
    """Store one RFC 6591 failure report, keyed by its own Message-ID; False if seen before."""
    basis = f"msgid:{report.message_id}" if report.message_id else f"sha256:{content_hash}"
    key = hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()
    if session.scalar(select(AuthFailureReport.id).where(AuthFailureReport.dedupe_key == key)):
        return False
    fb = report.feedback
    original = report.original
    details = {
        "feedback_type": fb.feedback_type.value if fb and fb.feedback_type else None,
        "identity_alignment": fb.identity_alignment if fb else None,
        "dkim_identity": fb.dkim_identity if fb else None,
        "spf_dns": fb.spf_dns if fb else None,
        "reported_domains": list(fb.reported_domain) if fb else [],
        "subject": original.subject if original else None,
        "from": report.from_,
    }
    session.add(
        AuthFailureReport(
            dedupe_key=key,
            reporting_mta=cut(fb.reporting_mta if fb else report.reporting_mta, 255),
            source_ip=cut(fb.source_ip if fb else None, 45),
            auth_failure=cut(fb.auth_failure if fb else None, 64),
            reported_domain=cut(fb.reported_domain[0] if fb and fb.reported_domain else None, 255),
            original_mail_from=cut(fb.original_mail_from if fb else None, 320),
            original_message_id=cut(
                (fb.original_message_id if fb else None)
                or (original.message_id if original else None),
                998,
            ),
            dkim_domain=cut(fb.dkim_domain if fb else None, 255),
            dkim_selector=cut(fb.dkim_selector if fb else None, 255),
            delivery_result=cut(fb.delivery_result if fb else None, 32),
            arrival_date=(fb.arrival_date if fb else None) or report.arrival_date,
            details=details,
            source=cut(source, 100),
            received_at=now,
        )
    )
    session.flush()
    return True


def failed_items(
    session: Session, mailboxes: Sequence[str] | None = None, *, limit: int = 200
) -> Sequence[ProcessedItem]:
    """Messages that could not be used, newest first, with the stored reason.

    The reason lives here rather than in a header added to the message: IMAP cannot change
    a message in place, and re-APPENDing a rewritten copy would alter what we keep as
    evidence. ``mailboxes`` are configured names (ledger keys start with ``name:``).
    """
    q = select(ProcessedItem).where(ProcessedItem.outcome == ItemOutcome.FAILED)
    if mailboxes:
        q = q.where(or_(*(ProcessedItem.mailbox.startswith(f"{m}:") for m in mailboxes)))
    q = q.order_by(ProcessedItem.processed_at.desc(), ProcessedItem.id.desc())
    latest: dict[str, ProcessedItem] = {}  # one line per message: a reprocessed one has two rows
    for item in session.scalars(q.limit(limit * 4)):
        latest.setdefault(item.content_hash, item)
    return list(latest.values())[:limit]
