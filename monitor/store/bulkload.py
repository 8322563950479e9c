"""Fast bulk loading of generated rows (the demo and the report benchmark).

Ten million events through the ORM would take an hour; the drivers' own bulk paths take
minutes: ``executemany`` on one SQLite transaction, ``COPY ... FROM STDIN`` on PostgreSQL.
Rows arrive as tuples in the table's column order with times already as UTC text
(``YYYY-MM-DD HH:MM:SS.ffffff``, SQLAlchemy's SQLite format, which PostgreSQL reads as
``timestamptz`` in a UTC session) so no per-value conversion runs in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Engine, text

from monitor.store.db import store_errors

__all__ = ["bulk_insert", "fix_sequences"]

_CHUNK = 50_000


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterable[list[tuple[Any, ...]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def bulk_insert(
    engine: Engine, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Insert ``rows`` into ``table`` in one transaction; return how many were written."""
    n = 0
    with store_errors(f"bulk loading {table}"), engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        cols = ", ".join(columns)
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur:
                cur.execute("SET LOCAL TIME ZONE 'UTC'")
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        n += 1
            return n
        # Secondary indexes (address, dedupe key) take inserts at random places: with SQLite's
        # default 2 MB page cache every batch re-reads them from disk. 512 MB keeps them hot.
        raw.execute("PRAGMA cache_size=-524288")
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608 - names are ours
        cur = raw.cursor()
        for chunk in _chunks(rows, _CHUNK):
            cur.executemany(sql, chunk)
            n += len(chunk)
        cur.close()
    return n


def fix_sequences(engine: Engine, tables: Sequence[str]) -> None:
    """After loading explicit ids, move PostgreSQL's id sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with store_errors("resetting id sequences"), engine.begin() as conn:
        for table in tables:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            )
