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
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
)
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.app import App
from monitor.errors import DaemonError
from monitor.scheduler import JobSpec, build_scheduler, job_specs
from monitor.store.db import session_scope, store_errors
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
    # driver errors become one StoreError line, as in every other command (issue 11: an
    # unreachable server gave two chained tracebacks here)
    with store_errors("connecting to the database for the daemon lock"):
        conn = engine.connect()
    with conn:
        with store_errors("taking the daemon lock"):
            where = conn.execute(
                text("SELECT current_database() || '.' || current_schema()")
            ).scalar()
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
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError as exc:  # the lock ends with the session anyway
                log.warning("could not release the daemon lock: %s", exc)


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


@contextlib.contextmanager
def _pid_file(path: Path) -> Iterator[None]:
    """Write our pid for ``kill -TERM $(cat ...)``; only taken once we hold the lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n", encoding="ascii")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _record_lease(app: App) -> None:
    now = app.now()
    with session_scope(app.sessions(), "recording the daemon lease") as session:
        lease = session.get(DaemonLease, "daemon")
        holder = f"{socket.gethostname()}:{os.getpid()}"
        if lease is None:
            session.add(DaemonLease(name="daemon", holder=holder, started_at=now, heartbeat_at=now))
        else:
            lease.holder, lease.started_at, lease.heartbeat_at = holder, now, now


def run_daemon(app: App, specs: list[JobSpec] | None = None) -> int:
    """Start the scheduler and block until SIGTERM/SIGINT; return the exit status.

    ``specs`` defaults to every job the config asks for (tests pass their own).
    """
    with daemon_lock(app.engine), _pid_file(app.config.daemon.pid_file):
        _record_lease(app)
        specs = job_specs(app) if specs is None else specs
        scheduler = build_scheduler(app, specs)
        triggers = {spec.id: spec.trigger for spec in specs}

        def log_next(event: JobExecutionEvent) -> None:
            # Not scheduler.get_job(): listeners run in executor threads and shutdown() holds
            # the job-store lock while it waits for them, so that call would deadlock.
            trigger = triggers.get(event.job_id)
            if trigger is not None:
                nxt = trigger.get_next_fire_time(event.scheduled_run_time, datetime.now(UTC))
                log.info("job %s next run %s", event.job_id, nxt.isoformat() if nxt else "never")

        scheduler.add_listener(log_next, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        stopping = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if not stopping.is_set():
                log.info(
                    "received %s: waiting for running jobs, then stopping",
                    signal.Signals(signum).name,
                )
            stopping.set()

        def stopper() -> None:
            # Never call shutdown() inside the signal handler (it waits for running jobs and
            # takes scheduler locks the interrupted main thread may hold); and a signal that
            # lands before start() must still stop the scheduler once it runs.
            stopping.wait()
            while not scheduler.running:
                time.sleep(0.05)
            scheduler.shutdown(wait=True)

        scheduler.add_listener(
            lambda _e: log.info("deliverwatch daemon started (pid %d)", os.getpid()),
            EVENT_SCHEDULER_STARTED,
        )
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        stopper_thread = threading.Thread(target=stopper, name="stopper", daemon=True)
        stopper_thread.start()
        try:
            scheduler.start()
            # shutdown() marks the scheduler stopped *before* it waits for running jobs, so
            # start() can return while a job still runs: wait for shutdown() to finish.
            stopper_thread.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("deliverwatch daemon stopped")
    return 0
