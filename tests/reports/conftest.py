"""Fixtures of the report tests: the month of tests/builders/events.py, built once per backend."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.config import ReportConfig
from monitor.report.daily import build_report
from monitor.store.db import make_engine, make_session_factory, upgrade
from reports.model import DailyReport
from tests.builders.events import DAY, TZ, build_month
from tests.conftest import PG_URL, Store, _pg_admin

NOW = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)


@contextlib.contextmanager
def shared_store(backend: str, tmp: Path) -> Iterator[Store]:
    """A migrated database like conftest's ``store``, but for a whole module."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'month.db'}"
        schema = None
    else:
        admin = _pg_admin()
        schema = "m_" + secrets.token_hex(6)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield Store(url, engine, make_session_factory(engine))
    finally:
        engine.dispose()
        if schema is not None:
            with _pg_admin().begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def report_of(store, **kw) -> DailyReport:
    return build_report(store.factory, day=DAY, cfg=ReportConfig(**kw), timezone=TZ, now=NOW)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def month_store(request, tmp_path_factory):
    """The month is built once per backend and module: the tests only read it."""
    with shared_store(request.param, tmp_path_factory.mktemp("month")) as store:
        build_month(store.factory)
        yield store


@pytest.fixture(scope="module")
def month(month_store) -> DailyReport:
    return report_of(month_store)
