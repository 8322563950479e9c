"""Run the scheduler as a daemon: one per database, clean stop on SIGTERM/SIGINT.

The single-daemon rule is enforced with a lock the operating system or the database
releases by itself when the process dies, so a crash never leaves a stale lock behind:
an ``flock`` on a file beside a SQLite database, a session-level advisory lock on
PostgreSQL (keyed by database and schema).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import Engine, text

from monitor.app import App
from monitor.errors import DaemonError
from monitor.scheduler import build_scheduler, job_specs
from monitor.store.db import session_scope
from monitor.store.models import DaemonLease

__all__ = ["daemon_lock", "run_daemon"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _sqlite_lock(db_path: str) -> Iterator[None]:
    lock_path = Path(db_path + ".daemon.lock")
    fh = lock_path.open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            raise DaemonError(
                f"another deliverwatch daemon ({holder}) is already running on {db_path}; "
                "stop it first"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{socket.gethostname()}:{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # closing the descriptor releases the flock


@contextlib.contextmanager
def _pg_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as conn:
        where = conn.execute(text("SELECT current_database() || '.' || current_schema()")).scalar()
        digest = hashlib.sha256(f"deliverwatch-daemon:{where}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()
        if not got:
            raise DaemonError(
                f"another deliverwatch daemon is already running on database {where}; stop it first"
            )
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@contextlib.contextmanager
def daemon_lock(engine: Engine) -> Iterator[None]:
    """Hold the one-daemon-per-database lock for the duration of the block."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:":
            yield
            return
        with _sqlite_lock(db):
            yield
    else:
        with _pg_lock(engine):
            yield


def _record_lease(app: App) -> None:
    now = app.now()
    with session_scope(app.sessions(), "recording the daemon lease") as session:
        lease = session.get(DaemonLease, "daemon")
        holder = f"{socket.gethostname()}:{os.getpid()}"
        if lease is None:
            session.add(DaemonLease(name="daemon", holder=holder, started_at=now, heartbeat_at=now))
        else:
            lease.holder, lease.started_at, lease.heartbeat_at = holder, now, now


def run_daemon(app: App) -> int:
    """Start the scheduler and block until SIGTERM/SIGINT; return the exit status."""
    with daemon_lock(app.engine):
        _record_lease(app)
        scheduler = build_scheduler(app, job_specs(app))

        def log_next(event: JobExecutionEvent) -> None:
            job = scheduler.get_job(event.job_id)
            if job is not None and job.next_run_time is not None:
                log.info("job %s next run %s", event.job_id, job.next_run_time.isoformat())

        scheduler.add_listener(log_next, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        stopping = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if stopping.is_set():
                return
            stopping.set()
            log.info("received %s: waiting for running jobs, then stopping",
                     signal.Signals(signum).name)
            # shutdown() waits for running jobs; never block inside the signal handler.
            threading.Thread(target=scheduler.shutdown, name="shutdown", daemon=True).start()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            log.info("deliverwatch daemon started (pid %d)", os.getpid())
            scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("deliverwatch daemon stopped")
    return 0
