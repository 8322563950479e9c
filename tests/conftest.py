"""Shared fixtures: the ``store`` over SQLite *and* PostgreSQL, the real servers (Dovecot;
the others in ``tests/servers``), configs, the CLI runner.

PostgreSQL: ``DELIVERWATCH_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test gets its own schema (``search_path``), so tests never see each other's rows and
need no cleanup beyond dropping the schema. When PostgreSQL is unreachable the PostgreSQL
half of the suite is skipped, unless ``DELIVERWATCH_REQUIRE_PG=1`` (CI), which fails it.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from monitor.cli import main
from monitor.store.db import make_engine, make_session_factory, upgrade
from tests.servers.dovecot import Dovecot, dovecot_available
from tests.servers.require import skip_or_fail

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get(
    "DELIVERWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("DELIVERWATCH_REQUIRE_PG") == "1"

_pg_state: dict[str, Any] = {}


def _pg_admin() -> Engine | None:
    """One admin engine per session; None (skip) or a failure when PostgreSQL is down."""
    if "engine" not in _pg_state:
        engine = create_engine(PG_URL, pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            _pg_state["engine"] = engine
        except Exception as exc:  # any driver/network error means "not reachable"
            engine.dispose()
            _pg_state["engine"] = None
            _pg_state["error"] = f"{type(exc).__name__}: {exc}"
    engine = _pg_state["engine"]
    if engine is None:
        msg = f"PostgreSQL at {PG_URL} is not reachable ({_pg_state['error']})"
        if REQUIRE_PG:
            pytest.fail(msg + " and DELIVERWATCH_REQUIRE_PG=1", pytrace=False)
        pytest.skip(msg)
    return engine  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    admin = _pg_admin()
    assert admin is not None
    schema = "t_" + secrets.token_hex(6)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@dataclass
class Store:
    url: str
    engine: Engine
    factory: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.factory()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated database (schema from Alembic, never ``create_all``) on each backend."""
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield Store(db_url, engine, make_session_factory(engine))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- real servers


def _dovecot(**kw: Any) -> Dovecot:
    if not dovecot_available():
        skip_or_fail("dovecot", "dovecot-imapd is not installed (.ci/run installs it)")
    return Dovecot(**kw)


@pytest.fixture(scope="session")
def imap() -> Iterator[Dovecot]:
    """One real Dovecot for the whole run; each test makes its own user (``add_user``)."""
    with _dovecot(spare_users=2000, max_connections=200) as server:
        yield server


@pytest.fixture
def own_imap() -> Iterator[Dovecot]:
    """A Dovecot of the test's own, for tests that kill or restart the server."""
    with _dovecot() as server:
        yield server


def write_config(path: Path, db_url: str, extra: str = "") -> Path:
    """A config file for ``db_url`` plus ``extra`` TOML text."""
    path.write_text(f'[database]\nurl = "{db_url}"\n\n{extra}', encoding="utf-8")
    return path


@pytest.fixture
def config_file(store: Store, tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", store.url)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``deliverwatch`` in-process: ``cli("--config", f, "suppression", "list")``."""

    def run(*args: str | Path, stdin: str | None = None) -> CliResult:
        capsys.readouterr()
        old_stdin = sys.stdin
        if stdin is not None:
            import io

            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
        try:
            code = main([str(a) for a in args])
        finally:
            sys.stdin = old_stdin
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
