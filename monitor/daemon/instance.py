"""One process of a kind per database, and its pid file.

The rule is enforced with a lock the operating system or the database releases by itself
when the process dies, so a crash never leaves a stale lock behind: an ``flock`` on a file
beside a SQLite database, a session-level advisory lock on PostgreSQL (keyed by database and
schema). On SQLite the daemon and the relay take it; on PostgreSQL several daemons and relays
share one database (``monitor.daemon.cluster``), and only the pid file's lock keeps two of a
kind on one host from sharing one pid file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

from monitor.errors import DaemonError
from monitor.store.lease import advisory_lock

__all__ = ["instance_lock", "pid_file"]


@contextlib.contextmanager
def _sqlite_lock(db_path: str, kind: str) -> Iterator[None]:
    lock_path = Path(f"{db_path}.{kind}.lock")
    fh = lock_path.open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise DaemonError(
                f"another deliverwatch {kind} ({holder}) is already running on {db_path}; "
                f"a SQLite database takes one {kind}: stop it first, or move to PostgreSQL "
                "to run several nodes"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{socket.gethostname()}:{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # closing the descriptor releases the flock


@contextlib.contextmanager
def _pg_lock(engine: Engine, kind: str) -> Iterator[None]:
    with advisory_lock(engine, f"deliverwatch-{kind}") as held_elsewhere:
        if held_elsewhere is not None:
            raise DaemonError(
                f"another deliverwatch {kind} is already running on database {held_elsewhere}; "
                "stop it first"
            )
        yield


@contextlib.contextmanager
def instance_lock(engine: Engine, kind: str, *, postgresql: bool = True) -> Iterator[None]:
    """Hold the one-``kind``-per-database lock for the block (``postgresql=False``: only
    on SQLite)."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:":
            yield
            return
        with _sqlite_lock(db, kind):
            yield
    elif postgresql:
        with _pg_lock(engine, kind):
            yield
    else:
        yield


@contextlib.contextmanager
def pid_file(path: Path, kind: str = "process") -> Iterator[None]:
    """Write our pid for ``kill -TERM $(cat ...)``; only taken once we hold the lock.

    The file is also ``flock``ed: on PostgreSQL several daemons may share the database, but
    two on one host with one pid file are a mistake (the second would overwrite the first's
    pid), and the lock refuses the second with a clear message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+", encoding="ascii")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise DaemonError(
                f"another deliverwatch {kind} (pid {holder}) is already running with the "
                f"pid file {path}; stop it first, or give each node a pid file of its own"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        fh.close()
