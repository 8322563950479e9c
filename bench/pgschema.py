"""A throw-away PostgreSQL schema for one benchmark run (benches that need PostgreSQL).

``with pg_schema() as url:`` creates ``bench_<random>`` in the test database and drops it
afterwards, whatever happened, so runs never see each other's tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator

PG_URL = os.environ.get(
    "DELIVERWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _psql(sql: str, *, check: bool) -> None:
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "test", "-c",
         f"SET client_min_messages TO warning; {sql}"],
        check=check,
    )  # fmt: skip


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """The database URL of a new schema, dropped (with its tables) on the way out."""
    schema = "bench_" + secrets.token_hex(4)
    _psql(f"CREATE SCHEMA {schema}", check=True)
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        _psql(f"DROP SCHEMA {schema} CASCADE", check=False)
