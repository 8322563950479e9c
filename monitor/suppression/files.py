"""Suppression-list import and export: streaming file I/O around the repository.

Import reads the file lazily, validates each row with ``parsers.listfile`` and applies it in
batches of ``BATCH`` rows per transaction, so memory is bounded by the batch and a crash
half-way leaves every committed batch in place (re-running is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import ListScope, SuppressionReason
from monitor.store.db import session_scope
from monitor.store.suppressions import ExportRow, UpsertRow, iter_export_rows, upsert_batch
from parsers.listfile import ListRow, RowError, iter_list_rows
from reports.export import write_suppressions

__all__ = ["ImportReport", "export_suppressions", "import_suppressions"]

BATCH = 5_000
MAX_REJECTS_KEPT = 1_000  # keep the first rejects with line numbers; count the rest


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0  # rows superseded by a later row for the same entry in the file
    rejects: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged + self.rejected + self.duplicates


# enum members read once: attribute access on an Enum class is a descriptor call (3.11)
_DOMAIN, _ADDRESS = ListScope.DOMAIN, ListScope.ADDRESS


_REASONS = {r.value: r for r in SuppressionReason}


def _to_upsert(row: ListRow, default_reason: SuppressionReason | None) -> UpsertRow:
    reason = (_REASONS.get(row.reason) or SuppressionReason(row.reason)) if row.reason else None
    reason = reason or default_reason
    return UpsertRow(
        scope=_DOMAIN if row.domain else _ADDRESS,
        value=row.value,
        reason=reason,
        expires_at=row.expires_at,
        note=row.note,
        created_at=row.created_at,
    )


def import_suppressions(
    factory: sessionmaker[Session],
    lines: Iterator[str],
    *,
    fmt: str,
    now: datetime,
    default_reason: SuppressionReason | None = None,
    lowercase_local: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply every valid row of ``lines``; bad rows are counted and named, never fatal."""
    report = ImportReport()
    batch: list[UpsertRow] = []

    def flush() -> None:
        with session_scope(factory, "importing suppressions") as session:
            counts = upsert_batch(session, batch, now=now)
        report.added += counts.added
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.duplicates += len(batch) - (counts.added + counts.updated + counts.unchanged)
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()

    for item in iter_list_rows(lines, fmt, lowercase_local=lowercase_local):
        if isinstance(item, RowError):
            report.rejected += 1
            if len(report.rejects) < MAX_REJECTS_KEPT:
                report.rejects.append(item)
            continue
        if item.expires_at is not None and item.expires_at <= now:
            report.rejected += 1
            if len(report.rejects) < MAX_REJECTS_KEPT:
                report.rejects.append(RowError(item.line, "expires_at is in the past"))
            continue
        batch.append(_to_upsert(item, default_reason))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return report


def export_suppressions(
    factory: sessionmaker[Session],
    out: IO[bytes],
    *,
    fmt: str,
    now: datetime,
    reasons: list[SuppressionReason] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[Iterator[ExportRow]], Iterator[ExportRow]] | None = None,
) -> int:
    """Stream the active list to ``out``; one read transaction, bounded memory.
    ``progress`` wraps the rows on their way (the CLI counts them on a terminal)."""
    with session_scope(factory, "exporting suppressions") as session:
        rows = iter_export_rows(session, now=now, reasons=reasons, since=since, until=until)
        return write_suppressions(progress(rows) if progress else rows, out, fmt)
