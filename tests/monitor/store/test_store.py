"""Schema and engine behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.errors import StoreError
from monitor.store.db import (
    SCHEMA_HEAD,
    current_revision,
    head_revision,
    make_engine,
    schema_is_current,
    upgrade,
)
from monitor.store.models import Base, Event, Suppression


def test_upgrade_from_empty_reaches_head_and_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        upgrade(engine)  # second run is a no-op
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {
            "sent_messages",
            "events",
            "suppressions",
            "allowlist",
            "mailbox_cursors",
            "processed_items",
            "blocklist_results",
            "auth_results",
            "check_states",
            "dmarc_reports",
            "dmarc_rows",
            "tls_reports",
            "auth_failure_reports",
            "alerts",
        } <= tables
    finally:
        engine.dispose()


def test_schema_head_is_alembics_head() -> None:
    """``SCHEMA_HEAD`` (the fast start-up check's idea of the newest migration) is the head
    of the migrations shipped: a new migration without it would let commands run on an
    un-migrated database."""
    assert head_revision() == SCHEMA_HEAD


def test_schema_is_current_only_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert not schema_is_current(engine)  # no alembic_version table at all
        upgrade(engine, "0008")
        assert not schema_is_current(engine)
        upgrade(engine)
        assert schema_is_current(engine)
        with engine.begin() as conn:  # two heads recorded (a branched history) is not current
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('x1')"))
        assert not schema_is_current(engine)
    finally:
        engine.dispose()


def test_migrations_match_models(store) -> None:
    """Alembic's autogenerate finds nothing to do: migrations and models agree."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_runs_wal_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x' / 'db.sqlite'}")  # creates the folder
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_datetimes_come_back_aware_utc(store) -> None:
    cet = timezone(timedelta(hours=1))
    with store.session() as s, s.begin():
        s.add(
            Suppression(
                scope=ListScope.ADDRESS,
                value="a@example.com",
                reason=SuppressionReason.MANUAL,
                created_at=datetime(2026, 1, 1, 12, 0, tzinfo=cet),
            )
        )
    with store.session() as s:
        row = s.query(Suppression).one()
        assert row.created_at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
        assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as s, s.begin():
        s.add(
            Suppression(
                scope=ListScope.ADDRESS,
                value="a@example.com",
                reason=SuppressionReason.MANUAL,
                created_at=datetime(2026, 1, 1),
            )
        )


def test_event_dedupe_key_is_unique(store) -> None:
    def event() -> Event:
        return Event(
            kind=EventKind.BOUNCED,
            address="a@example.com",
            source="test",
            trust=Trust.VERIFIED,
            occurred_at=datetime.now(UTC),
            dedupe_key="k1",
        )

    with store.session() as s, s.begin():
        s.add(event())
    with pytest.raises(IntegrityError), store.session() as s, s.begin():
        s.add(event())


def test_suppression_points_at_its_event_and_survives_its_deletion(store) -> None:
    with store.session() as s, s.begin():
        ev = Event(
            kind=EventKind.COMPLAINED,
            address="a@example.com",
            source="test",
            occurred_at=datetime.now(UTC),
            dedupe_key="k2",
        )
        s.add(ev)
        s.flush()
        s.add(
            Suppression(
                scope=ListScope.ADDRESS,
                value="a@example.com",
                reason=SuppressionReason.COMPLAINT,
                source_event_id=ev.id,
            )
        )
    with store.session() as s, s.begin():
        sup = s.query(Suppression).one()
        assert sup.source_event is not None and sup.source_event.kind is EventKind.COMPLAINED
        s.delete(sup.source_event)
    with store.session() as s:
        assert s.query(Suppression).one().source_event_id is None  # ON DELETE SET NULL


def test_unreachable_database_is_a_store_error() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError, match="reading schema revision"):
        current_revision(engine)


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid database URL"):
        make_engine("not a url")


@pytest.mark.parametrize("what", ["deleted", "replaced"])
def test_commits_into_a_deleted_or_replaced_sqlite_file_are_refused(tmp_path, what) -> None:
    """Issue 11, point 4: a connection must not go on committing into a file that is no
    longer the database (unlinked, or a backup restored over it)."""
    import os

    from sqlalchemy import text

    from monitor.errors import StoreError
    from monitor.store.db import make_engine

    path = tmp_path / "dw.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER)"))
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.commit()
        if what == "deleted":
            path.unlink()
        else:
            other = tmp_path / "restored.db"
            other.write_bytes(b"")
            os.replace(other, path)
        conn.execute(text("INSERT INTO t VALUES (2)"))
        with pytest.raises(StoreError, match="deleted or replaced"):
            conn.commit()
    engine.dispose()
