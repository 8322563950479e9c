"""Engine and session factory, migrations, and error translation for the store.

SQLite is the embedded default: WAL journal (readers never block the writer, so the
daemon's jobs and a CLI export can run side by side), foreign keys on (SQLite leaves them
off unless asked), and a busy timeout so short write overlaps wait instead of failing.
PostgreSQL is reached through psycopg 3.

A SQLite file deleted or replaced under a running process is a silent data-loss trap: the
open connection goes on committing into the unlinked inode, the poller then moves the mail it
"stored" to the processed folder, and both are gone when the process ends (issue 11, point
4). Every connection therefore remembers the identity (device, inode) of the file it opened,
and every commit first checks that the path still names that file; if not, the commit is
refused with a ``StoreError`` and the caller (a poll, an import) keeps its input.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = [
    "SCHEMA_HEAD",
    "begin_writes",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "schema_is_current",
    "session_scope",
    "store_errors",
    "upgrade",
    "write_turn",
]

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
#: The newest migration shipped (``monitor/store/alembic/versions``); a test holds it equal to
#: alembic's head. Every command checks the database against it before touching data, and
#: alembic's import alone (mako, pygments, its DDL modules) costs 0.2-0.25 s of start-up, a
#: tenth of a short command: so that check reads alembic's version table in plain SQL and
#: only ``db`` commands and a mismatch load alembic.
SCHEMA_HEAD = "0009"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; FULL: an fsync per commit
        cur.close()

    return pragmas


def _sqlite_full_sync(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _guard_sqlite_file(engine: Engine, path: str) -> None:
    """Refuse commits once ``path`` no longer names the file a connection opened."""

    def remember(_dbapi_conn: Any, record: Any) -> None:
        record.info["deliverwatch_file"] = _file_identity(path)

    def check(conn: Any) -> None:
        opened = conn.info.get("deliverwatch_file")
        if opened is not None and _file_identity(path) != opened:
            raise StoreError(
                f"the database file {path} was deleted or replaced while in use; nothing "
                "was committed (restart deliverwatch once the right file is in place)"
            )

    event.listen(engine, "connect", remember)
    event.listen(engine, "commit", check)


def make_engine(
    url: str,
    *,
    echo: bool = False,
    durable: bool = False,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Engine:
    """Create an engine for ``url``; for SQLite also create the database's folder.

    ``durable``: every SQLite commit is on disk when it returns (``synchronous=FULL``: the
    WAL is fsynced), not only safe from a crash of the process. The relay's queue asks for
    it: a 250 promises the message survives a power cut. PostgreSQL commits are durable by
    default (``synchronous_commit = on``).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL: {exc}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, echo=echo)
            event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
            if durable:
                event.listen(engine, "connect", _sqlite_full_sync)
            if db and db != ":memory:":
                _guard_sqlite_file(engine, db)
            return engine
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except (NoSuchModuleError, SQLAlchemyError) as exc:
        raise StoreError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc


@contextlib.contextmanager
def write_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """Wait for this process's turn to write to a SQLite file, in the kernel, not in SQLite.

    SQLite has one writer at a time, and a connection that finds the write lock taken sleeps
    in steps that grow to 100 ms (``sqlite3_busy_timeout``) whatever the holder does. The
    relay's two busy writers (the intake's group commit and the delivery results' writer, in
    different processes) each held the lock for a few ms many times a second, so each commit
    slept far longer than it wrote (``make bench``: 7 messages per intake commit at 124 ms
    each under load). An ``flock`` on a file beside the database is handed to the next
    waiter the moment it is released. Other writers (the daemon, the CLI) still meet SQLite's
    own lock and busy timeout. PostgreSQL needs nothing: its row locks queue waiters.
    """
    bind = factory.kw.get("bind")
    db = (
        bind.url.database
        if isinstance(bind, Engine) and bind.url.get_backend_name() == "sqlite"
        else None
    )
    if not db or db == ":memory:":
        yield
        return
    with open(f"{db}.write-lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def store_errors(action: str) -> Iterator[None]:
    """Translate SQLAlchemy/driver errors into ``StoreError`` at the adapter boundary."""
    try:
        yield
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"{action}: {detail}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"{action}: {exc}") from exc


def begin_writes(session: Session) -> None:
    """Make sure the session's transaction is a real one before SAVEPOINTs are used in it.

    pysqlite (the stdlib driver, in its default mode) sends ``BEGIN`` only before the first
    INSERT/UPDATE/DELETE. A ``SAVEPOINT`` issued earlier opens a transaction of its own, and
    its ``RELEASE`` commits: the caller's later rollback would undo nothing. So on SQLite,
    when no transaction is open yet, this opens one with ``BEGIN IMMEDIATE``: the write lock
    is taken at once (waiting up to the busy timeout), which also keeps a transaction that
    reads before it writes from failing with SQLITE_BUSY_SNAPSHOT when another process
    commits in between. PostgreSQL needs nothing.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session], action: str = "database") -> Iterator[Session]:
    """One transaction: commit on success, roll back on error, errors as ``StoreError``."""
    with store_errors(action), factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe on every start)."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError as AlembicCommandError

    with store_errors("database migration"):
        try:
            command.upgrade(_alembic_config(engine), revision)
        except AlembicCommandError as exc:
            heads = ScriptDirectory.from_config(_alembic_config(engine)).get_heads()
            raise StoreError(
                f"database migration to {revision!r}: {exc} (this version knows up to "
                f"{', '.join(heads)}; `deliverwatch db current` shows where the database is)"
            ) from exc


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with store_errors("reading schema revision"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at ``SCHEMA_HEAD``, read from alembic's version table
    without importing alembic (see ``SCHEMA_HEAD``). False for anything else (no table,
    another revision, several rows): the caller then asks alembic for the details."""
    with store_errors("reading schema revision"), engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return False
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return [tuple(r) for r in rows] == [(SCHEMA_HEAD,)]


def head_revision() -> str | None:
    """The newest revision shipped with this version of deliverwatch."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    return script.get_current_head()
