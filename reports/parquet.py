"""Parquet (pyarrow) writers for event and suppression exports.

Rows are buffered into record batches of ``BATCH`` rows and written as row groups as they
fill, so memory is bounded by one batch whatever the export size. The schema types times as
UTC timestamps (microseconds), so pandas, DuckDB and Spark read them as instants, not text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "BATCH",
    "EVENT_SCHEMA",
    "SUPPRESSION_SCHEMA",
    "write_parquet",
    "write_suppressions_parquet",
]

BATCH = 50_000
_TS = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()), ("occurred_at", _TS), ("kind", pa.string()), ("address", pa.string()),
        ("recipient_domain", pa.string()), ("reason", pa.string()), ("status", pa.string()),
        ("hard", pa.bool_()), ("diagnostic", pa.string()), ("remote_mta", pa.string()),
        ("feedback_type", pa.string()), ("campaign", pa.string()), ("source_ip", pa.string()),
        ("message_id", pa.string()), ("trust", pa.string()), ("source", pa.string()),
    ]
)  # fmt: skip
SUPPRESSION_SCHEMA = pa.schema(
    [
        ("address", pa.string()), ("scope", pa.string()), ("reason", pa.string()),
        ("created_at", _TS), ("expires_at", _TS), ("note", pa.string()),
    ]
)  # fmt: skip


def write_parquet(
    rows: Iterable[Sequence[Any]],
    out: IO[bytes],
    schema: pa.Schema,
    convert: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
) -> int:
    """Write tuples matching ``schema`` (column order) to ``out``; return rows written."""
    names = schema.names
    n = 0
    sink = pa.PythonFile(out, mode="w")
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        columns: list[list[Any]] = [[] for _ in names]
        for row in rows:
            for col, value in zip(columns, convert(row) if convert else row, strict=True):
                col.append(value)
            n += 1
            if len(columns[0]) >= BATCH:
                writer.write_batch(pa.record_batch(columns, schema=schema))
                columns = [[] for _ in names]
        if columns[0] or n == 0:
            writer.write_batch(pa.record_batch(columns, schema=schema))
    return n


def _when(iso: str) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def _suppression(row: Sequence[Any]) -> Sequence[Any]:
    scope, value, reason, created, expires, note = row
    address = "@" + value if scope == "domain" else value
    return (address, scope, reason, _when(created), _when(expires), note or None)


def write_suppressions_parquet(rows: Iterable[Sequence[Any]], out: IO[bytes]) -> int:
    """Suppression export rows (``reports.export`` tuple order) as Parquet."""
    return write_parquet(rows, out, SUPPRESSION_SCHEMA, _suppression)
