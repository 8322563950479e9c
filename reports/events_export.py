"""Stream events to CSV, JSON Lines or Parquet for data teams.

Rows arrive as tuples in ``EVENT_EXPORT_COLUMNS`` order (``occurred_at`` an aware UTC
datetime) and are written as they come; nothing holds the whole export. Times are written as
ISO 8601 UTC with a ``Z``; absent values as empty CSV fields, JSON ``null`` or Parquet nulls.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

__all__ = ["EVENT_EXPORT_COLUMNS", "EVENT_EXPORT_FORMATS", "write_events"]

EVENT_EXPORT_COLUMNS = (
    "id", "occurred_at", "kind", "address", "recipient_domain", "reason", "status", "hard",
    "diagnostic", "remote_mta", "feedback_type", "campaign", "source_ip", "message_id",
    "trust", "source",
)  # fmt: skip
EVENT_EXPORT_FORMATS = ("csv", "jsonl", "parquet")
_TIME = EVENT_EXPORT_COLUMNS.index("occurred_at")


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _text_rows(rows: Iterable[tuple[Any, ...]]) -> Iterable[list[Any]]:
    for row in rows:
        out = list(row)
        out[_TIME] = _iso(out[_TIME])
        yield out


def _write_csv(rows: Iterable[tuple[Any, ...]], out: IO[str]) -> int:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(EVENT_EXPORT_COLUMNS)
    n = 0
    for row in _text_rows(rows):
        w.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row])
        n += 1
    return n


def _write_jsonl(rows: Iterable[tuple[Any, ...]], out: IO[str]) -> int:
    n = 0
    for row in _text_rows(rows):
        out.write(json.dumps(dict(zip(EVENT_EXPORT_COLUMNS, row, strict=True)), ensure_ascii=False))
        out.write("\n")
        n += 1
    return n


def write_events(rows: Iterable[tuple[Any, ...]], out: IO[bytes], fmt: str = "csv") -> int:
    """Write ``rows`` to the binary stream ``out`` in ``fmt``; return rows written."""
    if fmt not in EVENT_EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "parquet":
        # Imported here: pyarrow costs ~150 ms of start-up, and ``events list`` reads
        # ``EVENT_EXPORT_COLUMNS`` from this module without writing any Parquet.
        from reports.parquet import EVENT_SCHEMA, write_parquet

        return write_parquet(rows, out, EVENT_SCHEMA)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        n = _write_jsonl(rows, text) if fmt == "jsonl" else _write_csv(rows, text)
        text.flush()
    finally:
        text.detach()
    return n
